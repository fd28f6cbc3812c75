// Timeouts on the virtual clock: fail after a deadline, move on after a deadline, nested deadlines credited
// to the right scope, and an outside cancellation never swallowed by a timeout (CPython gh-86296).
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  TimeoutError,
  moveOnAfter,
  moveOnAt,
  now,
  run,
  sleep,
  spawn,
  withDeadline,
  withTimeout,
  yieldNow,
} from '../src/index.js';
import { backendOptions, loopMatrix, loopTitle, runOn } from './helpers.js';

// Every case on every cell of test/helpers.ts loopMatrix: run() and the hosted start() on each native
// backend, and run() on the simulation.
for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    const virtual = { ...backendOptions(b), clock: 'virtual' } as const;

    it('withTimeout returns the value when in time, throws TimeoutError when not, and cancels the body', async () => {
      const r = await runOn(kind, function* () {
        const inTime = yield* withTimeout(100, function* () {
          yield* sleep(50);
          return 'in time';
        });
        const log: string[] = [];
        let error: unknown;
        try {
          yield* withTimeout(100, function* () {
            try {
              yield* sleep(3_600_000);
            } finally {
              log.push(`body cancelled at ${now()}`);
            }
          });
        } catch (e) {
          error = e;
        }
        return { inTime, log, timeout: error instanceof TimeoutError, ms: (error as TimeoutError).ms, t: now() };
      }, virtual);
      expect(r).toEqual({ inTime: 'in time', log: ['body cancelled at 150'], timeout: true, ms: 100, t: 150 });
    });

    it('moveOnAfter returns undefined at the deadline and the value before it', async () => {
      const r = await runOn(kind, function* () {
        const late = yield* moveOnAfter(10, function* () {
          yield* sleep(20);
          return 'late';
        });
        const early = yield* moveOnAfter(10, function* () {
          yield* sleep(5);
          return 'early';
        });
        return { late, early, t: now() };
      }, virtual);
      expect(r).toEqual({ late: undefined, early: 'early', t: 15 });
    });

    it('nested: the inner deadline fires first and is credited to the inner scope', async () => {
      const r = await runOn(kind, function* () {
        return yield* withTimeout(1000, function* () {
          try {
            yield* withTimeout(10, function* () {
              yield* sleep(500);
            });
            return 'no timeout';
          } catch (e) {
            return e instanceof TimeoutError ? `inner timeout ${e.ms} at ${now()}` : 'other';
          }
        });
      }, virtual);
      expect(r).toBe('inner timeout 10 at 10');
    });

    it('nested: the outer deadline fires first and passes through the inner scope untouched', async () => {
      const r = await runOn(kind, function* () {
        try {
          yield* withTimeout(10, function* () {
            yield* moveOnAfter(1000, function* () {
              yield* sleep(500);
            });
            return 'inner moved on';
          });
          return 'no timeout';
        } catch (e) {
          return e instanceof TimeoutError ? `outer timeout ${e.ms} at ${now()}` : 'other';
        }
      }, virtual);
      expect(r).toBe('outer timeout 10 at 10');
    });

    it('deadlines passing at the same moment are credited to the outermost', async () => {
      const r = await runOn(kind, function* () {
        try {
          yield* withTimeout(10, function* () {
            yield* withTimeout(10, function* () {
              yield* sleep(100);
            });
          });
        } catch (e) {
          return e instanceof TimeoutError ? 'a TimeoutError' : 'other';
        }
        return 'none';
      }, virtual);
      // Both are TimeoutErrors; what matters is that exactly one propagates and the task continues normally.
      expect(r).toBe('a TimeoutError');
    });

    it('an outside cancellation arriving with the deadline is not swallowed (gh-86296)', async () => {
      const r = await runOn(kind, function* () {
        const t = spawn(function* () {
          yield* moveOnAfter(10, function* () {
            yield* sleep(1000);
          });
          return 'moved on and kept going';  // would be wrong: the task was cancelled
        });
        // Cancel exactly when the deadline passes: both land in the same loop iteration.
        yield* sleep(10);
        t.cancel();
        try {
          return yield* t;
        } catch (e) {
          return e instanceof CancelledError ? 'cancelled' : 'other';
        }
      }, virtual);
      expect(r).toBe('cancelled');
    });

    it('an outside cancellation while inside a timeout propagates as CancelledError, not TimeoutError', async () => {
      const r = await runOn(kind, function* () {
        const t = spawn(function* () {
          yield* withTimeout(1000, function* () {
            yield* sleep(500);
          });
        });
        yield* sleep(5);
        t.cancel();
        try {
          yield* t;
          return 'finished';
        } catch (e) {
          return (e as Error).name;
        }
      }, virtual);
      expect(r).toBe('CancelledError');
    });

    it('absolute deadlines: withDeadline and moveOnAt', async () => {
      const r = await runOn(kind, function* () {
        yield* sleep(100);
        const moved = yield* moveOnAt(now() + 5, function* () {
          yield* sleep(50);
          return 'x';
        });
        let timedOut = false;
        try {
          yield* withDeadline(now() + 5, function* () {
            yield* sleep(50);
          });
        } catch (e) {
          timedOut = e instanceof TimeoutError;
        }
        return { moved, timedOut, t: now() };
      }, virtual);
      expect(r).toEqual({ moved: undefined, timedOut: true, t: 110 });
    });

    it('an hour of timeouts runs instantly on the virtual clock', async () => {
      const fired = await runOn(kind, function* () {
        let fired = 0;
        for (let i = 0; i < 3600; i++) {
          const r = yield* moveOnAfter(1000, function* () {
            yield* sleep(2000);
          });
          if (r === undefined) fired++;
        }
        yield* yieldNow();
        return { fired, t: now() };
      }, virtual);
      expect(fired).toEqual({ fired: 3600, t: 3_600_000 });
    });

    it('bad arguments are RangeErrors', async () => {
      expect(() => withTimeout(-1, function* () {})).toThrow(RangeError);
      expect(() => moveOnAfter(NaN, function* () {})).toThrow(RangeError);
    });
  });
}
