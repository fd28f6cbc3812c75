// Task groups and combinators: failures cancel siblings and come back as one aggregate, cancellations are not
// failures, the parent's cancellation reaches the children, and race/first/all/allSettled/asCompleted.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TaskGroupError,
  all,
  allSettled,
  asCompleted,
  first,
  now,
  open,
  race,
  run,
  sleep,
  spawn,
  taskGroup,
  yieldNow,
} from '../src/index.js';
import { fileTarget, loopMatrix, loopTitle, runOn } from './helpers.js';

const value = <T>(ms: number, v: T) => function* () {
  yield* sleep(ms);
  return v;
};
const failing = (ms: number, message: string) => function* (): Generator<never, never, unknown> {
  yield* sleep(ms) as never;
  throw new Error(message);
};

// Every case on every cell of test/helpers.ts loopMatrix: run() and the hosted start() on each native
// backend, and run() on the simulation.
for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    // On the simulation, files live in its own file system: fileTarget's scratch and fs reach them there.
    const target = fileTarget(b);
    const scratch = target.scratch;
    const fs = target.fs;
    const virtual = { ...target.options, clock: 'virtual' } as const;

    it('one child throws while two sleep and one writes: the others are cancelled, their finally blocks run, only the failure is thrown', async () => {
      const path = join(scratch(), 'group-writer.bin');
      const outcome = await runOn(kind, function* () {
        const log: string[] = [];
        try {
          yield* taskGroup(function* (g) {
            for (const name of ['sleeper-1', 'sleeper-2']) {
              g.spawn(function* () {
                try {
                  yield* sleep(60_000);
                } finally {
                  log.push(`${name} finally`);
                }
              }, { name });
            }
            g.spawn(function* () {
              const f = yield* open(path, 'w');
              try {
                for (;;) yield* f.write(Buffer.alloc(4096, 1));  // keeps writing until cancelled
              } finally {
                yield* f.close();
                log.push('writer closed its file');
              }
            }, { name: 'writer' });
            g.spawn(function* () {
              yield* sleep(5);
              throw new Error('child failed');
            }, { name: 'failer' });
          });
          return { log, error: null };
        } catch (e) {
          return { log, error: e };
        }
      }, target.options);
      expect(outcome.error).toBeInstanceOf(TaskGroupError);
      const err = outcome.error as TaskGroupError;
      expect(err.errors.map((e) => (e as Error).message)).toEqual(['child failed']);
      expect(outcome.log.sort()).toEqual(['sleeper-1 finally', 'sleeper-2 finally', 'writer closed its file']);
      expect(fs.statSync(path).size % 4096).toBe(0);  // every completed write is whole
    });

    it('the group returns the body value after every child finished', async () => {
      const result = await runOn(kind, function* () {
        const done: string[] = [];
        const v = yield* taskGroup(function* (g) {
          g.spawn(function* () {
            yield* sleep(30);
            done.push('slow');
          });
          g.spawn(function* () {
            yield* sleep(10);
            done.push('fast');
          });
          return 'body value';
        });
        return { v, done, t: now() };
      }, virtual);
      expect(result).toEqual({ v: 'body value', done: ['fast', 'slow'], t: 30 });
    });

    it('cancelling the parent cancels the group and its children, after which the parent ends cancelled', async () => {
      const result = await runOn(kind, function* () {
        const log: string[] = [];
        const parent = spawn(function* () {
          yield* taskGroup(function* (g) {
            g.spawn(function* () {
              try {
                yield* sleep(60_000);
              } finally {
                yield* sleep(1);
                log.push('child cleaned up');
              }
            });
            yield* sleep(60_000);
          });
        });
        yield* sleep(10);
        parent.cancel();
        try {
          yield* parent;
        } catch (e) {
          log.push((e as Error).name);
        }
        return log;
      }, virtual);
      expect(result).toEqual(['child cleaned up', 'CancelledError']);
    });

    it('the body throwing cancels the children; several failures are all reported, in order', async () => {
      const err = await runOn(kind, function* () {
        try {
          yield* taskGroup(function* (g) {
            g.spawn(failing(1, 'first child'));
            g.spawn(function* () {
              try {
                yield* sleep(1);
              } finally {
                throw new Error('second child, from its finally');
              }
            });
            yield* sleep(1);
            throw new Error('body');
          });
        } catch (e) {
          return e as TaskGroupError;
        }
        return null;
      }, virtual);
      expect(err).toBeInstanceOf(TaskGroupError);
      const messages = err!.errors.map((e) => (e as Error).message);
      expect(messages).toContain('first child');
      expect(messages).toContain('second child, from its finally');
    });

    it('failures inside a group are observed: run() does not report them again', async () => {
      await expect(
        runOn(kind, function* () {
          try {
            yield* taskGroup(function* (g) {
              g.spawn(failing(1, 'x'));
            });
          } catch {
            /* handled */
          }
          return 1;
        }, virtual),
      ).resolves.toBe(1);
    });

    it('all returns values in order; fails fast with the first error, cancelling the rest', async () => {
      const r = await runOn(kind, function* () {
        const values = yield* all([value(30, 'a'), value(10, 'b'), value(20, 'c')]);
        const t1 = now();
        let cancelledFinally = false;
        let error: unknown;
        try {
          yield* all([
            failing(5, 'boom'),
            function* () {
              try {
                yield* sleep(1000);
              } finally {
                cancelledFinally = true;
              }
            },
          ]);
        } catch (e) {
          error = e;
        }
        return { values, t1, message: (error as Error).message, cancelledFinally, t2: now() };
      }, virtual);
      expect(r).toEqual({ values: ['a', 'b', 'c'], t1: 30, message: 'boom', cancelledFinally: true, t2: 35 });
    });

    it('allSettled collects every outcome without cancelling anything', async () => {
      const r = await runOn(kind, function* () {
        return yield* allSettled<string>([value(10, 'ok'), failing(5, 'bad'), value(20, 'late')]);
      }, virtual);
      expect(r[0]).toEqual({ status: 'fulfilled', value: 'ok' });
      expect(r[1].status).toBe('rejected');
      expect(((r[1] as { reason: Error }).reason).message).toBe('bad');
      expect(r[2]).toEqual({ status: 'fulfilled', value: 'late' });
    });

    it('race: the first to finish wins (value or error); losers are cancelled and awaited', async () => {
      const r = await runOn(kind, function* () {
        const log: string[] = [];
        const loser = function* () {
          try {
            yield* sleep(1000);
            return 'slow';
          } finally {
            log.push('loser cleaned up');
          }
        };
        const v = yield* race([loser, value(10, 'fast')]);
        const t = now();
        let error: unknown;
        try {
          yield* race([value(50, 'slow'), failing(5, 'quick failure')]);
        } catch (e) {
          error = e;
        }
        return { v, t, log, error: (error as Error).message };
      }, virtual);
      expect(r).toEqual({ v: 'fast', t: 10, log: ['loser cleaned up'], error: 'quick failure' });
    });

    it('first: the first success wins; failures are skipped unless all fail', async () => {
      const r = await runOn(kind, function* () {
        const v = yield* first([failing(1, 'a'), value(10, 'winner'), value(20, 'later')]);
        let agg: unknown;
        try {
          yield* first([failing(1, 'x'), failing(2, 'y')]);
        } catch (e) {
          agg = e;
        }
        return { v, errors: (agg as AggregateError).errors.map((e) => (e as Error).message) };
      }, virtual);
      expect(r).toEqual({ v: 'winner', errors: ['x', 'y'] });
    });

    it('asCompleted yields results in completion order', async () => {
      const order = await runOn(kind, function* () {
        const order: string[] = [];
        for (const next of asCompleted([value(30, 'c'), value(10, 'a'), value(20, 'b')])) {
          order.push(yield* next);
        }
        return order;
      }, virtual);
      expect(order).toEqual(['a', 'b', 'c']);
    });

    it('a group child may spawn more children into the same group', async () => {
      const n = await runOn(kind, function* () {
        let count = 0;
        yield* taskGroup(function* (g) {
          const grow = (depth: number) => function* (): Generator<never, void, unknown> {
            count++;
            yield* yieldNow() as never;
            if (depth < 3) {
              g.spawn(grow(depth + 1));
              g.spawn(grow(depth + 1));
            }
          };
          g.spawn(grow(0));
        });
        return count;
      }, virtual);
      expect(n).toBe(15);
    });

    it('a CancelledError from a child cancelled by its own code is not a group failure', async () => {
      expect(
        await runOn(kind, function* () {
          yield* taskGroup(function* (g) {
            const t = g.spawn(function* () {
              yield* sleep(100);
            });
            yield* sleep(1);
            t.cancel();
          });
          return 'ok';
        }, virtual),
      ).toBe('ok');
    });
  });
}
