// Lifecycle: a second run() after the first (also after one that failed), run() from a spawned task while I/O
// is in flight (extends loop.test.ts), an exception thrown from a finally block, process.exit() with
// operations in flight, and loops in several worker_threads at once. Each behaves as documented here; none
// crashes or hangs (the process-level cases run in children with a time limit).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { CancelledError, open, readFile, run, sleep, spawn, stats, writeFile } from '../src/index.js';
import { backendMatrix, backendTitle, caught, fileTarget, loopMatrix, loopTitle, rejected, runOn, scratch as hostScratch, skipTitle } from './helpers.js';

// The FIFO tests spawn mkfifo; Windows has no FIFOs in the file system.
const noFifo = process.platform === 'win32' ? 'Windows has no FIFOs (mkfifo)' : '';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'src', 'index.js');
const available = backendMatrix.filter((b) => b.available);

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    // The same bodies on the disk (node:fs) and on the simulation (its own file system): see fileTarget.
    const target = fileTarget(b);
    const scratch = target.scratch;
    const readFileSync = (path: string, encoding: BufferEncoding) => target.fs.readFileSync(path, encoding);
    const opts = target.options;

    it('a second run after the first (and after one that failed) gets a fresh loop that does file I/O', async () => {
      const path = join(scratch(), 'twice.txt');
      await runOn(kind, function* () { yield* writeFile(path, 'first'); }, opts);
      const failed = await rejected(runOn(kind, function* () {
        yield* writeFile(path, 'second');
        throw new Error('main failed');
      }, opts));
      expect(failed.message).toBe('main failed');
      const third = await runOn(kind, function* () {
        const text = yield* readFile(path, 'utf8');
        return { text, ioInFlight: stats().ioInFlight, liveTasks: stats().liveTasks };
      }, opts);
      expect(third).toEqual({ text: 'second', ioInFlight: 0, liveTasks: 1 });
    });

    it('run() from a spawned task with I/O in flight throws ERR_CORIO_NESTED_RUN there; the outer loop and its I/O finish', async () => {
      const path = join(scratch(), 'nested.txt');
      const r = await runOn(kind, function* () {
        const f = yield* open(path, 'w');
        const writer = spawn(function* () { for (let i = 0; i < 100; i++) yield* f.write(`${i}\n`); });
        const nested = spawn(function* () {
          yield* sleep(0);
          return (caught(() => run(function* () {}, opts)) as { code?: string }).code;
        });
        const code = yield* nested;
        yield* writer;
        yield* f.close();
        return code;
      }, opts);
      expect(r).toBe('ERR_CORIO_NESTED_RUN');
      expect(readFileSync(path, 'utf8').split('\n').length).toBe(101);
    });

    // Documented behaviour (JavaScript's own rule, which corio keeps): an exception thrown from a finally block
    // replaces the one in flight. The task fails with the finally's error — also when the task was cancelled,
    // so a cancelled task whose cleanup throws reports that error, not CancelledError. The original error is
    // lost unless the finally block attaches it (e.g. as `cause`); the cleanup error is never swallowed.
    it('an exception thrown from a finally block is what the task reports (it replaces the body\'s error, or the cancellation)', async () => {
      const r = await runOn(kind, function* () {
        const failing = spawn(function* () {
          try {
            yield* sleep(1);
            throw new Error('body');
          } finally {
            yield* sleep(1);
            throw new Error('finally');
          }
        }, { name: 'failing' });
        const cancelled = spawn(function* () {
          try {
            yield* sleep(10_000);
          } finally {
            throw new Error('cleanup after cancel');
          }
        }, { name: 'cancelled' });
        yield* sleep(5);
        cancelled.cancel();
        const out: string[] = [];
        for (const t of [failing, cancelled]) {
          try {
            yield* t;
            out.push('ok');
          } catch (e) {
            out.push(`${(e as Error).message} (${e instanceof CancelledError ? 'cancelled' : 'error'}, outcome ${t.outcome})`);
          }
        }
        return out;
      }, { ...opts, clock: 'virtual' });
      expect(r).toEqual(['finally (error, outcome failed)', 'cleanup after cancel (error, outcome failed)']);
    });

    it('a finally error in a task nobody joins is reported by run() as unobserved, not dropped', async () => {
      const err = await rejected(runOn(kind, function* () {
        spawn(function* () {
          try {
            yield* sleep(10_000);
          } finally {
            throw new Error('cleanup failed');
          }
        }, { name: 'orphan' });
        yield* sleep(1);
      }, { ...opts, clock: 'virtual' }));
      expect(err.code).toBe('ERR_CORIO_UNOBSERVED');
      expect(err.message).toContain("'orphan'");
      expect(err.message).toContain('cleanup failed');
    });

    it.skipIf((noFifo || target.needsOs('FIFOs, nor a child process to exit')) !== '')(skipTitle('process.exit() from a task with writes in flight (one blocked on a FIFO) exits cleanly with its code', noFifo || target.needsOs('FIFOs, nor a child process to exit')), () => {
      if (!existsSync(entry)) throw new Error('dist/ is not built: run npm install (or npx tsc)');
      const dir = scratch();
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const res = spawnSync(process.execPath, [join(root, 'test', 'fixtures', 'exit-in-flight.mjs'), entry, dir, b.name, fifo, kind], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(res.error?.message ?? '', `child hung: ${res.stderr}`).toBe('');
      expect(res.signal, res.stderr).toBe(null);
      expect(res.status, res.stderr).toBe(7);
      expect(res.stdout).toMatch(/in flight at exit: [1-9]\d*/);
      expect(res.stdout).not.toContain('not reached');
    });
  });
}

describe('loops in several worker_threads at once', () => {
  it.skipIf(!existsSync(entry))('each thread runs its own loop with file I/O, on every available backend; all finish', async () => {
    const dir = hostScratch();
    const n = 6;
    const results = await Promise.all(
      Array.from({ length: n }, (_, id) => new Promise<Record<string, unknown>>((resolve, reject) => {
        const backend = available[id % available.length].name;
        const w = new Worker(join(root, 'test', 'fixtures', 'thread-loop.mjs'), { workerData: { entry, dir, backend, id } });
        let result: Record<string, unknown> | undefined;
        w.on('message', (m) => (result = m));
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker ${id} exited ${code}`))));
      })),
    );
    for (const [id, r] of results.entries()) {
      expect(r).toEqual({ id, backend: available[id % available.length].name, lines: 8 * 50, ioInFlight: 0 });
    }
    writeFileSync(join(dir, 'done'), '');
  });
});
