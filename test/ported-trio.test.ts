// Cases ported from trio's test suite (src/trio/_core/_tests/test_run.py, src/trio/_tests/test_sync.py,
// src/trio/_tests/test_timeouts.py). Each case names the test it came from; the behaviour is ported, the code is
// corio's own. trio's nurseries are corio's task groups, its cancel scopes are corio's timeouts and shields,
// seconds become milliseconds on the virtual clock. Where corio chose a different rule (README, "Where corio
// differs from asyncio and trio"), the case says so and asserts corio's rule. On every available backend.
import { describe, expect, it } from 'vitest';
import {
  AbandonedLockError,
  BoundedSemaphore,
  CancelledError,
  Condition,
  Event,
  Lock,
  Semaphore,
  TaskGroupError,
  currentTask,
  moveOnAfter,
  moveOnAt,
  now,
  run,
  shield,
  sleep,
  spawn,
  taskGroup,
  withDeadline,
  withTimeout,
  yieldNow,
  type Op,
  type Task,
} from '../src/index.js';
import { backendOptions, caught, loopMatrix, loopTitle, rejected, runOn } from './helpers.js';

function* outcomeOf(op: () => Op<unknown>): Op<string> {
  try {
    yield* op();
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

function* sleepForever(): Op<never> {
  for (;;) yield* sleep(1e9);
}

function errorsOf(e: unknown): unknown[] {
  return (e as TaskGroupError).errors;
}

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    const virtual = { ...backendOptions(b), clock: 'virtual' } as const;

    describe('_core/_tests/test_run.py', () => {
      // test_run.py: test_basic
      it('test_basic: run() returns the value; a plain function is refused', () => {
        expect(run(function* () { return 8; }, virtual)).toBe(8);
        expect(run(function* () { yield* yieldNow(); return 1; }, virtual)).toBe(1);
        expect(caught(() => run((() => null) as never, virtual))).toBeInstanceOf(TypeError);
      });

      // test_run.py: test_initial_task_error
      it('test_initial_task_error: main\'s error is thrown by run() itself', async () => {
        const e = await rejected(runOn(kind, function* () { throw new RangeError('17'); }, virtual));
        expect([e.name, e.message]).toEqual(['RangeError', '17']);
      });

      // test_run.py: test_run_nesting
      it('test_run_nesting: run() from inside a run is an error that says so', async () => {
        const msg = await runOn(kind, function* () { return caught(() => run(function* () {}, virtual)).message; }, virtual);
        expect(msg).toContain('inside a running corio loop');
      });

      // test_run.py: test_nursery_main_block_error_basic
      it('test_nursery_main_block_error_basic: the body\'s own error is the group\'s, as the same object', async () => {
        const exc = new RangeError('whoops');
        const r = await runOn(kind, function* () {
          try { yield* taskGroup(function* () { throw exc; }); } catch (e) { return errorsOf(e); }
          return [];
        }, virtual);
        expect(r).toEqual([exc]);
        expect(r[0]).toBe(exc);
      });

      // test_run.py: test_child_crash_basic
      it('test_child_crash_basic: a child\'s error reaches the parent, as the same object', async () => {
        const exc = new RangeError('uh oh');
        const r = await runOn(kind, function* () {
          try { yield* taskGroup(function* (g) { g.spawn(function* () { throw exc; }); }); } catch (e) { return errorsOf(e)[0]; }
          return null;
        }, virtual);
        expect(r).toBe(exc);
      });

      // test_run.py: test_basic_interleave
      it('test_basic_interleave: two loopers that yield take turns', async () => {
        const record = await runOn(kind, function* () {
          const record: string[] = [];
          yield* taskGroup(function* (g) {
            for (const who of ['a', 'b']) g.spawn(function* () {
              for (let i = 0; i < 3; i++) { record.push(`${who}${i}`); yield* yieldNow(); }
            });
          });
          return record;
        }, virtual);
        // Each round holds both tasks' steps (trio checks rounds as sets: it shuffles order within a round).
        for (let round = 0; round < 3; round++) expect(record.slice(2 * round, 2 * round + 2).sort()).toEqual([`a${round}`, `b${round}`]);
      });

      // test_run.py: test_task_crash_propagation
      it('test_task_crash_propagation: a crash cancels a looper, which sees it; the crash is reported', async () => {
        const r = await runOn(kind, function* () {
          const looperRecord: string[] = [];
          try {
            yield* taskGroup(function* (g) {
              g.spawn(function* () {
                try { for (;;) yield* yieldNow(); } catch (e) { if (e instanceof CancelledError) looperRecord.push('cancelled'); }
              });
              g.spawn(function* () { throw new RangeError('argh'); });
            });
          } catch (e) {
            return { errors: errorsOf(e).map((x) => (x as Error).message), looperRecord };
          }
          return null;
        }, virtual);
        expect(r).toEqual({ errors: ['argh'], looperRecord: ['cancelled'] });
      });

      // test_run.py: test_main_and_task_both_crash
      // Differs from trio (a child spawned into a group starts even if the group is already being cancelled,
      // so both errors are reported): corio follows asyncio — a task cancelled before it first ran never
      // starts. So a body that fails before its child ran reports only its own error; once the child has run,
      // both are reported.
      it('test_main_and_task_both_crash: a child that never ran does not crash; one that ran is reported too', async () => {
        const r = await runOn(kind, function* () {
          const names = (e: unknown) => errorsOf(e).map((x) => (x as Error).name).sort();
          let started = false;
          let before: string[] = [];
          try {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { started = true; throw new RangeError('child'); });
              throw new TypeError('body');
            });
          } catch (e) {
            before = names(e);
          }
          let after: string[] = [];
          try {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { throw new RangeError('child'); });
              yield* yieldNow();  // the child runs (and crashes) before the body resumes
              throw new TypeError('body');
            });
          } catch (e) {
            after = names(e);
          }
          return { before, started, after };
        }, virtual);
        expect(r).toEqual({ before: ['TypeError'], started: false, after: ['RangeError', 'TypeError'] });
      });

      // test_run.py: test_two_child_crashes
      // Differs from trio as above: of two children spawned together, the first to crash cancels the other
      // before it ever ran, so one crash is reported. Two children that crash in the same step of the loop
      // after both have started are both reported.
      it('test_two_child_crashes: two started children crashing at the same moment are both reported', async () => {
        const r = await runOn(kind, function* () {
          const names = (e: unknown) => errorsOf(e).map((x) => (x as Error).name).sort();
          let unstarted: string[] = [];
          try {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { throw new RangeError('key'); });
              g.spawn(function* () { throw new TypeError('value'); });
            });
          } catch (e) {
            unstarted = names(e);
          }
          let started: string[] = [];
          try {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { yield* sleep(5); throw new RangeError('key'); });
              g.spawn(function* () { yield* sleep(5); throw new TypeError('value'); });
            });
          } catch (e) {
            started = names(e);
          }
          return { unstarted, started };
        }, virtual);
        expect(r).toEqual({ unstarted: ['RangeError'], started: ['RangeError', 'TypeError'] });
      });

      // test_run.py: test_child_crash_wakes_parent
      it('test_child_crash_wakes_parent: a body sleeping forever is woken by a child\'s crash', async () => {
        const r = await runOn(kind, function* () {
          try {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { throw new RangeError('this is a crash'); });
              yield* sleepForever();
            });
          } catch (e) {
            return { message: (errorsOf(e)[0] as Error).message, at: now() };
          }
          return null;
        }, virtual);
        expect(r).toEqual({ message: 'this is a crash', at: 0 });
      });

      // test_run.py: test_current_task
      it('test_current_task: currentTask() is the running task; outside a task it is an error', async () => {
        const r = await runOn(kind, function* () {
          let inside: Task<unknown> | undefined;
          const t = spawn(function* () { inside = currentTask(); });
          yield* t;
          return inside === t;
        }, virtual);
        expect(r).toBe(true);
        expect(caught(() => currentTask())).toBeInstanceOf(TypeError);
      });

      // test_run.py: test_cancel_points (main2, main3)
      it('test_cancel_points: in a cancelled scope, a checkpoint and a blocking wait both raise', async () => {
        const r = await runOn(kind, function* () {
          const first = yield* outcomeOf(() => moveOnAt(now(), function* () { yield* yieldNow(); throw new Error('not reached'); }));
          const second = yield* outcomeOf(() => moveOnAt(now(), function* () { yield* sleepForever(); }));
          return [first, second, now()];
        }, virtual);
        expect(r).toEqual(['ok', 'ok', 0]);
      });

      // test_run.py: test_cancel_edge_cases
      // Differs from trio (level-triggered: every later checkpoint in a cancelled scope raises again): corio
      // delivers a cancellation once, so a finally block can still wait; the scope is credited either way.
      it('test_cancel_edge_cases: two cancels in a row are one; after it is caught, a later wait proceeds', async () => {
        const r = await runOn(kind, function* () {
          const log: string[] = [];
          const value = yield* moveOnAfter(0, function* () {
            try { yield* sleepForever(); } catch (e) { log.push((e as Error).name); }
            yield* sleep(5);
            log.push(`waited again until ${now()}`);
            return 'body value';
          });
          return { value, log };
        }, virtual);
        expect(r).toEqual({ value: 'body value', log: ['CancelledError', 'waited again until 5'] });
      });

      // test_run.py: test_precancelled_task
      // Differs from trio (the task starts and is cancelled at its first blocking call): corio follows
      // asyncio — a task cancelled before it ever ran never starts, so there is nothing to clean up.
      it('test_precancelled_task: a task spawned into a cancelled group never starts', async () => {
        const record = await runOn(kind, function* () {
          const record: string[] = [];
          yield* taskGroup(function* (g) {
            g.cancel();
            g.spawn(function* () { record.push('started'); yield* sleepForever(); });
          });
          return record;
        }, virtual);
        expect(record).toEqual([]);
      });

      // test_run.py: test_cancel_shielding
      it('test_cancel_shielding: a shield holds back the outer cancellation but not a scope inside it', async () => {
        const r = await runOn(kind, function* () {
          const log: string[] = [];
          const t = spawn(function* () {
            yield* shield(function* () {
              yield* sleep(10);  // the outer cancel arrives meanwhile: held back
              log.push('shielded sleep done');
              const inner = yield* outcomeOf(() => withTimeout(0, () => yieldNow()));
              log.push(`inner scope: ${inner}`);
            });
            yield* yieldNow();
          });
          yield* sleep(5);
          t.cancel();
          log.push(`task: ${yield* outcomeOf(function* () { yield* t; })}`);
          return log;
        }, virtual);
        expect(r).toEqual(['shielded sleep done', 'inner scope: TimeoutError', 'task: CancelledError']);
      });

      // test_run.py: test_cancel_inheritance
      it('test_cancel_inheritance: cancelling a group reaches the leaves of nested groups at once', async () => {
        const record = await runOn(kind, function* () {
          const record = new Set<string>();
          yield* taskGroup(function* (g) {
            for (const w of ['w1', 'w2']) g.spawn(function* () {
              yield* taskGroup(function* (inner) {
                for (const l of ['l1', 'l2']) inner.spawn(function* () {
                  try { yield* sleepForever(); } catch (e) { if (e instanceof CancelledError) record.add(`${w}-${l}`); throw e; }
                });
              });
            });
            yield* yieldNow();
            yield* yieldNow();
            g.cancel();
          });
          return [...record].sort();
        }, virtual);
        expect(record).toEqual(['w1-l1', 'w1-l2', 'w2-l1', 'w2-l2']);
      });

      // test_run.py: test_basic_timeout
      it('test_basic_timeout: a deadline moved earlier while inside takes effect; one moved later is kept', async () => {
        const r = await runOn(kind, function* () {
          const start = now();
          let caughtAt = -1;
          yield* moveOnAfter(Infinity, function* (scope) {
            scope.reschedule(start + 10);
            yield* sleep(5);
            scope.reschedule(start + 100);
            yield* sleep(50);  // past the first deadline: nothing happens
            scope.reschedule(start + 1);  // already passed: cancels at once
            try { yield* yieldNow(); } catch (e) { caughtAt = now(); throw e; }
          });
          return { caughtAt, at: now() };
        }, virtual);
        expect(r).toEqual({ caughtAt: 55, at: 55 });
      });

      // test_run.py: test_cancel_scope_nesting
      it('test_cancel_scope_nesting: two scopes cancelled together: the outer one is credited', async () => {
        const r = await runOn(kind, function* () {
          let innerCaught = false;
          const outer = yield* moveOnAfter(10, function* () {
            const inner = yield* moveOnAfter(10, function* () {
              yield* sleepForever();
            });
            innerCaught = true;  // not reached: the outer scope's cancellation passes through the inner one
            return inner;
          });
          return { outer, innerCaught, at: now() };
        }, virtual);
        expect(r).toEqual({ outer: undefined, innerCaught: false, at: 10 });
      });

      // test_run.py: test_nursery_closure
      it('test_nursery_closure: spawning into a group that has finished is an error', async () => {
        const msg = await runOn(kind, function* () {
          let saved: { spawn: (f: () => Op<void>) => unknown } | undefined;
          yield* taskGroup(function* (g) { saved = g; });
          return caught(() => saved!.spawn(function* () {})).message;
        }, virtual);
        expect(msg).toContain('has finished');
      });

      // test_run.py: test_spawn_name
      it('test_spawn_name: tasks have the names given, and a default one otherwise', async () => {
        const r = await runOn(kind, function* () {
          const named = spawn(function* () {}, { name: 'worker' });
          const unnamed = spawn(function* () {});
          yield* named;
          yield* unnamed;
          return [named.name, /^task-\d+$/.test(unnamed.name)];
        }, virtual);
        expect(r).toEqual(['worker', true]);
      });

      // test_run.py: test_nice_error_on_bad_calls_to_run_or_spawn
      it('test_nice_error_on_bad_calls_to_run_or_spawn: an async function gets an error that explains why', async () => {
        const e = caught(() => run((async function () {}) as never, virtual));
        expect(e).toBeInstanceOf(TypeError);
        expect(e.message).toContain('not an async function');
        const inSpawn = await runOn(kind, function* () { return caught(() => spawn((async () => 1) as never)).message; }, virtual);
        expect(inSpawn).toContain('generator function');
      });

      // test_run.py: test_trivial_yields
      it('test_trivial_yields: yieldNow() and sleep(0) in a cancelled scope raise; a set Event too', async () => {
        const r = await runOn(kind, function* () {
          const ev = new Event();
          ev.set();
          const names: string[] = [];
          for (const op of [() => yieldNow(), () => sleep(0), () => ev.wait()]) {
            names.push(yield* outcomeOf(() => withTimeout(0, op)));
          }
          return names;
        }, virtual);
        expect(r).toEqual(['TimeoutError', 'TimeoutError', 'TimeoutError']);
      });
    });

    describe('_tests/test_timeouts.py', () => {
      // test_timeouts.py: test_sleep (its last part)
      it('test_sleep: a scope whose deadline is now cancels sleep(0); moveOnAt returns undefined', async () => {
        const r = await runOn(kind, function* () {
          let raised = '';
          const v = yield* moveOnAt(now(), function* () {
            try { yield* sleep(0); } catch (e) { raised = (e as Error).name; throw e; }
            return 'not reached';
          });
          return { v, raised };
        }, virtual);
        expect(r).toEqual({ v: undefined, raised: 'CancelledError' });
      });

      // test_timeouts.py: test_move_on_after
      it('test_move_on_after: the body is given up after the time, and only then', async () => {
        const at = await runOn(kind, function* () {
          yield* moveOnAfter(1000, () => sleep(100_000));
          return now();
        }, virtual);
        expect(at).toBe(1000);
      });

      // test_timeouts.py: test_fail
      it('test_fail: withDeadline/withTimeout fail after the time; a quick body passes', async () => {
        const r = await runOn(kind, function* () {
          const a = yield* outcomeOf(() => withDeadline(now() + 1000, () => sleep(100_000)));
          const t1 = now();
          const b = yield* outcomeOf(() => withDeadline(now() + 100_000, () => sleep(0)));
          const c = yield* outcomeOf(() => withTimeout(1000, () => sleep(100_000)));
          const d = yield* outcomeOf(() => withTimeout(100_000, () => sleep(0)));
          return { a, t1, b, c, d, end: now() };
        }, virtual);
        expect(r).toEqual({ a: 'TimeoutError', t1: 1000, b: 'ok', c: 'TimeoutError', d: 'ok', end: 2000 });
      });

      // test_timeouts.py: test_timeouts_raise_value_error
      it('test_timeouts_raise_value_error: negative or NaN delays and NaN deadlines are RangeErrors', async () => {
        const r = await runOn(kind, function* () {
          const bad = [
            () => sleep(-1), () => sleep(NaN),
            () => withTimeout(-1, () => yieldNow()), () => withTimeout(NaN, () => yieldNow()),
            () => withDeadline(NaN, () => yieldNow()),
            () => moveOnAfter(-1, () => yieldNow()), () => moveOnAfter(NaN, () => yieldNow()),
            () => moveOnAt(NaN, () => yieldNow()),
          ];
          const kinds = bad.map((f) => caught(f).name);
          // A deadline may lie in the past (it is an absolute time); only delays must be non-negative.
          const past = yield* moveOnAt(-1, function* () { return 'ran'; });
          return { kinds, past };
        }, virtual);
        expect(r.kinds).toEqual(Array(8).fill('RangeError'));
        expect(r.past).toBe('ran');
      });

      // test_timeouts.py: test_timeout_deadline_on_entry
      it('test_timeout_deadline_on_entry: a relative timeout counts from when it is entered', async () => {
        const r = await runOn(kind, function* () {
          const op = moveOnAfter(5, function* (scope) { return scope.deadline; });
          yield* sleep(3);
          const start = now();
          const deadline = yield* op;
          return deadline === start + 5;
        }, virtual);
        expect(r).toBe(true);
      });
    });

    describe('_tests/test_sync.py', () => {
      // test_sync.py: test_Event
      it('test_Event: wait on a set event passes; set() wakes both sleeping children', async () => {
        const r = await runOn(kind, function* () {
          const e = new Event();
          const set0 = e.isSet();
          e.set();
          yield* e.wait();
          const e2 = new Event();
          const record: string[] = [];
          yield* taskGroup(function* (g) {
            for (let i = 0; i < 2; i++) g.spawn(function* () { record.push('sleeping'); yield* e2.wait(); record.push('woken'); });
            yield* yieldNow();
            yield* yieldNow();
            record.push('set');
            e2.set();
          });
          return { set0, record };
        }, virtual);
        expect(r).toEqual({ set0: false, record: ['sleeping', 'sleeping', 'set', 'woken', 'woken'] });
      });

      // test_sync.py: test_Semaphore
      it('test_Semaphore: tryAcquire, release over the start value, and fairness to a waiter', async () => {
        const r = await runOn(kind, function* () {
          expect(caught(() => new Semaphore(-1))).toBeInstanceOf(RangeError);
          const s = new Semaphore(1);
          s.release();
          const v1 = s.available;
          const t1 = s.tryAcquire();
          yield* s.acquire();
          const empty = [s.available, s.tryAcquire()];
          s.release();
          s.tryAcquire();
          const record: string[] = [];
          yield* taskGroup(function* (g) {
            g.spawn(function* () { record.push('started'); yield* s.acquire(); record.push('finished'); });
            yield* yieldNow();
            s.release();
            // Fairness: the permit went to the waiter, nobody else can take it now.
            record.push(`value ${s.available}, tryAcquire ${s.tryAcquire()}`);
          });
          return { v1, t1, empty, record };
        }, virtual);
        expect(r).toEqual({ v1: 2, t1: true, empty: [0, false], record: ['started', 'value 0, tryAcquire false', 'finished'] });
      });

      // test_sync.py: test_Semaphore_bounded
      it('test_Semaphore_bounded: a bounded semaphore refuses to go over its bound', async () => {
        const r = await runOn(kind, function* () {
          const bs = new BoundedSemaphore(1);
          const err = caught(() => bs.release()).code;
          bs.tryAcquire();
          bs.release();
          return [err, bs.available];
        }, virtual);
        expect(r).toEqual(['ERR_CORIO_SEMAPHORE', 1]);
      });

      // test_sync.py: test_Lock_and_StrictFIFOLock
      it('test_Lock_and_StrictFIFOLock: ownership rules: no re-acquire, no release by another task', async () => {
        const r = await runOn(kind, function* () {
          const l = new Lock();
          const out: unknown[] = [l.locked()];
          out.push(l.tryAcquire(), l.locked());
          out.push(caught(() => l.tryAcquire()).code);  // already ours: not reentrant
          l.release();
          out.push(caught(() => l.release()).code);  // not held
          yield* taskGroup(function* (g) {
            g.spawn(function* () { yield* l.with(() => sleepForever()); }, { name: 'holder' });
            yield* yieldNow();
            out.push(l.locked(), l.tryAcquire());
            out.push(caught(() => l.release()).message);
            g.cancel();
          });
          out.push(l.locked());
          return out;
        }, virtual);
        expect(r).toEqual([
          false, true, true, 'ERR_CORIO_LOCK', 'ERR_CORIO_LOCK',
          true, false, "Lock.release() called by task 'main', but the lock is held by task 'holder'",
          false,
        ]);
      });

      // test_sync.py: test_Condition
      it('test_Condition: wait/notify need the lock; notify(2) wakes two, notifyAll the rest', async () => {
        const r = await runOn(kind, function* () {
          const c = new Condition();
          const errors = [yield* outcomeOf(() => c.wait()), caught(() => c.notify()).code, caught(() => c.notifyAll()).code];
          const finished: number[] = [];
          yield* taskGroup(function* (g) {
            for (let i = 0; i < 3; i++) g.spawn(function* () { yield* c.lock.with(() => c.wait()); finished.push(i); });
            yield* yieldNow();
            yield* c.lock.with(function* () { c.notify(2); });
            yield* sleep(1);
            finished.push(-1);
            yield* c.lock.with(function* () { c.notifyAll(); });
          });
          return { errors, finished };
        }, virtual);
        expect(r.errors).toEqual(['CorioError', 'ERR_CORIO_LOCK', 'ERR_CORIO_LOCK']);
        expect(r.finished).toEqual([0, 1, -1, 2]);
      });

      // test_sync.py: test_Condition (its last block)
      it('test_Condition: after being cancelled in wait(), the task still holds the lock', async () => {
        const held = await runOn(kind, function* () {
          const c = new Condition();
          let held = false;
          const t = spawn(function* () {
            yield* c.lock.acquire();
            try { yield* c.wait(); } finally { held = c.lock.locked(); c.lock.release(); }
          });
          yield* yieldNow();
          t.cancel();
          yield* outcomeOf(function* () { yield* t; });
          return held;
        }, virtual);
        expect(held).toBe(true);
      });

      // test_sync.py: test_generic_lock_exclusion
      it('test_generic_lock_exclusion: five workers, ten rounds each, never two in the critical section', async () => {
        for (const make of [() => new Lock(), () => new Semaphore(1)]) {
          const r = await runOn(kind, function* () {
            const lock = make();
            let inside = false;
            let acquires = 0;
            let overlaps = 0;
            yield* taskGroup(function* (g) {
              for (let w = 0; w < 5; w++) g.spawn(function* () {
                for (let i = 0; i < 10; i++) {
                  yield* lock.with(function* () {
                    acquires++;
                    if (inside) overlaps++;
                    inside = true;
                    yield* yieldNow();
                    yield* yieldNow();
                    inside = false;
                  });
                }
              });
            });
            return { acquires, overlaps };
          }, virtual);
          expect(r).toEqual({ acquires: 50, overlaps: 0 });
        }
      });

      // test_sync.py: test_generic_lock_fifo_fairness
      it('test_generic_lock_fifo_fairness: workers queued on a lock get it in the same order every round', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          const record: number[] = [];
          yield* taskGroup(function* (g) {
            for (let n = 0; n < 3; n++) g.spawn(function* () {
              for (let i = 0; i < 5; i++) yield* lock.with(function* () { record.push(n); yield* yieldNow(); });
            });
          });
          return record;
        }, virtual);
        const first = r.slice(0, 3);
        for (let i = 0; i < 5; i++) expect(r.slice(3 * i, 3 * i + 3)).toEqual(first);
      });

      // test_sync.py: test_generic_lock_acquire_nowait_blocks_acquire
      it('test_generic_lock_acquire_nowait_blocks_acquire: a lock taken with tryAcquire makes acquire wait', async () => {
        const record = await runOn(kind, function* () {
          const lock = new Lock();
          const record: string[] = [];
          yield* taskGroup(function* (g) {
            lock.tryAcquire();
            g.spawn(function* () { record.push('started'); yield* lock.with(function* () {}); record.push('finished'); });
            yield* yieldNow();
            yield* yieldNow();
            record.push('released');
            lock.release();
          });
          return record;
        }, virtual);
        expect(record).toEqual(['started', 'released', 'finished']);
      });

      // test_sync.py: test_lock_acquire_unowned_lock
      it('test_lock_acquire_unowned_lock: acquiring a lock whose owner ended holding it fails, naming the owner', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          yield* taskGroup(function* (g) { g.spawn(() => lock.acquire(), { name: 'careless' }); });
          try { yield* lock.acquire(); } catch (e) { return [e instanceof AbandonedLockError, (e as Error).message]; }
          return null;
        }, virtual);
        expect(r).toEqual([true, "Lock was held by task 'careless', which ended without releasing it"]);
      });

      // test_sync.py: test_lock_multiple_acquire
      it('test_lock_multiple_acquire: a task waiting when the owner ends holding the lock fails instead of hanging', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          try {
            yield* taskGroup(function* (g) {
              g.spawn(() => lock.acquire(), { name: 'first' });
              g.spawn(() => lock.acquire(), { name: 'second' });
            });
          } catch (e) {
            return errorsOf(e).map((x) => [(x as Error).name, (x as AbandonedLockError).owner]);
          }
          return null;
        }, virtual);
        expect(r).toEqual([['AbandonedLockError', 'first']]);
      });

      // test_sync.py: test_lock_handover
      it('test_lock_handover: a lock handed to a waiter belongs to it; when it ends holding it, it is named', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          lock.tryAcquire();
          yield* taskGroup(function* (g) {
            g.spawn(() => lock.acquire(), { name: 'child' });
            yield* yieldNow();
            lock.release();  // handed over to the child, which ends holding it
          });
          return (caught(() => lock.tryAcquire()) as unknown as AbandonedLockError).owner;
        }, virtual);
        expect(r).toBe('child');
      });
    });
  });
}
