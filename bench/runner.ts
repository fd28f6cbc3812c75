// Runs the matrix: every (case, system) pair `runs` times, each run in a fresh child process, interleaved by
// round — round 1 runs every case on every system, then round 2, … — so a slow minute of this shared machine
// hits all systems of a round alike, and ratios are taken between runs of the same round. Within a round the
// order of systems rotates (A B C, B C A, C A B, …) so no system always runs right after the same other one
// (a 512 MiB write leaves dirty pages that the next run pays for).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemsFor, type CaseDef, type SystemDef } from './cases.js';
import { RESULT_PREFIX, type ChildSpec, type RunResult } from './child.js';
import { otherActivity } from './machine.js';

export interface Job {
  round: number;
  case: CaseDef;
  system: SystemDef;
  /** The breakdown's run: sampled by the CPU profiler, kept apart from the measured runs. */
  profile?: boolean;
}

/** How often the breakdown's run samples the main thread: fine enough for W3's few-µs operations. */
export const PROFILE_INTERVAL_US = 100;

/**
 * The interleaved order of all runs; with `profile`, one more round at the end in which every system runs
 * every case once under the CPU profiler (the breakdown: one extra repetition, not a profile of each run).
 * That round runs inside the matrix, before anything is deleted, so its creates are as fast as the others'.
 */
export function plan(cases: readonly CaseDef[], systems: readonly SystemDef[], runs: number, profile = false): Job[] {
  const jobs: Job[] = [];
  for (let round = 0; round < runs + (profile ? 1 : 0); round++) {
    for (const c of cases) {
      const list = systemsFor(c, systems);
      for (let i = 0; i < list.length; i++) {
        jobs.push({ round, case: c, system: list[(i + round) % list.length], ...(round === runs ? { profile: true } : {}) });
      }
    }
  }
  return jobs;
}

export const CHILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'child.js');

export interface ChildRun {
  result: RunResult;
  /** Whole child lifetime (start-up included), for the progress estimate only. */
  elapsedMs: number;
  stderr: string;
}

/**
 * Starts one child with `spec`, optionally under a wrapper command (strace), and waits for its result line.
 * `stop` (Ctrl-C in `corio bench`) kills the child at once; its run then has no result.
 */
export function runChild(
  spec: ChildSpec,
  timeoutS: number,
  wrapper: string[] = [],
  stop?: AbortSignal,
): Promise<ChildRun> {
  const t0 = performance.now();
  const argv = [...wrapper, process.execPath, CHILD_SCRIPT, JSON.stringify(spec)];
  return new Promise((resolvePromise) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...process.env, ...spec.system.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(stop ? { signal: stop, killSignal: 'SIGKILL' as const } : {}),
    });
    child.on('error', () => {});  // the AbortError of `stop`; 'close' follows and reports the run
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      let result: RunResult;
      if (line) {
        result = JSON.parse(line.slice(RESULT_PREFIX.length)) as RunResult;
      } else {
        const why = signal === 'SIGKILL' ? `killed after the ${timeoutS} s limit` : `exited with ${signal ?? code}`;
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        result = {
          caseId: spec.caseId, systemId: spec.system.id, round: spec.round, ok: false, ops: 0,
          error: `child ${why} without a result${tail ? `: ${tail}` : ''}`,
        };
      }
      resolvePromise({ result, elapsedMs: performance.now() - t0, stderr });
    });
  });
}

export interface RoundNote {
  round: number;
  loadavg: number[];
  busy: string[];
}

/**
 * µs per file to create, write 4 KiB and close 1000 files with sync fs in a fresh directory under `dir`, taken
 * before the runs. On this journal-less ext4 a directory region where many files were deleted recently creates
 * files 10× slower (285 µs instead of 26–32 µs per file here, minutes after a previous run's clean-up), which
 * changes what W1 and W6 measure; the report prints this figure so such a run is recognisable. The files stay
 * until the end of the runs, like every other run's.
 */
export function createProbe(dir: string, files = 1000): number {
  mkdirSync(dir, { recursive: true });
  const data = Buffer.alloc(4096, 0x5a);
  const t0 = performance.now();
  for (let i = 0; i < files; i++) {
    const fd = openSync(join(dir, `p${i}`), 'w');
    writeSync(fd, data, 0, data.length, 0);
    closeSync(fd);
  }
  return ((performance.now() - t0) * 1000) / files;
}

export interface MatrixOutcome {
  /** The measured runs (never the profiled ones: the profiler slows what it samples). */
  results: RunResult[];
  /** The breakdown's profiled runs. */
  profiled: RunResult[];
  rounds: RoundNote[];
  /** createProbe() before the runs, µs per file. */
  createProbeUs: number;
  /** Where the runs wrote; removed after all runs unless keep is set. */
  root: string;
}

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Runs every job in order. Each run gets a fresh directory under one root; nothing is deleted until every run
 * is done (NOTES.md: creating files right after deleting many is 12–18× slower on this ext4), then the whole
 * root goes. Big single files (W2–W4) are removed by the child itself once verified.
 */
export async function runMatrix(
  jobs: readonly Job[],
  baseDir: string,
  timeoutS: number,
  progress: (line: string, final?: boolean) => void,
  stop?: AbortSignal,
): Promise<MatrixOutcome> {
  mkdirSync(baseDir, { recursive: true });
  const root = mkdtempSync(join(baseDir, 'corio-bench-'));
  const results: RunResult[] = [];
  const profiled: RunResult[] = [];
  const rounds: RoundNote[] = [];
  const t0 = performance.now();
  const rounds_total = jobs.length === 0 ? 0 : jobs[jobs.length - 1].round + 1;
  let createProbeUs = NaN;
  try {
    createProbeUs = createProbe(join(root, 'probe'));
    if (createProbeUs > 100) {
      progress(`note: creating a file in ${baseDir} takes ${createProbeUs.toFixed(0)} µs (recent mass deletions nearby?); ` +
        'W1 and W6 will measure that. Another --dir, or waiting, avoids it.', true);
    }
    for (let i = 0; i < jobs.length; i++) {
      if (stop?.aborted) break;
      const job = jobs[i];
      if (rounds.length === job.round) rounds.push({ round: job.round + 1, ...otherActivity() });
      const elapsed = performance.now() - t0;
      const eta = i > 0 ? (elapsed / i) * (jobs.length - i) : NaN;
      progress(
        `[${String(i + 1).padStart(String(jobs.length).length)}/${jobs.length}] round ${job.round + 1}/${rounds_total} · ` +
          `${job.case.id} · ${job.system.id}${job.profile ? ' (profiled)' : ''} · ${clock(elapsed)} elapsed${Number.isFinite(eta) ? ` · ~${clock(eta)} left` : ''}`,
      );
      const spec: ChildSpec = {
        caseId: job.case.id,
        factory: job.case.factory,
        params: job.case.params,
        system: job.system,
        dir: join(root, job.case.id, `${job.system.id}-r${job.round + 1}`),
        round: job.round,
        ...(job.profile ? { profileUs: PROFILE_INTERVAL_US } : {}),
      };
      const { result } = await runChild(spec, timeoutS, [], stop);
      if (stop?.aborted) break;  // killed by the interrupt: not a failure of the system, and not a result
      if (!result.ok) progress(`  ✗ ${job.case.id} ${job.system.id} round ${job.round + 1}: ${result.error}`, true);
      (job.profile ? profiled : results).push(result);
    }
  } finally {
    progress(`ran ${results.length + profiled.length} of ${jobs.length} runs in ${clock(performance.now() - t0)}; removing ${root}`, true);
    rmSync(root, { recursive: true, force: true });
  }
  return { results, profiled, rounds, root, createProbeUs };
}
