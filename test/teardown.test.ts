// Teardown: main returns while other tasks wait on something that will never happen (an Event nobody sets, an
// empty Queue, a Lock main still holds, a suspend() nobody resumes, a join of such a task, a task group whose
// children wait so). run() must cancel each of them, run their finally blocks (which may still yield), and
// return main's value: no hang, no DeadlockError, on every cell of the loop matrix (start() too: its teardown
// cancels again when nothing, not even an until() Promise, can make progress). The timer cases are in loop.test.ts
// ('tasks still running when main returns are cancelled…') and ported-asyncio.test.ts
// (test_asyncio_run_cancel_hang); these are waits with no timer, where only the cancel can end them.
import { describe, expect, it } from 'vitest';
import { CancelledError, Event, Lock, Queue, sleep, spawn, suspend, taskGroup, yieldNow, type Operation } from '../src/index.js';
import { backendOptions, loopMatrix, loopTitle, runOn } from './helpers.js';


for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    const options = backendOptions(b);

    it('tasks waiting forever when main returns are cancelled, run their finally (which yields), and run() returns', async () => {
      const log: string[] = [];
      /** Waits on `op` forever; records how it ended and that its finally ran, after a real sleep. */
      function* waiter(name: string, op: () => Operation<unknown>): Operation<void> {
        try {
          yield* op();
          log.push(`${name}: woke`);
        } catch (e) {
          log.push(`${name}: ${e instanceof CancelledError ? 'cancelled' : (e as Error).name}`);
          throw e;
        } finally {
          yield* sleep(1);
          log.push(`${name}: finally`);
        }
      }
      const event = new Event();
      const queue = new Queue<number>();
      const lock = new Lock();
      const value = await runOn(kind, function* () {
        // A leftover task holds the lock and waits forever, so the acquirer below waits forever too (were main
        // the holder, its end would fail the acquirer with AbandonedLockError before any teardown).
        spawn(() => lock.with(() => waiter('holder', () => event.wait())));
        yield* yieldNow();
        const never = spawn(() => waiter('suspend', () => suspend<void>('never resumed', () => {})));
        spawn(() => waiter('event', () => event.wait()));
        spawn(() => waiter('queue', () => queue.get()));
        spawn(() => waiter('lock', () => lock.acquire()));
        spawn(() => waiter('join', () => never));
        spawn(() => waiter('group', () => taskGroup(function* (g) {
          g.spawn(() => waiter('group child', () => event.wait()));
          yield* event.wait();
        })));
        yield* yieldNow();
        yield* yieldNow();
        return 'main done';
      }, options);
      expect(value).toBe('main done');
      const names = ['holder', 'suspend', 'event', 'queue', 'lock', 'join', 'group', 'group child'];
      for (const name of names) {
        expect(log, name).toContain(`${name}: cancelled`);
        expect(log, name).toContain(`${name}: finally`);
      }
      expect(log.filter((l) => l.endsWith('woke'))).toEqual([]);
      expect(log).toHaveLength(2 * names.length);
    });

    it('a leftover task whose finally itself waits forever is cancelled again there, and run() still returns', async () => {
      // Before the shutdown re-delivered a cancel when nothing could progress, this run() threw DeadlockError.
      const log: string[] = [];
      const event = new Event();
      const value = await runOn(kind, function* () {
        spawn(function* () {
          try {
            yield* event.wait();
          } finally {
            log.push('finally');
            try {
              yield* event.wait();  // waits forever in its cleanup: shutdown must re-deliver the cancel
            } catch (e) {
              log.push(e instanceof CancelledError ? 'cancelled in finally' : String(e));
              throw e;
            }
          }
        });
        yield* yieldNow();
        return 7;
      }, options);
      expect({ value, log }).toEqual({ value: 7, log: ['finally', 'cancelled in finally'] });
    });

    it('a leftover task that catches every cancel in its cleanup and waits again ends in DeadlockError, not a hang', async () => {
      const event = new Event();
      let caughtCancels = 0;
      const err = await (async () => {
        try {
          await runOn(kind, function* () {
            spawn(function* () {
              try {
                yield* event.wait();
              } finally {
                for (;;) {
                  try { yield* event.wait(); } catch { caughtCancels++; }
                }
              }
            }, { name: 'obstinate' });
            yield* yieldNow();
          }, options);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(err?.name).toBe('DeadlockError');
      expect(err?.message).toContain("'obstinate' waiting on Event.wait()");
      expect(caughtCancels).toBeGreaterThanOrEqual(100);
    });
  });
}
