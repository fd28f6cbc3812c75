// Signals and termination of a standalone run() (issue 13, parts 5 and 6), in child processes and worker
// threads: SIGINT and SIGTERM cancel the main task (its finally blocks run, files close) and the process
// exits 130 / 143; a second signal ends it at once; a program's own process.on('SIGINT') listener is called
// instead; Node's handlers are back after run(); worker.terminate() and process.exit() end a worker that
// sleeps in run(). Every child is signalled when it has printed "ready", never after a sleep.
// Ported in spirit from asyncio's test_runners.py (RunTests.test_signal_install_not_supported_ok,
// test_asyncio_run_cancel_main_task / SIGINT cases in test_interrupt_*) and Node's
// test/parallel/test-worker-terminate-*.js.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SignalError } from '../src/index.js';
import { backendMatrix, backendTitle, hostedSkip, scratch } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'src', 'index.js');
const fixture = join(root, 'test', 'fixtures', 'signal-run.mjs');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the fixture, calls `onLine` for every line it prints (to send signals when it says so), and resolves
 * with how it ended. A child that has not ended after `limitMs` is killed and the promise rejects: the limit
 * only turns a hang into a failure, nothing waits on it.
 */
function child(args: string[], onLine: (line: string, proc: ChildProcess) => void, limitMs = 20_000): Promise<Exit> {
  if (!existsSync(entry)) throw new Error('dist/ is not built: run npm install (or npx tsc)');
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child hung; stdout: ${stdout}; stderr: ${stderr}`));
    }, limitMs);
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        onLine(line, proc);
      }
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const posix = process.platform !== 'win32';

// Both entry points (issue 13 part 5): the standalone run() and the hosted start(), same cases.
for (const b of backendMatrix) for (const ep of ['run', 'start'] as const) {
  const noHosted = ep === 'start' && !!hostedSkip;
  describe.skipIf(!b.available || !posix || noHosted)(`${backendTitle(b)}, ${ep}()${posix ? '' : ' (skipped: POSIX signals)'}${noHosted ? ` (skipped: ${hostedSkip})` : ''}`, () => {
    for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      it(`${signal} during ${ep}() cancels main: its finally ran and closed the file, exit code ${exitCode}`, async () => {
        const dir = scratch();
        const res = await child([fixture, entry, dir, b.name, 'sleep', ep], (line, proc) => {
          if (line === 'ready') proc.kill(signal);
        });
        expect(res.signal, res.stderr).toBe(null);
        expect(res.code, res.stderr).toBe(exitCode);
        expect(readFileSync(join(dir, 'finally'), 'utf8')).toBe('finally ran');
        expect(readFileSync(join(dir, 'held.txt'), 'utf8')).toBe('written in finally');
        // Node still reports the uncaught error, typed.
        expect(res.stderr).toContain('SignalError');
        expect(res.stderr).toContain(`code: 'ERR_CORIO_SIGNAL'`);
        expect(res.stderr).toContain(`signal: '${signal}'`);
      });
    }

    it('a second SIGINT while the first one\'s finally blocks run ends the process at once', async () => {
      const dir = scratch();
      let sent = 0;
      const res = await child([fixture, entry, dir, b.name, 'stuck', ep], (line, proc) => {
        // The finally sleeps an hour: only the second signal can end the process.
        if (line === 'ready' || line === 'in finally') {
          sent++;
          proc.kill('SIGINT');
        }
      });
      expect(sent).toBe(2);
      // Killed by the signal, as Node is without a handler (a shell reports 130).
      expect(res.signal, res.stderr).toBe('SIGINT');
    });

    it('SIGTERM after SIGINT (a different second request) also ends the process at once', async () => {
      const dir = scratch();
      const res = await child([fixture, entry, dir, b.name, 'stuck', ep], (line, proc) => {
        if (line === 'ready') proc.kill('SIGINT');
        if (line === 'in finally') proc.kill('SIGTERM');
      });
      expect(res.signal, res.stderr).toBe('SIGTERM');
    });

    it(`a program with its own process.on('SIGINT') gets the signal inside ${ep}() and nothing is cancelled`, async () => {
      const dir = scratch();
      const res = await child([fixture, entry, dir, b.name, 'listener', ep], (line, proc) => {
        if (line === 'ready') proc.kill('SIGINT');
      });
      expect(res.code, res.stderr).toBe(0);
      expect(readFileSync(join(dir, 'listener'), 'utf8')).toBe('SIGINT 2');  // Node passes (name, number)
      expect(res.stdout).toContain('returned normally; SIGINT listeners: 1');
    });

    it(`after ${ep}() settles, Node's own handling is back: SIGINT ends the process as Node does`, async () => {
      const dir = scratch();
      const res = await child([fixture, entry, dir, b.name, 'after', ep], (line, proc) => {
        if (line === 'ready') proc.kill('SIGINT');
      });
      expect(res.signal, res.stderr).toBe('SIGINT');
    });

    it('a caught SignalError is typed and leaves the exit code alone', async () => {
      const dir = scratch();
      const res = await child([fixture, entry, dir, b.name, 'caught', ep], (line, proc) => {
        if (line === 'ready') proc.kill('SIGINT');
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('caught true ERR_CORIO_SIGNAL SIGINT 130');
      expect(readFileSync(join(dir, 'finally'), 'utf8')).toBe('finally ran');
    });
  });
}

/** Runs terminate-worker.mjs: a worker sleeping in run() is terminated once it is blocked in the wait. */
async function terminateInRun(backend: string, mode: string, fifo = ''): Promise<{ code: number; ms: number; messages: string[]; syscall: string }> {
  const res = await child([join(root, 'test', 'fixtures', 'terminate-worker.mjs'), entry, backend, mode, fifo], () => {});
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout.trim().split('\n').pop()!);
}

for (const b of backendMatrix) {
  describe.skipIf(!b.available)(`${backendTitle(b)}: termination`, () => {
    it('worker.terminate() ends a worker sleeping an hour in run()', async () => {
      const res = await terminateInRun(b.name, 'sleep');
      console.log(`[signals] terminate() of a worker sleeping in run() (system call ${res.syscall}) on ${b.name}: ${res.ms.toFixed(1)} ms`);
      expect(res.messages).toEqual(['ready']);
      expect(res.code).toBe(1);  // Node's exit code for a terminated worker
    });

    it.skipIf(!posix)('worker.terminate() ends a worker whose run() waits on a blocked FIFO open', async () => {
      const fifo = join(scratch(), 'fifo');
      execFileSync('mkfifo', [fifo]);
      const res = await terminateInRun(b.name, 'fifo', fifo);
      console.log(`[signals] terminate() of a worker blocked on a FIFO open (system call ${res.syscall}) on ${b.name}: ${res.ms.toFixed(1)} ms`);
      expect(res.messages).toEqual(['ready']);
      expect(res.code).toBe(1);
    });

    it('process.exit() on the main thread while a worker sleeps in run() exits with its code', async () => {
      const res = await child([join(root, 'test', 'fixtures', 'exit-with-worker.mjs'), entry, b.name], () => {});
      expect(res.stdout).toContain('worker ready');
      expect(res.signal, res.stderr).toBe(null);
      expect(res.code, res.stderr).toBe(5);
    });
  });
}

describe('SignalError', () => {
  it('carries the signal, its number and the exit code 128 + number', () => {
    const e = new SignalError('SIGTERM');
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.signal, e.signo, e.exitCode]).toEqual(['SignalError', 'ERR_CORIO_SIGNAL', 'SIGTERM', 15, 143]);
  });
});
