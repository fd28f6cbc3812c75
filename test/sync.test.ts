// Synchronization primitives and queues: FIFO wake-up order, direct hand-off, cancellation of waiters,
// bounded queues with several producers, priority and LIFO order, shutdown waking every waiter.
import { describe, expect, it } from 'vitest';
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  CancelledError,
  Condition,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  Semaphore,
  now,
  run,
  sleep,
  spawn,
  taskGroup,
  yieldNow,
} from '../src/index.js';
import { backendOptions, loopMatrix, loopTitle, runOn } from './helpers.js';

// Every case on every cell of test/helpers.ts loopMatrix: run() and the hosted start() on each native
// backend, and run() on the simulation.
for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    const virtual = { ...backendOptions(b), clock: 'virtual' } as const;

    it('Event wakes every waiter; waiting on a set event returns at once', async () => {
      const log = await runOn(kind, function* () {
        const ev = new Event();
        const log: string[] = [];
        yield* taskGroup(function* (g) {
          for (const n of ['a', 'b', 'c']) g.spawn(function* () {
            yield* ev.wait();
            log.push(`${n}@${now()}`);
          });
          yield* sleep(10);
          ev.set();
        });
        yield* ev.wait();
        log.push('set already');
        return log;
      }, virtual);
      expect(log).toEqual(['a@10', 'b@10', 'c@10', 'set already']);
    });

    it('Lock: mutual exclusion, FIFO hand-off (no barging), release on error via with()', async () => {
      const log = await runOn(kind, function* () {
        const lock = new Lock();
        const log: string[] = [];
        yield* taskGroup(function* (g) {
          for (const n of ['1', '2', '3']) g.spawn(function* () {
            yield* lock.with(function* () {
              log.push(`in ${n}`);
              yield* sleep(5);
              log.push(`out ${n}`);
            });
          });
          // A latecomer that asks exactly when the lock is released must queue behind the waiters.
          g.spawn(function* () {
            yield* sleep(5);
            yield* lock.acquire();
            log.push('latecomer');
            lock.release();
          });
        });
        try {
          yield* lock.with(function* () {
            throw new Error('inside');
          });
        } catch {
          log.push(`locked after error: ${lock.locked()}`);
        }
        return log;
      }, virtual);
      expect(log).toEqual(['in 1', 'out 1', 'in 2', 'out 2', 'in 3', 'out 3', 'latecomer', 'locked after error: false']);
    });

    it('Lock: a waiter cancelled in line does not take a turn; releasing an unlocked lock is an error', async () => {
      const r = await runOn(kind, function* () {
        const lock = new Lock();
        yield* lock.acquire();
        const waiter = spawn(function* () {
          yield* lock.acquire();
          return 'got it';
        });
        yield* yieldNow();
        waiter.cancel();
        let cancelled = false;
        try {
          yield* waiter;
        } catch (e) {
          cancelled = e instanceof CancelledError;
        }
        lock.release();
        let err = '';
        try {
          lock.release();
        } catch (e) {
          err = (e as { code: string }).code;
        }
        return { cancelled, locked: lock.locked(), err };
      }, virtual);
      expect(r).toEqual({ cancelled: true, locked: false, err: 'ERR_CORIO_LOCK' });
    });

    it('Semaphore limits concurrency and serves waiters in order; BoundedSemaphore refuses extra releases', async () => {
      const r = await runOn(kind, function* () {
        const sem = new Semaphore(2);
        let active = 0;
        let peak = 0;
        const order: number[] = [];
        yield* taskGroup(function* (g) {
          for (let i = 0; i < 6; i++) g.spawn(function* () {
            yield* sem.with(function* () {
              active++;
              peak = Math.max(peak, active);
              order.push(i);
              yield* sleep(10);
              active--;
            });
          });
        });
        const bounded = new BoundedSemaphore(1);
        let code = '';
        try {
          bounded.release();
        } catch (e) {
          code = (e as { code: string }).code;
        }
        return { peak, order, t: now(), code };
      }, virtual);
      expect(r).toEqual({ peak: 2, order: [0, 1, 2, 3, 4, 5], t: 30, code: 'ERR_CORIO_SEMAPHORE' });
    });

    it('Condition: wait releases the lock, notify wakes in order, waitFor re-checks', async () => {
      const log = await runOn(kind, function* () {
        const cond = new Condition();
        const items: number[] = [];
        const log: string[] = [];
        yield* taskGroup(function* (g) {
          for (const n of ['x', 'y']) g.spawn(function* () {
            yield* cond.lock.acquire();
            try {
              yield* cond.waitFor(() => items.length > 0);
              log.push(`${n} took ${items.shift()}`);
            } finally {
              cond.lock.release();
            }
          });
          yield* sleep(1);
          for (const v of [1, 2]) {
            yield* cond.lock.with(function* () {
              items.push(v);
              cond.notify();
            });
            yield* sleep(1);
          }
        });
        return log;
      }, virtual);
      expect(log).toEqual(['x took 1', 'y took 2']);
    });

    it('Condition: a cancelled waiter holds the lock again when its CancelledError arrives', async () => {
      const r = await runOn(kind, function* () {
        const cond = new Condition();
        const t = spawn(function* () {
          yield* cond.lock.acquire();
          try {
            yield* cond.wait();
          } catch (e) {
            return `${(e as Error).name}, holds lock: ${cond.lock.locked()}`;
          } finally {
            cond.lock.release();
          }
          return 'woken';
        });
        yield* sleep(1);
        t.cancel();
        return yield* t;
      }, virtual);
      expect(r).toBe('CancelledError, holds lock: true');
    });

    it('Barrier releases all parties together with arrival indexes, resets, and breaks on cancel', async () => {
      const r = await runOn(kind, function* () {
        const barrier = new Barrier(3);
        const got: string[] = [];
        yield* taskGroup(function* (g) {
          for (let i = 0; i < 3; i++) g.spawn(function* () {
            yield* sleep(i * 10);
            const idx = yield* barrier.wait();
            got.push(`${i}:${idx}@${now()}`);
          });
        });
        const second = new Barrier(2);
        const waiter = spawn(function* () {
          try {
            yield* second.wait();
          } catch (e) {
            return (e as Error).name;
          }
          return 'passed';
        });
        const leaver = spawn(function* () {
          yield* second.wait();
        });
        yield* yieldNow();
        yield* yieldNow();
        yield* leaver;
        return { got: got.sort(), second: yield* waiter };
      }, virtual);
      expect(r.got).toEqual(['0:0@20', '1:1@20', '2:2@20']);
      expect(r.second).toBe('passed');
    });

    it('Barrier: a party cancelled while waiting breaks the barrier for the others', async () => {
      const r = await runOn(kind, function* () {
        const barrier = new Barrier(3);
        const a = spawn(function* () {
          try {
            yield* barrier.wait();
            return 'passed';
          } catch (e) {
            return (e as Error).name;
          }
        });
        const c = spawn(function* () {
          yield* barrier.wait();
        });
        yield* yieldNow();
        c.cancel();
        return yield* a;
      }, virtual);
      expect(r).toBe(new BrokenBarrierError().name);
    });

    it('a queue with maxsize 1 and 3 producers: producers wait, every item arrives once, per-producer order kept', async () => {
      const r = await runOn(kind, function* () {
        const q = new Queue<string>(1);
        const got: string[] = [];
        let maxSize = 0;
        yield* taskGroup(function* (g) {
          for (const p of ['A', 'B', 'C']) g.spawn(function* () {
            for (let i = 0; i < 5; i++) {
              yield* q.put(`${p}${i}`);
              maxSize = Math.max(maxSize, q.size);
            }
          }, { name: `producer-${p}` });
          g.spawn(function* () {
            for (let i = 0; i < 15; i++) {
              yield* sleep(1);  // a slow consumer: the producers must wait
              got.push(yield* q.get());
            }
          }, { name: 'consumer' });
        });
        return { got, maxSize };
      }, virtual);
      expect(r.got.length).toBe(15);
      expect(new Set(r.got).size).toBe(15);
      expect(r.maxSize).toBe(1);
      for (const p of ['A', 'B', 'C']) {
        expect(r.got.filter((x) => x[0] === p)).toEqual([0, 1, 2, 3, 4].map((i) => `${p}${i}`));
      }
      // Fair: A0 fits at once; then A1, B0, C0 wait in that order and are served in that order, each
      // producer re-queuing behind the others after its put completes — so the letters rotate after A's head start.
      expect(r.got.slice(0, 7).map((x) => x[0])).toEqual(['A', 'A', 'B', 'C', 'A', 'B', 'C']);
    });

    it('queue without waiting: putNowait/getNowait, QueueFull and QueueEmpty; join waits for taskDone', async () => {
      const r = await runOn(kind, function* () {
        const q = new Queue<number>(2);
        q.putNowait(1);
        q.putNowait(2);
        let full = false;
        try {
          q.putNowait(3);
        } catch (e) {
          full = e instanceof QueueFull;
        }
        const a = q.getNowait();
        const b2 = q.getNowait();
        let empty = false;
        try {
          q.getNowait();
        } catch (e) {
          empty = e instanceof QueueEmpty;
        }
        const worker = spawn(function* () {
          yield* sleep(5);
          q.taskDone();
          yield* sleep(5);
          q.taskDone();
        });
        yield* q.join();
        yield* worker;
        return { full, a, b2, empty, t: now() };
      }, virtual);
      expect(r).toEqual({ full: true, a: 1, b2: 2, empty: true, t: 10 });
    });

    it('PriorityQueue returns smallest first (ties in insertion order); LifoQueue returns newest first', async () => {
      const r = await runOn(kind, function* () {
        const pq = new PriorityQueue<[number, string]>();
        for (const item of [[3, 'c'], [1, 'a'], [2, 'b'], [1, 'a2']] as [number, string][]) yield* pq.put(item);
        const fromPq: string[] = [];
        while (!pq.empty()) fromPq.push((yield* pq.get())[1]);
        const lq = new LifoQueue<number>();
        for (const v of [1, 2, 3]) lq.putNowait(v);
        return { fromPq, fromLq: [lq.getNowait(), lq.getNowait(), lq.getNowait()] };
      }, virtual);
      expect(r).toEqual({ fromPq: ['a', 'a2', 'b', 'c'], fromLq: [3, 2, 1] });
    });

    it('shutdown wakes every waiter: putters fail, getters drain then fail; immediate discards', async () => {
      const r = await runOn(kind, function* () {
        const q = new Queue<number>(1);
        q.putNowait(1);
        const results: string[] = [];
        const putter = spawn(function* () {
          try {
            yield* q.put(2);
            results.push('put ok');
          } catch (e) {
            results.push(e instanceof QueueShutDown ? 'putter: shut down' : 'putter: other');
          }
        });
        yield* yieldNow();
        q.shutdown();
        yield* putter;
        results.push(`drained ${yield* q.get()}`);
        try {
          yield* q.get();
        } catch (e) {
          results.push(e instanceof QueueShutDown ? 'getter: shut down' : 'getter: other');
        }
        const q2 = new Queue<number>();
        const getter = spawn(function* () {
          try {
            return yield* q2.get();
          } catch (e) {
            return e instanceof QueueShutDown ? 'waiting getter woken' : 'other';
          }
        });
        yield* yieldNow();
        q2.shutdown(true);
        results.push(String(yield* getter));
        return results;
      }, virtual);
      expect(r).toEqual(['putter: shut down', 'drained 1', 'getter: shut down', 'waiting getter woken']);
    });
  });
}
