// The loop and tasks: run(), spawn and join, sleep on a virtual clock, fairness of the ready snapshot,
// deadlock reports, bad yields and bad arguments, unobserved failures. Runs on every available backend.
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  DeadlockError,
  UnobservedErrors,
  backend,
  now,
  run,
  sleep,
  spawn,
  suspend,
  yieldNow,
  type Operation,
} from '../src/index.js';
import { LiveTasks } from '../src/core/loop.js';
import { Task } from '../src/core/task.js';
import { backendOptions, caught, loopMatrix, loopTitle, rejected, runOn, skipTitle } from './helpers.js';

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    const opts = backendOptions(b);
    const virtual = { ...opts, clock: 'virtual' } as const;

    it('run returns the value of main and reports the backend it used', async () => {
      const result = await runOn(kind, function* () {
        yield* yieldNow();
        return { answer: 42, backend: backend().name };
      }, opts);
      expect(result).toEqual({ answer: 42, backend: b.name });
    });

    it('run throws the error main throws, after its finally blocks ran', async () => {
      const log: string[] = [];
      const err = await rejected(
        runOn(kind, function* () {
          try {
            yield* yieldNow();
            throw new Error('boom');
          } finally {
            yield* yieldNow();  // finally blocks may still suspend
            log.push('finally');
          }
        }, opts),
      );
      expect(err.message).toBe('boom');
      expect(log).toEqual(['finally']);
    });

    it('spawned tasks run concurrently and join with their values and errors', async () => {
      const result = await runOn(kind, function* () {
        const order: string[] = [];
        const a = spawn(function* () {
          order.push('a1');
          yield* yieldNow();
          order.push('a2');
          return 'A';
        }, { name: 'a' });
        const c = spawn(function* () {
          order.push('c1');
          yield* yieldNow();
          throw new RangeError('c failed');
        }, { name: 'c' });
        const va = yield* a;
        let ce: unknown;
        try {
          yield* c.join();
        } catch (e) {
          ce = e;
        }
        return { va, ce, order, names: [a.name, c.name] };
      }, opts);
      expect(result.va).toBe('A');
      expect(result.ce).toBeInstanceOf(RangeError);
      expect(result.order).toEqual(['a1', 'c1', 'a2']);
      expect(result.names).toEqual(['a', 'c']);
    });

    it('sleep orders wake-ups by deadline on the virtual clock, without real waiting', async () => {
      const result = await runOn(kind, function* () {
        const log: [string, number][] = [];
        const t0 = now();
        const sleeper = (name: string, ms: number) =>
          spawn(function* () {
            yield* sleep(ms);
            log.push([name, now() - t0]);
          });
        const tasks = [sleeper('hour', 3_600_000), sleeper('ms', 1), sleeper('minute', 60_000), sleeper('zero', 0)];
        for (const t of tasks) yield* t;
        return log;
      }, virtual);
      expect(result).toEqual([['zero', 0], ['ms', 1], ['minute', 60_000], ['hour', 3_600_000]]);
    });

    it('a real sleep of a fraction of a millisecond waits at least that long (no rounding down)', async () => {
      const elapsed = await runOn(kind, function* () {
        const t0 = now();
        yield* sleep(0.4);
        return now() - t0;
      }, opts);
      expect(elapsed).toBeGreaterThanOrEqual(0.4);
    });

    it('runs only the tasks ready at the start of an iteration (a yielding task cannot starve others)', async () => {
      const log = await runOn(kind, function* () {
        const log: string[] = [];
        const spinner = spawn(function* () {
          for (let i = 0; i < 3; i++) {
            log.push(`spin${i}`);
            yield* yieldNow();
          }
        });
        const other = spawn(function* () {
          log.push('other');
          yield* yieldNow();
          log.push('other-again');
        });
        yield* spinner;
        yield* other;
        return log;
      }, opts);
      expect(log).toEqual(['spin0', 'other', 'spin1', 'other-again', 'spin2']);
    });

    // A guest loop can be handed work from outside at any time (a Promise settling, call()), so idle is not a
    // deadlock there (Loop.computeTimeout): start() keeps waiting, by design.
    const noDeadlock = kind === 'hosted' ? 'a hosted loop cannot know that nothing outside will wake a task' : '';
    it.skipIf(noDeadlock !== '')(skipTitle('a program where every task waits forever fails with a deadlock error naming the tasks', noDeadlock), async () => {
      const never: Operation<void> = suspend('a signal that never comes', () => {});
      const err = await rejected(
        runOn(kind, function* () {
          spawn(function* () {
            yield* never;
          }, { name: 'stuck-child' });
          yield* never;
        }, opts),
      );
      expect(err).toBeInstanceOf(DeadlockError);
      expect(err.message).toContain("'main' waiting on a signal that never comes");
      expect(err.message).toContain("'stuck-child' waiting on a signal that never comes");
    });

    it('a task that yields something other than a corio operation gets a TypeError naming it', async () => {
      const err = await rejected(
        runOn(kind, function* () {
          // @ts-expect-error: deliberately yielding a Promise
          yield Promise.resolve(1);
        }, { ...opts, name: 'badly-behaved' }),
      );
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toContain("Task 'badly-behaved' yielded an instance of Promise");
    });

    it('a bare `yield` of a corio operation (instead of yield*) is refused with a hint', async () => {
      const err = await rejected(
        runOn(kind, function* () {
          yield sleep(1) as never;
        }, opts),
      );
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toContain('use `yield*`');
    });

    it('run inside a running loop throws ERR_CORIO_NESTED_RUN, and the outer run still completes', async () => {
      const inner = await runOn(kind, function* () {
        try {
          run(function* () {
            return 1;
          });
          return 'no error';
        } catch (e) {
          return (e as { code: string }).code;
        }
      }, opts);
      expect(inner).toBe('ERR_CORIO_NESTED_RUN');
    });

    it('run after run works (each run has its own loop)', () => {
      expect(run(function* () { return 1; }, opts)).toBe(1);
      expect(run(function* () { return 2; }, opts)).toBe(2);
    });

    it('a task that fails and is never joined is raised when run() ends', async () => {
      const err = await rejected(
        runOn(kind, function* () {
          spawn(function* () {
            yield* yieldNow();
            throw new Error('nobody listens');
          }, { name: 'orphan' });
          yield* sleep(1);
          return 'main finished';
        }, virtual),
      );
      expect(err).toBeInstanceOf(UnobservedErrors);
      expect(err.message).toContain("'orphan' (Error: nobody listens)");
    });

    it('tasks still running when main returns are cancelled and their finally blocks run', async () => {
      const log: string[] = [];
      await runOn(kind, function* () {
        spawn(function* () {
          try {
            yield* sleep(10_000);
          } catch (e) {
            log.push(e instanceof CancelledError ? 'cancelled' : 'other');
            throw e;
          } finally {
            yield* yieldNow();
            log.push('cleaned up');
          }
        });
        yield* yieldNow();
      }, virtual);
      expect(log).toEqual(['cancelled', 'cleaned up']);
    });

    it('cancelling a sleeping task throws CancelledError at its suspension point; join sees it', async () => {
      const result = await runOn(kind, function* () {
        const sleeper = spawn(function* () {
          yield* sleep(1000);
          return 'woke';
        });
        yield* yieldNow();
        expect(sleeper.cancel()).toBe(true);
        try {
          yield* sleeper;
          return 'joined';
        } catch (e) {
          return e instanceof CancelledError ? `cancelled at ${now()}` : 'other';
        }
      }, virtual);
      expect(result).toBe('cancelled at 0');
    });
  });
}

describe('bad arguments to run()', () => {
  it('rejects a non-generator function with a TypeError that says what was wrong', () => {
    const err = caught(() => run((() => 42) as never));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('needs a generator function');
    expect(err.message).toContain('type number (42)');
  });

  it('rejects an async function and explains why', () => {
    const err = caught(() => run((async () => 1) as never));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('not an async function');
  });

  it('rejects values that are not operations', () => {
    expect(caught(() => run(null as never))).toBeInstanceOf(TypeError);
    expect(caught(() => run('function*' as never))).toBeInstanceOf(TypeError);
  });

  it('rejects an unknown backend with the list of what exists', () => {
    const err = caught(() => run(function* () {}, { backend: 'nope' }));
    expect(err.code).toBe('ERR_CORIO_BACKEND_UNAVAILABLE');
    expect(err.message).toContain("unknown backend 'nope'");
  });

  it('operations used outside run() fail clearly', () => {
    expect(caught(() => spawn(function* () {})).code).toBe('ERR_CORIO_NO_LOOP');
    const err = caught(() => [...(sleep(1) as Iterable<unknown>)]);
    expect(err.message).toContain('can only run inside a corio task');
  });
});

describe('the loop\'s list of live tasks', () => {
  // LiveTasks (src/core/loop.ts) replaced a Set: spawn order, removal from anywhere, and a removed task
  // keeps no link to the others (a task the program holds must not keep later tasks reachable).
  const host = { schedule() {}, finished() {}, stepObserver: null };
  const make = (n: number) => Array.from({ length: n }, (_, i) => new Task(host, (function* () {})(), `t${i}`));
  const names = (l: LiveTasks) => [...l].map((t) => t.name);

  it('keeps spawn order through removals at the head, the middle and the tail', () => {
    const l = new LiveTasks();
    const [a, b, c, d] = make(4);
    for (const t of [a, b, c, d]) l.add(t);
    expect(names(l)).toEqual(['t0', 't1', 't2', 't3']);
    l.delete(b);
    expect(names(l)).toEqual(['t0', 't2', 't3']);
    l.delete(a);
    l.delete(d);
    expect(names(l)).toEqual(['t2']);
    expect(l.size).toBe(1);
    const [e] = make(1);
    l.add(e);
    const arr = l.toArray();  // compared by identity: a Task is iterable (yield* task), which toEqual would walk
    expect(arr.length === 2 && arr[0] === c && arr[1] === e).toBe(true);
    l.delete(c);
    l.delete(e);
    expect(l.size).toBe(0);
    expect(names(l)).toEqual([]);
  });

  it('clears a removed task\'s links, and ignores a task that is not in it', () => {
    const l = new LiveTasks();
    const [a, b, c] = make(3);
    l.add(a);
    l.add(b);
    l.add(c);
    l.delete(b);
    expect(b.livePrev).toBeNull();
    expect(b.liveNext).toBeNull();
    l.delete(b);  // twice: nothing changes
    const [stranger] = make(1);
    l.delete(stranger);
    expect(l.size).toBe(2);
    expect(names(l)).toEqual(['t0', 't2']);
  });

  it('iterates over the tasks live when the iteration began', () => {
    const l = new LiveTasks();
    const [a, b, c] = make(3);
    l.add(a);
    l.add(b);
    const seen: string[] = [];
    for (const t of l) {
      seen.push(t.name);
      if (t === a) {
        l.delete(b);
        l.add(c);
      }
    }
    expect(seen).toEqual(['t0', 't1']);
    expect(names(l)).toEqual(['t0', 't2']);
  });
});
