// Every cancel is delivered: a second cancel() reaches a task that swallowed the first, cancelling() and
// uncancel() count requests, task groups and run()'s shutdown end stubborn tasks, a timeout after a swallowed
// cancel is still a timeout, and checkpoints raise a pending cancellation even when nothing would wait.
// On every cell of the loop matrix (both entry points, every backend, the simulation), on the virtual clock.
import { fstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CancelledError,
  Event,
  TaskGroupError,
  TimeoutError,
  currentTask,
  now,
  open,
  shield,
  sleep,
  spawn,
  taskGroup,
  withTimeout,
  yieldNow,
} from '../src/index.js';
import { fileTarget, loopMatrix, loopTitle, runOn } from './helpers.js';

/** A task that catches every CancelledError and carries on: the case that used to hang groups and run(). */
function* stubborn(log: string[]) {
  for (;;) {
    try {
      yield* sleep(10);
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      log.push(`swallowed at ${now()}`);
    }
  }
}

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    // On the simulation, files live in its own file system: fileTarget's scratch reaches them there.
    const target = fileTarget(b);
    const scratch = target.scratch;
    const virtual = { ...target.options, clock: 'virtual' } as const;

    it('a second cancel() reaches a task that swallowed the first', async () => {
      const r = await runOn(kind, function* () {
        const log: string[] = [];
        const t = spawn(function* () {
          try {
            yield* sleep(1000);
          } catch {
            log.push('swallowed once');
          }
          yield* sleep(1000);  // the next cancel() must land here
          log.push('not reached');
        });
        yield* sleep(10);
        t.cancel();
        yield* sleep(10);
        const second = t.cancel();
        let outcome = 'ok';
        try {
          yield* t;
        } catch (e) {
          outcome = (e as Error).name;
        }
        return { log, second, outcome, cancelled: t.cancelled(), at: now() };
      }, virtual);
      expect(r).toEqual({ log: ['swallowed once'], second: true, outcome: 'CancelledError', cancelled: true, at: 20 });
    });

    it('cancelling() counts requests; uncancel() takes one back and withdraws an undelivered one', async () => {
      const r = await runOn(kind, function* () {
        const t = spawn(function* () {
          yield* sleep(1000);
          return 'finished';
        });
        const counts = [t.cancelling()];
        t.cancel();
        t.cancel();
        counts.push(t.cancelling());
        counts.push(t.uncancel());
        counts.push(t.uncancel());  // none left: the pending request is withdrawn before it is delivered
        return { counts, value: yield* t, cancelled: t.cancelled() };
      }, virtual);
      expect(r).toEqual({ counts: [0, 2, 1, 0], value: 'finished', cancelled: false });
    });

    it('a stubborn task in a group whose sibling fails: the group ends with the sibling\'s error', async () => {
      const r = await runOn(kind, function* () {
        const log: string[] = [];
        try {
          yield* taskGroup(function* (g) {
            g.spawn(() => stubborn(log), { name: 'stubborn' });
            g.spawn(function* () {
              yield* sleep(25);
              throw new Error('sibling failed');
            });
          });
        } catch (e) {
          return { log, errors: (e as TaskGroupError).errors.map((x) => (x as Error).message), at: now() };
        }
        return { log, errors: [], at: now() };
      }, virtual);
      // It swallowed the group's CancelledError once; its next wait completed, so the group unwound it.
      expect(r).toEqual({ log: ['swallowed at 25'], errors: ['sibling failed'], at: 35 });
    });

    it('a stubborn task left running when main returns: run() still returns', async () => {
      const log: string[] = [];
      const value = await runOn(kind, function* () {
        spawn(() => stubborn(log), { name: 'stubborn' });
        yield* sleep(15);
        return 'main done';
      }, virtual);
      expect(value).toBe('main done');
      expect(log).toEqual(['swallowed at 15']);
    });

    it('a stubborn task unwound by its group still runs its finally blocks, which may yield*', async () => {
      const log = await runOn(kind, function* () {
        const log: string[] = [];
        try {
          yield* taskGroup(function* (g) {
            g.spawn(function* () {
              try {
                for (;;) {
                  try {
                    yield* sleep(10);
                  } catch {
                    log.push('swallowed');
                  }
                }
              } finally {
                yield* sleep(5);
                log.push(`finally at ${now()}`);
              }
            });
            yield* sleep(1);
            throw new Error('body failed');
          });
        } catch (e) {
          log.push((e as Error).name);
        }
        return log;
      }, virtual);
      expect(log).toEqual(['swallowed', 'finally at 16', 'TaskGroupError']);
    });

    it('a group\'s child cleaning up in one wait is not cut short (its first wait after the error is its own)', async () => {
      const log = await runOn(kind, function* () {
        const log: string[] = [];
        try {
          yield* taskGroup(function* (g) {
            g.spawn(function* () {
              try {
                yield* sleep(1000);
              } finally {
                yield* sleep(5);
                log.push('cleanup done');
              }
            });
            yield* sleep(1);
            throw new Error('body failed');
          });
        } catch (e) {
          log.push((e as Error).name);
        }
        return log;
      }, virtual);
      expect(log).toEqual(['cleanup done', 'TaskGroupError']);
    });

    it('cleanup in a shield is never unwound, however many waits it takes', async () => {
      const log = await runOn(kind, function* () {
        const log: string[] = [];
        try {
          yield* taskGroup(function* (g) {
            g.spawn(function* () {
              try {
                yield* sleep(1000);
              } finally {
                yield* shield(function* () {
                  for (let i = 0; i < 3; i++) yield* sleep(5);
                  log.push(`shielded cleanup done at ${now()}`);
                });
              }
            });
            yield* sleep(1);
            throw new Error('body failed');
          });
        } catch (e) {
          log.push((e as Error).name);
        }
        return log;
      }, virtual);
      expect(log).toEqual(['shielded cleanup done at 16', 'TaskGroupError']);
    });

    it('a timeout firing after a swallowed cancel is still a timeout of its own scope', async () => {
      const r = await runOn(kind, function* () {
        const t = spawn(function* () {
          try {
            yield* sleep(1000);
          } catch {
            /* swallowed */
          }
          try {
            yield* withTimeout(50, function* () {
              yield* sleep(1000);
            });
          } catch (e) {
            return `${(e as Error).name} at ${now()}`;
          }
          return 'no timeout';
        });
        yield* sleep(10);
        t.cancel();
        return yield* t;
      }, virtual);
      expect(r).toBe('TimeoutError at 60');
    });

    it('withTimeout(0) around one yieldNow() times out: a deadline already passed cancels at the first yield*', async () => {
      const r = await runOn(kind, function* () {
        let after = false;
        try {
          yield* withTimeout(0, function* () {
            yield* yieldNow();
            after = true;
          });
        } catch (e) {
          return { error: (e as Error).name, after, timeout: e instanceof TimeoutError };
        }
        return { error: 'none', after, timeout: false };
      }, virtual);
      expect(r).toEqual({ error: 'TimeoutError', after: false, timeout: true });
    });

    it('a set Event is still a checkpoint: a pending cancellation is raised there, before it returns', async () => {
      const r = await runOn(kind, function* () {
        const ev = new Event();
        ev.set();
        const t = spawn(function* () {
          currentTask().cancel();
          yield* ev.wait();
          return 'passed the checkpoint';
        });
        try {
          return yield* t;
        } catch (e) {
          return (e as Error).name;
        }
      }, virtual);
      expect(r).toBe('CancelledError');
    });

    it('a close() in a finally block is not skipped by a cancellation that arrives meanwhile', async () => {
      const path = `${scratch()}/close.txt`;
      const r = await runOn(kind, function* () {
        const gate = new Event();
        let fd = -1;
        const t = spawn(function* () {
          const f = yield* open(path, 'w');
          fd = f.fd;
          try {
            yield* gate.wait();
          } finally {
            currentTask().cancel();  // a second request, pending while close() starts
            yield* f.close();
          }
        });
        while (fd < 0) yield* yieldNow();
        t.cancel();
        try {
          yield* t;
        } catch {
          /* cancelled */
        }
        if (process.platform !== 'win32' && !target.simulated) return { fd, closed: !isOpen(fd) };
        // Windows: corio's descriptors are its own table (native/core/win/fd.h), which fstatSync cannot see;
        // nor can it see the simulation's. Both hand out the lowest free number, so the number comes back at
        // once only if it was closed.
        const next = yield* open(`${path}.next`, 'w');
        yield* next.close();
        return { fd, closed: next.fd === fd };
      }, target.options);
      expect(r.closed).toBe(true);
    });
  });
}

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
