// Cancellation: where it lands, what finally blocks may do, kernel cancellation of I/O in flight (a write
// blocked on a pipe), shielding, and swallowing. On every available backend.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CancelledError, Event, currentTask, open, run, shield, sleep, spawn, yieldNow } from '../src/index.js';
import { fileTarget, skipTitle, loopMatrix, loopTitle, runOn } from './helpers.js';

// The FIFO tests spawn mkfifo; Windows has no FIFOs in the file system.
const noFifo = process.platform === 'win32' ? 'Windows has no FIFOs (mkfifo)' : '';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'src', 'index.js');

// Every case on every cell of test/helpers.ts loopMatrix: run() and the hosted start() on each native
// backend, and run() on the simulation.
for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    // On the simulation, files live in its own file system: fileTarget's scratch and fs reach them there.
    const target = fileTarget(b);
    const scratch = target.scratch;
    const virtual = { ...target.options, clock: 'virtual' } as const;

    it('a cancelled task gets CancelledError at its suspension point; finally runs and may yield*', async () => {
      const log = await runOn(kind, function* () {
        const log: string[] = [];
        const t = spawn(function* () {
          try {
            log.push('start');
            yield* sleep(1000);
            log.push('not reached');
          } catch (e) {
            log.push(e instanceof CancelledError ? 'caught cancel' : 'other');
            throw e;
          } finally {
            yield* sleep(5);  // cleanup that waits
            log.push('finally done');
          }
        });
        yield* sleep(10);
        t.cancel();
        try {
          yield* t;
        } catch (e) {
          log.push(`join: ${(e as Error).name}`);
        }
        log.push(`outcome: ${t.outcome}`);
        return log;
      }, virtual);
      expect(log).toEqual(['start', 'caught cancel', 'finally done', 'join: CancelledError', 'outcome: cancelled']);
    });

    it('a task that swallows the cancellation keeps running (a documented choice) and can suspend again', async () => {
      const result = await runOn(kind, function* () {
        const t = spawn(function* () {
          try {
            yield* sleep(1000);
          } catch {
            /* swallowed on purpose */
          }
          yield* sleep(1);  // edge-triggered: this suspension is not cancelled again
          return 'survived';
        });
        yield* yieldNow();
        t.cancel();
        return yield* t;
      }, virtual);
      expect(result).toBe('survived');
    });

    it('a task cancelled before it first runs never starts', async () => {
      const result = await runOn(kind, function* () {
        let ran = false;
        const t = spawn(function* () {
          ran = true;
        });
        t.cancel();
        try {
          yield* t;
        } catch (e) {
          return { ran, cancelled: e instanceof CancelledError };
        }
        return { ran, cancelled: false };
      }, virtual);
      expect(result).toEqual({ ran: false, cancelled: true });
    });

    it('a cancel while the task is running lands at its next suspension, and a result already delivered is kept', async () => {
      const path = join(scratch(), 'kept.txt');
      const result = await runOn(kind, function* () {
        const gate = new Event();
        let fd = -1;
        const t = spawn(function* () {
          const f = yield* open(path, 'w');  // completes; then the cancel below lands
          fd = f.fd;
          try {
            yield* gate.wait();
          } finally {
            yield* f.close();
          }
        });
        // Cancel in the same iteration the open completes: the task still receives its handle.
        while (fd < 0 && !t.done) yield* yieldNow();
        t.cancel();
        try {
          yield* t;
        } catch (e) {
          return { gotHandle: fd >= 0, cancelled: e instanceof CancelledError };
        }
        return { gotHandle: fd >= 0, cancelled: false };
      }, target.options);
      expect(result).toEqual({ gotHandle: true, cancelled: true });
    });

    it('a task can cancel itself; it lands at its next yield*', async () => {
      const result = await runOn(kind, function* () {
        const t = spawn(function* () {
          currentTask().cancel();
          let steps = 0;
          steps++;  // still running: cancellation only at suspension points
          yield* yieldNow();
          return steps;
        });
        try {
          return yield* t;
        } catch (e) {
          return e instanceof CancelledError ? 'cancelled' : 'other';
        }
      }, virtual);
      expect(result).toBe('cancelled');
    });

    it('shield holds a cancellation back until the shielded body finishes', async () => {
      const log = await runOn(kind, function* () {
        const log: string[] = [];
        const t = spawn(function* () {
          yield* shield(function* () {
            yield* sleep(100);
            log.push('shielded work done');
          });
          log.push('after shield');  // not reached: the held-back cancel lands at the next yield*
          yield* yieldNow();
          log.push('not reached');
        });
        yield* sleep(10);
        t.cancel();
        try {
          yield* t;
        } catch (e) {
          log.push((e as Error).name);
        }
        return log;
      }, virtual);
      expect(log).toEqual(['shielded work done', 'after shield', 'CancelledError']);
    });

    const noPipe = noFifo || target.needsOs('FIFO (the child process runs on the disk)');
    it.skipIf(noPipe !== '')(skipTitle('cancelling a write blocked on a pipe nobody reads stops it in the kernel or pool; finally closes the file', noPipe), () => {
      if (!existsSync(entry)) throw new Error('dist/ is not built: run npm install (or npx tsc)');
      const fifo = join(scratch(), 'fifo');
      execFileSync('mkfifo', [fifo]);
      // In a child process with a time limit: a regression here is a hang, and a hang must fail, not stall.
      const res = spawnSync(process.execPath, [join(root, 'test', 'fixtures', 'pipe-cancel.mjs'), b.name, fifo, entry, kind], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(res.error?.message ?? '', `child hung or failed: ${res.stderr}`).toBe('');
      expect(res.status, res.stderr).toBe(0);
      const r = JSON.parse(res.stdout.trim().split('\n').pop()!);
      expect(r.cancelled).toBe(true);
      expect(r.log).toEqual(['closed in finally']);
      expect(r.inFlightBefore).toBe(1);
      expect(r.inFlightAfter).toBe(0);  // the task waited for the kernel's word before moving on
      // What the error says reached the pipe is what the pipe holds.
      expect(r.bytesTransferred).toBe(r.inPipe);
      expect(r.inPipe).toBeLessThan(1 << 20);
    });
  });
}
