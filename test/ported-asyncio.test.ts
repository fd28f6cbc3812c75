// Cases ported from CPython's asyncio test suite (Lib/test/test_asyncio/: test_taskgroups, test_timeouts,
// test_tasks, test_locks, test_queues, test_runners). Each case names the test it came from; the behaviour is
// ported, the code is corio's own. asyncio's seconds become milliseconds on corio's virtual clock. Where corio
// chose a different rule (README, "Where corio differs from asyncio and trio"), the case says so and asserts
// corio's rule. On every available backend.
import { describe, expect, it } from 'vitest';
import {
  AbandonedLockError,
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  CancelledError,
  Condition,
  CorioError,
  Event,
  LifoQueue,
  Lock,
  PriorityQueue,
  Queue,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  Semaphore,
  Task,
  TaskGroupError,
  TimeoutError,
  UnobservedErrors,
  currentTask,
  now,
  run,
  shield,
  sleep,
  spawn,
  taskGroup,
  timeout,
  timeoutAt,
  withTimeout,
  yieldNow,
  type Op,
} from '../src/index.js';
import { backendOptions, caught, loopMatrix, loopTitle, rejected, runOn } from './helpers.js';

class MyError extends Error {
  override name = 'MyError';
}

/** The name of what an operation threw, or 'ok'. */
function* outcomeOf(op: () => Op<unknown>): Op<string> {
  try {
    yield* op();
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

function* joinName(t: Task<unknown>): Op<string> {
  return yield* outcomeOf(function* () {
    yield* t;
  });
}

function messages(e: unknown): string[] {
  return (e as TaskGroupError).errors.map((x) => (x as Error).message);
}

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    const virtual = { ...backendOptions(b), clock: 'virtual' } as const;

    describe('test_taskgroups.py', () => {
      // test_taskgroups.py: TestTaskGroup.test_taskgroup_01
      it('test_taskgroup_01: the group waits for its children; their values are there after it', async () => {
        const r = await runOn(kind, function* () {
          let t1!: Task<number>, t2!: Task<number>;
          yield* taskGroup(function* (g) {
            t1 = g.spawn(function* () { yield* sleep(100); return 42; });
            t2 = g.spawn(function* () { yield* sleep(200); return 11; });
          });
          return [t1.result(), t2.result(), now()];
        }, virtual);
        expect(r).toEqual([42, 11, 200]);
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_02
      it('test_taskgroup_02: a child spawned after the body slept is waited for too', async () => {
        const r = await runOn(kind, function* () {
          let t1!: Task<number>, t2!: Task<number>;
          yield* taskGroup(function* (g) {
            t1 = g.spawn(function* () { yield* sleep(100); return 42; });
            yield* sleep(150);
            t2 = g.spawn(function* () { yield* sleep(200); return 11; });
          });
          return [t1.result(), t2.result(), now()];
        }, virtual);
        expect(r).toEqual([42, 11, 350]);
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_03
      it('test_taskgroup_03: cancelling one child explicitly is not a failure; the group carries on', async () => {
        const r = await runOn(kind, function* () {
          let t1!: Task<number>, t2!: Task<number>;
          yield* taskGroup(function* (g) {
            t1 = g.spawn(function* () { yield* sleep(1000); return 42; });
            yield* sleep(150);
            t1.cancel();
            t2 = g.spawn(function* () { yield* sleep(200); return 11; });
          });
          return { t1: t1.cancelled(), t2: t2.result() };
        }, virtual);
        expect(r).toEqual({ t1: true, t2: 11 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_04
      it('test_taskgroup_04: a failing child cancels its sibling; code after the group is not reached', async () => {
        const r = await runOn(kind, function* () {
          let num = 0;
          let t2Cancel = false;
          let t2!: Task<void>;
          const runner = spawn(function* () {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { yield* sleep(100); throw new RangeError('division by zero'); });
              t2 = g.spawn(function* () {
                try {
                  yield* sleep(1000);
                } catch (e) {
                  t2Cancel = e instanceof CancelledError;
                  throw e;
                }
                num += 1;
              });
            });
            num += 10;
          });
          const err = yield* outcomeOf(function* () { yield* runner; });
          return { err, errors: messages(runner.failure()), num, t2Cancel, t2: t2.cancelled() };
        }, virtual);
        expect(r).toEqual({ err: 'TaskGroupError', errors: ['division by zero'], num: 0, t2Cancel: true, t2: true });
      });

      // test_taskgroups.py: TestTaskGroup.test_cancel_children_on_child_error
      it('test_cancel_children_on_child_error: siblings and the body are cancelled; only failures are gathered', async () => {
        const r = await runOn(kind, function* () {
          let t2Cancel = false;
          let runnerCancel = false;
          try {
            yield* taskGroup(function* (g) {
              for (let i = 0; i < 3; i++) g.spawn(function* () { yield* sleep(100); throw new RangeError('zero'); });
              g.spawn(function* () {
                try { yield* sleep(5000); } catch (e) { t2Cancel = e instanceof CancelledError; throw e; }
              });
              try { yield* sleep(10_000); } catch (e) { runnerCancel = e instanceof CancelledError; throw e; }
            });
            return null;
          } catch (e) {
            return { kinds: [...new Set(messages(e))], t2Cancel, runnerCancel };
          }
        }, virtual);
        expect(r).toEqual({ kinds: ['zero'], t2Cancel: true, runnerCancel: true });
      });

      // test_taskgroups.py: TestTaskGroup.test_cancellation
      it('test_cancellation: cancelling the task running a group cancels all five children; its message is kept', async () => {
        const r = await runOn(kind, function* () {
          let num = 0;
          const runner = spawn(function* () {
            yield* taskGroup(function* (g) {
              for (let i = 0; i < 5; i++) g.spawn(function* () {
                try { yield* sleep(5000); } catch (e) { if (e instanceof CancelledError) num++; throw e; }
              });
            });
          });
          yield* sleep(100);
          const doneBefore = runner.done;
          runner.cancel('test');
          try { yield* runner; } catch (e) { return { doneBefore, message: (e as Error).message, name: (e as Error).name, num }; }
          return null;
        }, virtual);
        expect(r).toEqual({ doneBefore: false, message: 'test', name: 'CancelledError', num: 5 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_07
      it('test_taskgroup_07: the body sees the cancellation too and may re-throw it', async () => {
        const num = await runOn(kind, function* () {
          let num = 0;
          const runner = spawn(function* () {
            yield* taskGroup(function* (g) {
              for (let i = 0; i < 5; i++) g.spawn(function* () {
                try { yield* sleep(5000); } catch (e) { num += 1; throw e; }
              });
              try { yield* sleep(10_000); } catch (e) { num += 10; throw e; }
            });
          });
          yield* sleep(100);
          runner.cancel();
          expect(yield* joinName(runner)).toBe('CancelledError');
          return num;
        }, virtual);
        expect(num).toBe(15);
      });

      // test_taskgroups.py: TestTaskGroup.test_cancellation_in_body
      it('test_cancellation_in_body: cancelled while the body waits, before any child failed: CancelledError', async () => {
        const r = await runOn(kind, function* () {
          const runner = spawn(function* () {
            yield* taskGroup(function* (g) {
              for (let i = 0; i < 5; i++) g.spawn(function* () { yield* sleep(100); throw new RangeError('zero'); });
              yield* sleep(10_000);
            });
          });
          yield* sleep(50);  // asyncio races the children's failure at 0.1 s; here the cancel comes first
          runner.cancel('test');
          try { yield* runner; } catch (e) { return [(e as Error).name, (e as Error).message]; }
          return null;
        }, virtual);
        expect(r).toEqual(['CancelledError', 'test']);
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_09
      it('test_taskgroup_09: the body failing after a wait cancels both children', async () => {
        const r = await runOn(kind, function* () {
          let t1!: Task<number>, t2!: Task<number>;
          try {
            yield* taskGroup(function* (g) {
              t1 = g.spawn(function* () { yield* sleep(1000); return 42; });
              t2 = g.spawn(function* () { yield* sleep(2000); return 11; });
              yield* sleep(100);
              throw new RangeError('zero');
            });
          } catch (e) {
            return { errors: messages(e), t1: t1.cancelled(), t2: t2.cancelled() };
          }
          return null;
        }, virtual);
        expect(r).toEqual({ errors: ['zero'], t1: true, t2: true });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_10
      it('test_taskgroup_10: the body failing at once: children that never ran are cancelled', async () => {
        const r = await runOn(kind, function* () {
          let t1!: Task<number>, t2!: Task<number>;
          try {
            yield* taskGroup(function* (g) {
              t1 = g.spawn(function* () { yield* sleep(1000); return 42; });
              t2 = g.spawn(function* () { yield* sleep(2000); return 11; });
              throw new RangeError('zero');
            });
          } catch (e) {
            return { errors: messages(e), t1: t1.cancelled(), t2: t2.cancelled() };
          }
          return null;
        }, virtual);
        expect(r).toEqual({ errors: ['zero'], t1: true, t2: true });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_11 and test_taskgroup_12
      it('test_taskgroup_11/12: nested groups (the outer with a sleeper of its own) end cancelled when their task is', async () => {
        const r = await runOn(kind, function* () {
          const runner = spawn(function* () {
            yield* taskGroup(function* (g1) {
              g1.spawn(() => sleep(10_000));
              yield* taskGroup(function* (g2) {
                for (let i = 0; i < 5; i++) g2.spawn(function* () { yield* sleep(100); throw new RangeError('zero'); });
                yield* sleep(10_000);
              });
            });
          });
          yield* sleep(50);
          runner.cancel();
          return yield* joinName(runner);
        }, virtual);
        expect(r).toBe('CancelledError');
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_13
      it('test_taskgroup_13: an outer child crashing cancels the inner group: only the outer crash is reported', async () => {
        const r = await runOn(kind, function* () {
          const crashAfter = (t: number) => function* () { yield* sleep(t); throw new RangeError(String(t)); };
          try {
            yield* taskGroup(function* (g1) {
              g1.spawn(crashAfter(100));
              yield* taskGroup(function* (g2) {
                g2.spawn(crashAfter(10_000));
              });
            });
          } catch (e) {
            return messages(e);
          }
          return null;
        }, virtual);
        expect(r).toEqual(['100']);
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_14
      it('test_taskgroup_14: an inner crash reaches the outer group as the inner TaskGroupError', async () => {
        const r = await runOn(kind, function* () {
          const crashAfter = (t: number) => function* () { yield* sleep(t); throw new RangeError(String(t)); };
          try {
            yield* taskGroup(function* (g1) {
              g1.spawn(crashAfter(10_000));
              yield* taskGroup(function* (g2) {
                g2.spawn(crashAfter(100));
              });
            });
          } catch (e) {
            const inner = (e as TaskGroupError).errors;
            return { outer: inner.map((x) => (x as Error).name), inner: messages(inner[0]) };
          }
          return null;
        }, virtual);
        expect(r).toEqual({ outer: ['TaskGroupError'], inner: ['100'] });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_15
      // Differs from asyncio: corio reports the child's crash (TaskGroupError) rather than letting the
      // cancellation hide it; the body's cleanup wait is interrupted by the group's own cancellation.
      it('test_taskgroup_15: a child crashing while the cancelled body cleans up is reported, not hidden', async () => {
        const r = await runOn(kind, function* () {
          const runner = spawn(function* () {
            yield* taskGroup(function* (g1) {
              g1.spawn(function* () { yield* sleep(300); throw new RangeError('zero'); });
              try {
                yield* sleep(10_000);
              } catch (e) {
                yield* sleep(500);
                throw e;
              }
            });
          });
          yield* sleep(100);
          runner.cancel();
          const name = yield* joinName(runner);
          return { name, errors: messages(runner.failure()), at: now() };
        }, virtual);
        expect(r).toEqual({ name: 'TaskGroupError', errors: ['zero'], at: 300 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_16
      it('test_taskgroup_16: cancelling a task that joins the group\'s task does not cancel the joined task', async () => {
        // Differs from asyncio (where cancelling the awaiting task cancels the awaited one): corio's join is
        // only a wait, so the nested runner goes on; it ends when its own child crashes.
        const r = await runOn(kind, function* () {
          const nested = spawn(function* () {
            yield* taskGroup(function* (g1) {
              g1.spawn(function* () { yield* sleep(300); throw new RangeError('zero'); });
              yield* sleep(10_000);
            });
          });
          const runner = spawn(function* () { yield* nested; });
          yield* sleep(100);
          runner.cancel();
          const runnerOutcome = yield* joinName(runner);
          const nestedOutcome = yield* joinName(nested);
          return { runnerOutcome, nestedOutcome, at: now() };
        }, virtual);
        expect(r).toEqual({ runnerOutcome: 'CancelledError', nestedOutcome: 'TaskGroupError', at: 300 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_17
      it('test_taskgroup_17: a group without children: the body\'s re-thrown cancellation propagates', async () => {
        const r = await runOn(kind, function* () {
          let num = 0;
          const runner = spawn(function* () {
            yield* taskGroup(function* () {
              try { yield* sleep(10_000); } catch (e) { num += 10; throw e; }
            });
          });
          yield* sleep(100);
          runner.cancel();
          return { name: yield* joinName(runner), num };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', num: 10 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_18
      it('test_taskgroup_18: a body that turns its cancellation into another error fails the group with it', async () => {
        const r = await runOn(kind, function* () {
          let num = 0;
          const runner = spawn(function* () {
            yield* taskGroup(function* () {
              try { yield* sleep(10_000); } catch { num += 10; throw new MyError('mine'); }
            });
          });
          yield* sleep(100);
          runner.cancel();
          return { name: yield* joinName(runner), errors: messages(runner.failure()), num };
        }, virtual);
        expect(r).toEqual({ name: 'TaskGroupError', errors: ['mine'], num: 10 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_19
      it('test_taskgroup_19: a child crash and the body\'s finally error are both reported', async () => {
        const r = await runOn(kind, function* () {
          try {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { yield* sleep(100); throw new RangeError('zero'); });
              try { yield* sleep(10_000); } finally { throw new MyError('from finally'); }
            });
          } catch (e) {
            return messages(e).sort();
          }
          return null;
        }, virtual);
        expect(r).toEqual(['from finally', 'zero']);
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_22
      it('test_taskgroup_22: cancelling a task whose group has two sleeping children', async () => {
        const r = await runOn(kind, function* () {
          const runner = spawn(function* () {
            yield* taskGroup(function* (g) {
              g.spawn(function* () { yield* sleep(1000); return 42; });
              g.spawn(function* () { yield* sleep(2000); return 11; });
            });
          });
          yield* sleep(50);
          runner.cancel();
          return { name: yield* joinName(runner), at: now() };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', at: 50 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_23
      it('test_taskgroup_23: finished children leave the group while the body goes on spawning', async () => {
        const r = await runOn(kind, function* () {
          const sizes: number[] = [];
          yield* taskGroup(function* (g) {
            for (let count = 0; count < 10; count++) {
              yield* sleep(100);
              g.spawn(() => sleep(300));
              if (count === 5) sizes.push(g.size);
            }
            yield* sleep(1350);
            sizes.push(g.size);
          });
          return sizes;
        }, virtual);
        expect(r[0]).toBeLessThan(5);
        expect(r[1]).toBe(0);
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_24
      it('test_taskgroup_24: a child spawns more children into its own group', async () => {
        const r = await runOn(kind, function* () {
          const done: number[] = [];
          yield* taskGroup(function* (g) {
            g.spawn(function* () {
              yield* sleep(100);
              for (const d of [100, 200]) g.spawn(function* () { yield* sleep(d); done.push(d); });
            });
          });
          return { done, at: now() };
        }, virtual);
        expect(r).toEqual({ done: [100, 200], at: 300 });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_25
      it('test_taskgroup_25: hydras multiply until hercules fails; the group ends with his error', async () => {
        const r = await runOn(kind, function* () {
          let hydras = 0;
          try {
            yield* taskGroup(function* (g) {
              const hydra = function* (): Op<void> {
                hydras++;
                yield* sleep(10);
                g.spawn(hydra);
                g.spawn(hydra);
              };
              g.spawn(hydra);
              g.spawn(function* () {
                while (hydras < 10) yield* sleep(15);
                throw new RangeError('zero');
              });
            });
          } catch (e) {
            return { errors: messages(e), enough: hydras >= 10 };
          }
          return null;
        }, virtual);
        expect(r).toEqual({ errors: ['zero'], enough: true });
      });

      // test_taskgroups.py: TestTaskGroup.test_taskgroup_task_name
      it('test_taskgroup_task_name: a child keeps the name it was spawned with', async () => {
        const name = await runOn(kind, function* () {
          let name = '';
          yield* taskGroup(function* (g) {
            name = g.spawn(() => yieldNow(), { name: 'yolo' }).name;
          });
          return name;
        }, virtual);
        expect(name).toBe('yolo');
      });
    });

    describe('test_timeouts.py', () => {
      // test_timeouts.py: TimeoutTests.test_timeout_basic
      it('test_timeout_basic: the body is cancelled, TimeoutError is thrown, the scope says it expired', async () => {
        const r = await runOn(kind, function* () {
          const cm = timeout(10);
          const name = yield* outcomeOf(() => cm.run(() => sleep(10_000)));
          return { name, expired: cm.expired, at: now() };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', expired: true, at: 10 });
      });

      // test_timeouts.py: TimeoutTests.test_timeout_at_basic
      it('test_timeout_at_basic: an absolute deadline, reported back by the scope', async () => {
        const r = await runOn(kind, function* () {
          const deadline = now() + 10;
          const cm = timeoutAt(deadline);
          const name = yield* outcomeOf(() => cm.run(() => sleep(10_000)));
          return { name, expired: cm.expired, same: cm.deadline === deadline };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', expired: true, same: true });
      });

      // test_timeouts.py: TimeoutTests.test_nested_timeouts
      it('test_nested_timeouts: two scopes with one deadline: only the outer throws TimeoutError', async () => {
        const r = await runOn(kind, function* () {
          const deadline = now() + 10;
          const cm1 = timeoutAt(deadline);
          const cm2 = timeoutAt(deadline);
          let innerSaw = '';
          const name = yield* outcomeOf(() => cm1.run(function* () {
            try {
              yield* cm2.run(() => sleep(10_000));
            } catch (e) {
              innerSaw = (e as Error).name;
              throw e;
            }
          }));
          return { name, innerSaw, e1: cm1.expired, e2: cm2.expired };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', innerSaw: 'CancelledError', e1: true, e2: true });
      });

      // test_timeouts.py: TimeoutTests.test_waiter_cancelled
      it('test_waiter_cancelled: the body sees CancelledError, the caller sees TimeoutError', async () => {
        const r = await runOn(kind, function* () {
          let cancelled = false;
          const name = yield* outcomeOf(() => withTimeout(10, function* () {
            try { yield* sleep(10_000); } catch (e) { cancelled = e instanceof CancelledError; throw e; }
          }));
          return { name, cancelled };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', cancelled: true });
      });

      // test_timeouts.py: TimeoutTests.test_timeout_not_called
      it('test_timeout_not_called: a body that finishes in time leaves the scope unexpired', async () => {
        const r = await runOn(kind, function* () {
          const cm = timeout(10_000);
          yield* cm.run(() => sleep(10));
          return { expired: cm.expired, later: cm.deadline > now() };
        }, virtual);
        expect(r).toEqual({ expired: false, later: true });
      });

      // test_timeouts.py: TimeoutTests.test_timeout_disabled and test_timeout_at_disabled
      it('test_timeout_disabled: an Infinity deadline never expires (asyncio: None)', async () => {
        const r = await runOn(kind, function* () {
          const cm = timeoutAt(Infinity);
          yield* cm.run(() => sleep(10));
          return { expired: cm.expired, deadline: cm.deadline };
        }, virtual);
        expect(r).toEqual({ expired: false, deadline: Infinity });
      });

      // test_timeouts.py: TimeoutTests.test_timeout_zero
      it('test_timeout_zero: timeout(0) around a long sleep expires at once', async () => {
        const r = await runOn(kind, function* () {
          const t0 = now();
          const cm = timeout(0);
          const name = yield* outcomeOf(() => cm.run(() => sleep(10_000)));
          return { name, expired: cm.expired, inRange: t0 <= cm.deadline && cm.deadline <= now() };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', expired: true, inRange: true });
      });

      // test_timeouts.py: TimeoutTests.test_timeout_zero_sleep_zero
      it('test_timeout_zero_sleep_zero: timeout(0) around sleep(0) still times out', async () => {
        const r = await runOn(kind, function* () {
          const cm = timeout(0);
          const name = yield* outcomeOf(() => cm.run(() => sleep(0)));
          return { name, expired: cm.expired };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', expired: true });
      });

      // test_timeouts.py: TimeoutTests.test_timeout_in_the_past_sleep_zero
      it('test_timeout_in_the_past_sleep_zero: a deadline in the past around yieldNow() times out', async () => {
        const r = await runOn(kind, function* () {
          yield* sleep(20);
          const cm = timeoutAt(now() - 11);
          const name = yield* outcomeOf(() => cm.run(() => yieldNow()));
          return { name, expired: cm.expired, past: cm.deadline <= now() };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', expired: true, past: true });
      });

      // test_timeouts.py: TimeoutTests.test_foreign_exception_passed
      it('test_foreign_exception_passed: an error from the body passes through; the scope did not expire', async () => {
        const r = await runOn(kind, function* () {
          const cm = timeout(10);
          const name = yield* outcomeOf(() => cm.run(function* () { throw new MyError('key'); }));
          return { name, expired: cm.expired };
        }, virtual);
        expect(r).toEqual({ name: 'MyError', expired: false });
      });

      // test_timeouts.py: TimeoutTests.test_foreign_exception_on_timeout
      it('test_foreign_exception_on_timeout: an error thrown by the body\'s cleanup replaces the timeout', async () => {
        const name = await runOn(kind, function* () {
          return yield* outcomeOf(() => withTimeout(10, function* () {
            try { yield* sleep(1000); } finally { throw new RangeError('zero'); }
          }));
        }, virtual);
        expect(name).toBe('RangeError');
      });

      // test_timeouts.py: TimeoutTests.test_foreign_cancel_doesnt_timeout_if_not_expired
      it('test_foreign_cancel_doesnt_timeout_if_not_expired: a cancel inside a timeout stays a cancel', async () => {
        const r = await runOn(kind, function* () {
          let expired: boolean | undefined;
          const t = spawn(function* () {
            const cm = timeout(10_000);
            try {
              yield* cm.run(function* () {
                currentTask().cancel();
                yield* sleep(10_000);
              });
            } finally {
              expired = cm.expired;
            }
          });
          return { name: yield* joinName(t), expired };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', expired: false });
      });

      // test_timeouts.py: TimeoutTests.test_outer_task_is_not_cancelled
      it('test_outer_task_is_not_cancelled: a task whose timeout expired ends normally, not cancelled', async () => {
        const r = await runOn(kind, function* () {
          const t = spawn(function* () {
            expect(yield* outcomeOf(() => withTimeout(1, () => sleep(10_000)))).toBe('TimeoutError');
          });
          yield* t;
          return { cancelled: t.cancelled(), done: t.done };
        }, virtual);
        expect(r).toEqual({ cancelled: false, done: true });
      });

      // test_timeouts.py: TimeoutTests.test_nested_timeouts_loop_busy
      it('test_nested_timeouts_loop_busy: after the inner timeout is handled, the outer one still fires', async () => {
        const r = await runOn(kind, function* () {
          const inner = { name: '' };
          const name = yield* outcomeOf(() => withTimeout(100, function* () {
            inner.name = yield* outcomeOf(() => withTimeout(10, () => sleep(1000)));
            yield* sleep(10_000);  // interrupted by the outer timeout
          }));
          return { name, inner: inner.name, at: now() };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', inner: 'TimeoutError', at: 100 });
      });

      // test_timeouts.py: TimeoutTests.test_reschedule
      it('test_reschedule: the deadline moves from outside the task, then is removed; a cancel is not a timeout', async () => {
        const r = await runOn(kind, function* () {
          const deadline1 = now() + 10_000;
          const deadline2 = deadline1 + 20_000;
          const cm = timeoutAt(deadline1);
          const started = new Event();
          const t = spawn(function* () {
            yield* cm.run(function* () {
              started.set();
              yield* sleep(50_000);
            });
          });
          yield* started.wait();
          const seen = [cm.deadline === deadline1];
          cm.reschedule(deadline2);
          seen.push(cm.deadline === deadline2);
          cm.reschedule(Infinity);
          seen.push(cm.deadline === Infinity);
          t.cancel();
          return { seen, name: yield* joinName(t), expired: cm.expired };
        }, virtual);
        expect(r).toEqual({ seen: [true, true, true], name: 'CancelledError', expired: false });
      });

      // test_timeouts.py: TimeoutTests.test_nested_timeout_in_finally
      it('test_nested_timeout_in_finally: a timeout inside the finally of an expired body works on its own', async () => {
        const r = await runOn(kind, function* () {
          let innerName = '';
          const name = yield* outcomeOf(() => withTimeout(10, function* () {
            try {
              yield* sleep(1000);
            } finally {
              innerName = yield* outcomeOf(() => withTimeout(10, () => sleep(10_000)));
            }
          }));
          return { name, innerName, at: now() };
        }, virtual);
        expect(r).toEqual({ name: 'TimeoutError', innerName: 'TimeoutError', at: 20 });
      });

      // test_timeouts.py: TimeoutTests.test_timeout_after_cancellation
      it('test_timeout_after_cancellation: after a swallowed self-cancel, timeout(0) in finally still times out', async () => {
        const name = await runOn(kind, function* () {
          let name = '';
          try {
            currentTask().cancel();
            yield* sleep(1000);
          } catch {
            /* swallowed */
          } finally {
            name = yield* outcomeOf(() => withTimeout(0, () => sleep(1000)));
          }
          return name;
        }, virtual);
        expect(name).toBe('TimeoutError');
      });

      // test_timeouts.py: TimeoutTests.test_cancel_in_timeout_after_cancellation
      it('test_cancel_in_timeout_after_cancellation: a second cancel inside a timeout is a cancel, not a timeout', async () => {
        const name = await runOn(kind, function* () {
          let name = '';
          try {
            currentTask().cancel();
            yield* sleep(1000);
          } catch {
            /* swallowed */
          } finally {
            name = yield* outcomeOf(() => withTimeout(1000, function* () {
              currentTask().cancel();
              yield* sleep(2000);
            }));
          }
          return name;
        }, virtual);
        expect(name).toBe('CancelledError');
      });

      // test_timeouts.py: TimeoutTests.test_timeout_already_entered and test_timeout_double_enter
      it('test_timeout_double_enter: a timeout scope can be entered once', async () => {
        const r = await runOn(kind, function* () {
          const cm = timeout(10);
          yield* cm.run(() => yieldNow());
          return yield* outcomeOf(() => cm.run(() => yieldNow()));
        }, virtual);
        expect(r).toBe('CorioError');
      });

      // test_timeouts.py: TimeoutTests.test_timeout_finished and test_timeout_not_entered
      it('test_timeout_finished/not_entered: reschedule() before entry or after the end is an error', async () => {
        const r = await runOn(kind, function* () {
          const cm = timeout(10);
          const before = caught(() => cm.reschedule(now() + 20));
          yield* cm.run(() => yieldNow());
          const after = caught(() => cm.reschedule(now() + 20));
          return [before.code, /not been entered/.test(before.message), after.code, /ended/.test(after.message)];
        }, virtual);
        expect(r).toEqual(['ERR_CORIO_TIMEOUT_STATE', true, 'ERR_CORIO_TIMEOUT_STATE', true]);
      });
    });

    describe('test_tasks.py', () => {
      // test_tasks.py: BaseTaskTests.test_cancel
      it('test_cancel: a sleeping task is cancelled; cancel() of a finished task returns false', async () => {
        const r = await runOn(kind, function* () {
          const t = spawn(function* () { yield* sleep(10_000); return 12; });
          yield* yieldNow();
          t.cancel();
          return { name: yield* joinName(t), done: t.done, cancelled: t.cancelled(), again: t.cancel() };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', done: true, cancelled: true, again: false });
      });

      // test_tasks.py: BaseTaskTests.test_cancel_yield
      it('test_cancel_yield: a task that only yields is cancelled at its next yield', async () => {
        const r = await runOn(kind, function* () {
          const t = spawn(function* () { yield* yieldNow(); yield* yieldNow(); return 12; });
          yield* yieldNow();  // start it
          t.cancel();
          return { name: yield* joinName(t), cancelled: t.cancelled(), again: t.cancel() };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', cancelled: true, again: false });
      });

      // test_tasks.py: BaseTaskTests.test_cancel_task_catching
      it('test_cancel_task_catching: a task that catches its cancellation may return a value', async () => {
        const r = await runOn(kind, function* () {
          const fut1 = new Event();
          const fut2 = new Event();
          const t = spawn(function* () {
            yield* fut1.wait();
            try { yield* fut2.wait(); } catch (e) { if (e instanceof CancelledError) return 42; }
            return 0;
          });
          yield* yieldNow();
          fut1.set();
          yield* yieldNow();
          yield* yieldNow();
          t.cancel();
          return { value: yield* t, cancelled: t.cancelled() };
        }, virtual);
        expect(r).toEqual({ value: 42, cancelled: false });
      });

      // test_tasks.py: BaseTaskTests.test_cancel_task_ignoring
      it('test_cancel_task_ignoring: a task that ignores its cancellation goes on to its next wait', async () => {
        const r = await runOn(kind, function* () {
          const fut1 = new Event();
          const fut2 = new Event();
          let fut3Value = 0;
          const fut3 = new Event();
          const t = spawn(function* () {
            yield* fut1.wait();
            try { yield* fut2.wait(); } catch { /* ignored */ }
            yield* fut3.wait();
            return fut3Value;
          });
          yield* yieldNow();
          fut1.set();
          yield* yieldNow();
          yield* yieldNow();
          t.cancel();
          yield* yieldNow();
          yield* yieldNow();
          fut3Value = 42;
          fut3.set();
          return { value: yield* t, cancelled: t.cancelled() };
        }, virtual);
        expect(r).toEqual({ value: 42, cancelled: false });
      });

      // test_tasks.py: BaseTaskTests.test_cancel_current_task
      it('test_cancel_current_task: a task that cancels itself is cancelled at its next wait', async () => {
        const r = await runOn(kind, function* () {
          const t = spawn(function* () {
            currentTask().cancel();
            yield* sleep(100_000);
            return 12;
          });
          return { name: yield* joinName(t), cancelled: t.cancelled(), again: t.cancel(), at: now() };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', cancelled: true, again: false, at: 0 });
      });

      // test_tasks.py: BaseTaskTests.test_cancel_at_end
      // Differs from asyncio (the task ends cancelled, its 12 dropped): corio delivers a cancellation only at a
      // yield*, and a task that returns without one keeps its value (trio's rule) — a returned handle is not
      // leaked.
      it('test_cancel_at_end: a task cancelled right before it returns keeps its value (trio\'s rule)', async () => {
        const r = await runOn(kind, function* () {
          const t = spawn(function* () {
            currentTask().cancel();
            return 12;
          });
          return { value: yield* t, cancelled: t.cancelled(), again: t.cancel() };
        }, virtual);
        expect(r).toEqual({ value: 12, cancelled: false, again: false });
      });

      // test_tasks.py: BaseTaskTests.test_cancel_awaited_task
      // Differs from asyncio (the joined task is cancelled too): in corio, cancelling a joiner never cancels
      // the task it joins — a task may have several joiners, and joining is only waiting.
      it('test_cancel_awaited_task: a self-cancelled task that joins another is cancelled; the other is not', async () => {
        const r = await runOn(kind, function* () {
          const fut = new Event();
          let nested!: Task<void>;
          const task = spawn(function* () {
            nested = spawn(() => fut.wait());
            yield* yieldNow();
            currentTask().cancel();
            yield* nested;
          });
          const taskName = yield* joinName(task);
          const nestedDone = nested.done;
          fut.set();
          yield* nested;
          return { taskName, cancelled: task.cancelled(), nestedDone, nestedCancelled: nested.cancelled() };
        }, virtual);
        expect(r).toEqual({ taskName: 'CancelledError', cancelled: true, nestedDone: false, nestedCancelled: false });
      });

      // test_tasks.py: BaseTaskTests.test_cancelling
      it('test_cancelling: cancelling() is truthy once cancel() was called, and a second cancel() returns true', async () => {
        const r = await runOn(kind, function* () {
          const t = spawn(() => sleep(10_000));
          const before = t.cancelling();
          const first = t.cancel();
          const during = t.cancelling();
          const second = t.cancel();
          return { before, first, during, second, name: yield* joinName(t) };
        }, virtual);
        expect(r).toEqual({ before: 0, first: true, during: 1, second: true, name: 'CancelledError' });
      });

      // test_tasks.py: BaseTaskTests.test_uncancel_basic
      it('test_uncancel_basic: a task that uncancels itself goes on; the next cancel() ends it', async () => {
        const r = await runOn(kind, function* () {
          const counts: number[] = [];
          const t = spawn(function* () {
            try {
              yield* sleep(10_000);
            } catch {
              counts.push(currentTask().uncancel());
              yield* sleep(10_000);
            }
          });
          yield* sleep(10);
          t.cancel();
          counts.push(t.cancelling());
          yield* sleep(10);
          counts.push(t.cancelling());
          const doneBetween = t.done;
          t.cancel();
          counts.push(t.cancelling());
          const name = yield* joinName(t);
          t.uncancel();  // no effect on a finished task
          return { counts, doneBetween, name, cancelled: t.cancelled() };
        }, virtual);
        expect(r).toEqual({ counts: [1, 0, 0, 1], doneBetween: false, name: 'CancelledError', cancelled: true });
      });

      // test_tasks.py: BaseTaskTests.test_shield_effect (and test_shield_cancel_outer)
      // Differs from asyncio, where the awaiting task gets CancelledError at once while the shielded work goes
      // on in another task: corio's shield runs in the same task, so the cancellation waits for it to finish.
      it('test_shield_effect: shielded work completes; the cancellation arrives right after it', async () => {
        const r = await runOn(kind, function* () {
          const log: string[] = [];
          const t = spawn(function* () {
            yield* shield(function* () { yield* sleep(100); log.push('inner done'); });
            log.push('after shield');
            yield* sleep(1);
          });
          yield* sleep(10);
          t.cancel();
          return { name: yield* joinName(t), log, at: now() };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', log: ['inner done', 'after shield'], at: 100 });
      });
    });

    describe('test_locks.py', () => {
      // test_locks.py: LockTests.test_lock
      it('LockTests.test_lock: acquire holds it, release frees it', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          yield* lock.acquire();
          const held = lock.locked();
          lock.release();
          return [held, lock.locked()];
        }, virtual);
        expect(r).toEqual([true, false]);
      });

      // test_locks.py: LockTests.test_acquire
      it('LockTests.test_acquire: waiters get the lock in the order they asked', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          const result: number[] = [];
          yield* lock.acquire();
          const tasks = [1, 2, 3].map((n) => spawn(function* () {
            yield* lock.acquire();
            result.push(n);
            lock.release();
          }));
          yield* yieldNow();
          const before = [...result];
          lock.release();
          for (const t of tasks) yield* t;
          return { before, result };
        }, virtual);
        expect(r).toEqual({ before: [], result: [1, 2, 3] });
      });

      // test_locks.py: LockTests.test_acquire_cancel
      it('LockTests.test_acquire_cancel: a waiter cancelled in line leaves the line', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          yield* lock.acquire();
          const t = spawn(() => lock.acquire());
          yield* yieldNow();
          t.cancel();
          const name = yield* joinName(t);
          lock.release();
          return { name, free: !lock.locked() };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', free: true });
      });

      // test_locks.py: LockTests.test_cancel_race
      it('LockTests.test_cancel_race: releasing with the first waiter cancelled hands the lock to the next', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          yield* lock.acquire();
          const order: string[] = [];
          const mk = (n: string) => spawn(function* () { yield* lock.acquire(); order.push(n); lock.release(); });
          const ta = mk('a');
          const tb = mk('b');
          const tc = mk('c');
          yield* yieldNow();
          ta.cancel();
          lock.release();
          const na = yield* joinName(ta);
          yield* tb;
          yield* tc;
          return { na, order };
        }, virtual);
        expect(r).toEqual({ na: 'CancelledError', order: ['b', 'c'] });
      });

      // test_locks.py: LockTests.test_release_not_acquired
      it('LockTests.test_release_not_acquired: releasing an unlocked lock throws', async () => {
        const code = await runOn(kind, function* () {
          return caught(() => new Lock().release()).code;
        }, virtual);
        expect(code).toBe('ERR_CORIO_LOCK');
      });

      // test_locks.py: LockTests.test_context_manager
      it('LockTests.test_context_manager: with() holds the lock for the body and releases it after', async () => {
        const r = await runOn(kind, function* () {
          const lock = new Lock();
          const inside = yield* lock.with(function* () { yield* yieldNow(); return lock.locked(); });
          return [inside, lock.locked()];
        }, virtual);
        expect(r).toEqual([true, false]);
      });

      // test_locks.py: EventTests.test_wait
      it('EventTests.test_wait: set() wakes every waiter, in order', async () => {
        const r = await runOn(kind, function* () {
          const ev = new Event();
          const result: number[] = [];
          const tasks = [1, 2, 3].map((n) => spawn(function* () { yield* ev.wait(); result.push(n); }));
          yield* yieldNow();
          const before = [...result];
          ev.set();
          for (const t of tasks) yield* t;
          return { before, result };
        }, virtual);
        expect(r).toEqual({ before: [], result: [1, 2, 3] });
      });

      // test_locks.py: EventTests.test_wait_on_set
      it('EventTests.test_wait_on_set: waiting on a set event returns at once', async () => {
        const at = await runOn(kind, function* () {
          const ev = new Event();
          ev.set();
          yield* ev.wait();
          return now();
        }, virtual);
        expect(at).toBe(0);
      });

      // test_locks.py: EventTests.test_wait_cancel
      it('EventTests.test_wait_cancel: a cancelled waiter leaves; set() afterwards wakes nobody else', async () => {
        const r = await runOn(kind, function* () {
          const ev = new Event();
          const t = spawn(() => ev.wait());
          yield* yieldNow();
          t.cancel();
          const name = yield* joinName(t);
          ev.set();
          return name;
        }, virtual);
        expect(r).toBe('CancelledError');
      });

      // test_locks.py: EventTests.test_clear
      it('EventTests.test_clear: clear() unsets the flag', async () => {
        const r = await runOn(kind, function* () {
          const ev = new Event();
          ev.set();
          const set = ev.isSet();
          ev.clear();
          return [set, ev.isSet()];
        }, virtual);
        expect(r).toEqual([true, false]);
      });

      // test_locks.py: ConditionTests.test_wait
      it('ConditionTests.test_wait: notify(1) and notify(2) wake waiters in order, each holding the lock', async () => {
        const r = await runOn(kind, function* () {
          const cond = new Condition();
          const result: number[] = [];
          const tasks = [1, 2, 3].map((n) => spawn(function* () {
            yield* cond.lock.acquire();
            yield* cond.wait();
            result.push(n);
            cond.lock.release();
          }));
          yield* yieldNow();
          yield* cond.lock.acquire();
          cond.notify(1);
          cond.lock.release();
          yield* yieldNow();
          yield* yieldNow();
          const afterOne = [...result];
          yield* cond.lock.acquire();
          cond.notify(2);
          cond.lock.release();
          for (const t of tasks) yield* t;
          return { afterOne, result };
        }, virtual);
        expect(r).toEqual({ afterOne: [1], result: [1, 2, 3] });
      });

      // test_locks.py: ConditionTests.test_wait_cancel
      it('ConditionTests.test_wait_cancel: a waiter cancelled in wait() holds the lock again when it sees the error', async () => {
        const r = await runOn(kind, function* () {
          const cond = new Condition();
          let heldInCatch = false;
          const t = spawn(function* () {
            yield* cond.lock.acquire();
            try { yield* cond.wait(); } catch (e) { heldInCatch = cond.lock.locked(); throw e; } finally { cond.lock.release(); }
          });
          yield* yieldNow();
          t.cancel();
          return { name: yield* joinName(t), heldInCatch, free: !cond.lock.locked() };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', heldInCatch: true, free: true });
      });

      // test_locks.py: ConditionTests.test_wait_unacquired, test_notify_unacquired, test_notify_all_unacquired
      it('ConditionTests.test_*_unacquired: wait, notify and notifyAll need the lock held', async () => {
        const r = await runOn(kind, function* () {
          const cond = new Condition();
          const waitName = yield* outcomeOf(() => cond.wait());
          return [waitName, caught(() => cond.notify()).code, caught(() => cond.notifyAll()).code];
        }, virtual);
        expect(r).toEqual(['CorioError', 'ERR_CORIO_LOCK', 'ERR_CORIO_LOCK']);
      });

      // test_locks.py: ConditionTests.test_wait_for
      it('ConditionTests.test_wait_for: waitFor re-checks after each notify and returns the predicate\'s value', async () => {
        const r = await runOn(kind, function* () {
          const cond = new Condition();
          let presult: string | false = false;
          let checks = 0;
          const t = spawn(function* () {
            yield* cond.lock.acquire();
            const v = yield* cond.waitFor(() => { checks++; return presult; });
            cond.lock.release();
            return v;
          });
          yield* yieldNow();
          yield* cond.lock.acquire();
          cond.notify();
          cond.lock.release();
          yield* yieldNow();
          yield* yieldNow();
          presult = 'ready';
          yield* cond.lock.acquire();
          cond.notify();
          cond.lock.release();
          return { value: yield* t, checks };
        }, virtual);
        expect(r).toEqual({ value: 'ready', checks: 3 });
      });

      // test_locks.py: SemaphoreTests.test_acquire
      it('SemaphoreTests.test_acquire: permits go to waiters in order; tryAcquire never barges', async () => {
        const r = await runOn(kind, function* () {
          const sem = new Semaphore(3);
          const result: number[] = [];
          for (let i = 0; i < 3; i++) yield* sem.acquire();
          const tasks = [1, 2, 3].map((n) => spawn(function* () { yield* sem.acquire(); result.push(n); }));
          yield* yieldNow();
          const locked = sem.locked();
          sem.release();
          const barged = sem.tryAcquire();  // the permit is already handed to waiter 1
          sem.release();
          yield* tasks[0];
          yield* tasks[1];
          sem.release();
          yield* tasks[2];
          return { locked, barged, result };
        }, virtual);
        expect(r).toEqual({ locked: true, barged: false, result: [1, 2, 3] });
      });

      // test_locks.py: SemaphoreTests.test_acquire_cancel
      it('SemaphoreTests.test_acquire_cancel: a cancelled waiter leaves without taking a permit', async () => {
        const r = await runOn(kind, function* () {
          const sem = new Semaphore(0);
          const t = spawn(() => sem.acquire());
          yield* yieldNow();
          t.cancel();
          const name = yield* joinName(t);
          sem.release();
          return { name, available: sem.available };
        }, virtual);
        expect(r).toEqual({ name: 'CancelledError', available: 1 });
      });

      // test_locks.py: SemaphoreTests.test_release_not_acquired (BoundedSemaphore)
      it('SemaphoreTests.test_release_not_acquired: a BoundedSemaphore refuses a release it did not give', async () => {
        const code = await runOn(kind, function* () {
          const sem = new BoundedSemaphore(1);
          yield* sem.acquire();
          sem.release();
          return caught(() => sem.release()).code;
        }, virtual);
        expect(code).toBe('ERR_CORIO_SEMAPHORE');
      });

      // test_locks.py: BarrierTests.test_filling_tasks_cancel_one
      // Differs from asyncio (the cancelled party just leaves and a newcomer can take its place): in corio a
      // party cancelled while waiting breaks the barrier, so the others fail at once instead of waiting for a
      // party that may never come.
      it('BarrierTests.test_filling_tasks_cancel_one: a cancelled party breaks the barrier for the others', async () => {
        const r = await runOn(kind, function* () {
          const barrier = new Barrier(3);
          const t1 = spawn(() => barrier.wait());
          const t2 = spawn(() => barrier.wait());
          yield* yieldNow();
          const waiting = barrier.waiting;
          t1.cancel();
          return { waiting, n1: yield* joinName(t1), n2: yield* joinName(t2), broken: barrier.broken };
        }, virtual);
        expect(r).toEqual({ waiting: 2, n1: 'CancelledError', n2: 'BrokenBarrierError', broken: true });
      });

      // test_locks.py: BarrierTests.test_reset_barrier
      it('BarrierTests.test_reset_barrier: reset() fails the waiters and leaves the barrier unbroken', async () => {
        const r = await runOn(kind, function* () {
          const barrier = new Barrier(4);
          const tasks = [1, 2, 3].map(() => spawn(() => barrier.wait()));
          yield* yieldNow();
          barrier.reset();
          const names: string[] = [];
          for (const t of tasks) names.push(yield* joinName(t));
          return { names, waiting: barrier.waiting, broken: barrier.broken };
        }, virtual);
        expect(r).toEqual({ names: ['BrokenBarrierError', 'BrokenBarrierError', 'BrokenBarrierError'], waiting: 0, broken: false });
      });

      // test_locks.py: BarrierTests.test_reset_barrier_while_tasks_waiting_and_waiting_again
      it('BarrierTests.test_reset_barrier_while_tasks_waiting_and_waiting_again: the round after reset() completes', async () => {
        const r = await runOn(kind, function* () {
          const n = 4;
          const barrier = new Barrier(n);
          const results1: boolean[] = [];
          const results2: boolean[] = [];
          const tasks = Array.from({ length: n - 1 }, () => spawn(function* () {
            try {
              yield* barrier.wait();
            } catch (e) {
              results1.push(e instanceof BrokenBarrierError);
            } finally {
              yield* barrier.wait();
              results2.push(true);
            }
          }));
          yield* yieldNow();
          barrier.reset();
          yield* yieldNow();
          const last = spawn(function* () { yield* barrier.wait(); results2.push(true); });
          for (const t of [...tasks, last]) yield* t;
          return { results1, results2: results2.length, broken: barrier.broken, waiting: barrier.waiting };
        }, virtual);
        expect(r).toEqual({ results1: [true, true, true], results2: 4, broken: false, waiting: 0 });
      });

      // test_locks.py: BarrierTests.test_abort_barrier_when_exception_then_resetting
      it('BarrierTests.test_abort_barrier_when_exception_then_resetting: abort, resynchronise, reset, pass again', async () => {
        const r = await runOn(kind, function* () {
          const n = 5;
          const barrier1 = new Barrier(n);
          const barrier2 = new Barrier(n);
          const results = { r1: 0, r2: 0, r3: 0 };
          yield* taskGroup(function* (g) {
            for (let k = 0; k < n; k++) g.spawn(function* () {
              try {
                const i = yield* barrier1.wait();
                if (i === Math.floor(n / 2)) throw new MyError('runtime');
                yield* barrier1.wait();
                results.r1++;
              } catch (e) {
                if (e instanceof BrokenBarrierError) results.r2++;
                else barrier1.abort();
              }
              const i = yield* barrier2.wait();
              if (i === Math.floor(n / 2)) barrier1.reset();
              yield* barrier2.wait();
              yield* barrier1.wait();
              results.r3++;
            });
          });
          return { ...results, broken: barrier1.broken };
        }, virtual);
        expect(r).toEqual({ r1: 0, r2: 4, r3: 5, broken: false });
      });

      // test_locks.py: BarrierTests.test_barrier_parties
      it('BarrierTests.test_barrier_parties: a barrier needs at least one party', () => {
        expect(caught(() => new Barrier(0))).toBeInstanceOf(RangeError);
        expect(new Barrier(3).parties).toBe(3);
      });
    });

    describe('test_queues.py', () => {
      // test_queues.py: QueueBasicTests.test_order, LifoQueueTests.test_order, PriorityQueueTests.test_order
      it('test_order: FIFO, LIFO and priority order', async () => {
        const r = await runOn(kind, function* () {
          const out = (q: Queue<number>) => { for (const i of [1, 3, 2]) q.putNowait(i); return [q.getNowait(), q.getNowait(), q.getNowait()]; };
          return [out(new Queue()), out(new LifoQueue()), out(new PriorityQueue())];
        }, virtual);
        expect(r).toEqual([[1, 3, 2], [2, 3, 1], [1, 2, 3]]);
      });

      // test_queues.py: QueueBasicTests.test_maxsize
      it('test_maxsize: a producer waits while the queue is full', async () => {
        const r = await runOn(kind, function* () {
          const q = new Queue<number>(2);
          const have: number[] = [];
          const putter = spawn(function* () {
            for (let i = 0; i < 3; i++) { yield* q.put(i); have.push(i); }
          });
          yield* yieldNow();
          yield* yieldNow();
          const whileFull = [...have];
          q.getNowait();
          yield* putter;
          return { whileFull, have, full: q.full() };
        }, virtual);
        expect(r).toEqual({ whileFull: [0, 1], have: [0, 1, 2], full: true });
      });

      // test_queues.py: QueueGetTests.test_nonblocking_get_exception, QueuePutTests.test_nonblocking_put_exception
      it('test_nonblocking_*_exception: getNowait on empty and putNowait on full throw', async () => {
        const r = await runOn(kind, function* () {
          const q = new Queue<number>(1);
          const empty = caught(() => q.getNowait());
          q.putNowait(1);
          const full = caught(() => q.putNowait(2));
          return [empty instanceof QueueEmpty, full instanceof QueueFull];
        }, virtual);
        expect(r).toEqual([true, true]);
      });

      // test_queues.py: QueueGetTests.test_get_cancelled_race
      it('test_get_cancelled_race: an item put after one getter was cancelled goes to the next getter', async () => {
        const r = await runOn(kind, function* () {
          const q = new Queue<string>();
          const t1 = spawn(() => q.get());
          const t2 = spawn(() => q.get());
          yield* yieldNow();
          t1.cancel();
          q.putNowait('a');
          return { n1: yield* joinName(t1), v2: yield* t2, left: q.size };
        }, virtual);
        expect(r).toEqual({ n1: 'CancelledError', v2: 'a', left: 0 });
      });

      // test_queues.py: _QueueJoinTestMixin.test_task_done_underflow and test_join_empty_queue
      it('test_task_done_underflow / test_join_empty_queue: taskDone() without an item throws; join() on empty returns', async () => {
        const r = await runOn(kind, function* () {
          const q = new Queue<number>();
          const code = caught(() => q.taskDone()).code;
          yield* q.join();
          return { code, at: now() };
        }, virtual);
        expect(r).toEqual({ code: 'ERR_CORIO_QUEUE', at: 0 });
      });

      // test_queues.py: _QueueJoinTestMixin.test_task_done
      it('test_task_done: join() waits until every item is marked done', async () => {
        const r = await runOn(kind, function* () {
          const q = new Queue<number>();
          let sum = 0;
          for (let i = 0; i < 100; i++) q.putNowait(i);
          const workers = [0, 1].map(() => spawn(function* () {
            for (;;) { const item = yield* q.get(); sum += item; q.taskDone(); }
          }));
          yield* q.join();
          for (const w of workers) w.cancel();
          return sum;
        }, virtual);
        expect(r).toBe(4950);
      });

      // test_queues.py: _QueueShutdownTestMixin.test_shutdown_nonempty / test_shutdown_immediate
      it('test_shutdown_*: getters drain then fail; shutdown(true) discards what is left', async () => {
        const r = await runOn(kind, function* () {
          const q = new Queue<number>();
          q.putNowait(1);
          q.shutdown();
          const drained = q.getNowait();
          const after = yield* outcomeOf(() => q.get());
          const q2 = new Queue<number>();
          q2.putNowait(1);
          q2.shutdown(true);
          return { drained, after, immediate: caught(() => q2.getNowait()) instanceof QueueShutDown };
        }, virtual);
        expect(r).toEqual({ drained: 1, after: 'QueueShutDown', immediate: true });
      });
    });

    describe('test_runners.py', () => {
      // test_runners.py: RunTests.test_asyncio_run_return and test_asyncio_run_raises
      it('test_asyncio_run_return / _raises: run() returns main\'s value or throws its error', async () => {
        expect(run(function* () { yield* yieldNow(); return 42; }, virtual)).toBe(42);
        expect((await rejected(runOn(kind, function* () { yield* yieldNow(); throw new MyError('spam'); }, virtual))).message).toBe('spam');
      });

      // test_runners.py: RunTests.test_asyncio_run_only_coro
      it('test_asyncio_run_only_coro: run() refuses what is not a generator function or operation', () => {
        expect(caught(() => run(123 as never, virtual))).toBeInstanceOf(TypeError);
        expect(caught(() => run((async () => 1) as never, virtual))).toBeInstanceOf(TypeError);
      });

      // test_runners.py: RunTests.test_asyncio_run_from_running_loop
      it('test_asyncio_run_from_running_loop: run() inside a running loop is an error', async () => {
        const code = await runOn(kind, function* () {
          return caught(() => run(function* () {}, virtual)).code;
        }, virtual);
        expect(code).toBe('ERR_CORIO_NESTED_RUN');
      });

      // test_runners.py: RunTests.test_asyncio_run_cancel_hang
      it('test_asyncio_run_cancel_hang: tasks left over when main returns are cancelled; run() returns', async () => {
        let leftoverCancelled = false;
        const value = await runOn(kind, function* () {
          spawn(function* () {
            try { yield* sleep(100_000); } catch (e) { leftoverCancelled = e instanceof CancelledError; throw e; }
          });
          yield* yieldNow();
          return 123;
        }, virtual);
        expect({ value, leftoverCancelled }).toEqual({ value: 123, leftoverCancelled: true });
      });

      // test_runners.py: RunTests.test_asyncio_run_reports_hanging_tasks_errors
      it('test_asyncio_run_reports_hanging_tasks_errors: a leftover task failing while cancelled is reported', async () => {
        const err = await rejected(runOn(kind, function* () {
          spawn(function* () {
            try { yield* sleep(100_000); } finally { throw new MyError('boom'); }
          }, { name: 'leftover' });
          yield* yieldNow();
          return 1;
        }, virtual));
        expect(err).toBeInstanceOf(UnobservedErrors);
        expect(err.message).toContain("'leftover' (MyError: boom)");
      });
    });
  });
}

// Typed checks that need no loop: CorioError and AbandonedLockError are exported for callers to test against.
describe('exports', () => {
  it('AbandonedLockError is a CorioError with its own code', () => {
    const e = new AbandonedLockError('x');
    expect([e instanceof CorioError, e.code, e.owner]).toEqual([true, 'ERR_CORIO_LOCK_ABANDONED', 'x']);
    expect(TimeoutError.name).toBe('TimeoutError');
  });
});
