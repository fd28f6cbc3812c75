// simulate(): runs a file program under the simulated backend for many seeds and through its crash points,
// and checks the user's invariants against what each crash leaves. For tests (vitest, jest, node:test): it
// returns a report instead of throwing, so a test asserts `report.ok` or prints `report.describe()`, and each
// failure says how to replay exactly that run.
import { run, type RunOptions } from './run.js';
import type { Operation } from './core/instruction.js';
import { CorioError, describeError, describeValue, type SystemError } from './core/errors.js';
import { currentLoop } from './core/context.js';
import { SimCrash, type SimBackend, type SimFaults } from './drivers/sim/backend.js';
import { SimFs, type CrashKeep, type SimTree } from './drivers/sim/fs.js';
import { SeededRandom } from './drivers/sim/random.js';

/** What the program under test receives. */
export interface SimContext {
  readonly seed: number;
  /**
   * Records something the program has promised (a record acknowledged as durable, a version committed): the
   * check sees the notes made before the crash. Notes live outside the simulated disk, like a client's memory.
   */
  note(value: unknown): void;
}

/** What the check receives; it runs as a corio task against the file system the crash (or the run) left. */
export interface CheckContext {
  readonly seed: number;
  /** The crash point (operation number, 1-based) and the operation it came right after; null: no crash. */
  readonly crash: { point: number; operation: string } | null;
  /** The program's notes made before the crash (or the end). */
  readonly notes: readonly unknown[];
  /** The error the program ended with, when it was one the simulation injected (a fault); else undefined. */
  readonly error: unknown;
}

/** simulate()'s options: which seeds, which faults, which crash points, the invariant check, run() options. */
export interface SimulateOptions {
  /** Seeds to run: a count n (seeds 1 … n) or a list. Default 10. */
  seeds?: number | readonly number[];
  faults?: SimFaults;
  /**
   * Crash points per seed: 'each' (every state-changing operation of the run, in turn; the default), a number
   * n (n of them, chosen by the seed), a list of points (to replay), or 'none'.
   */
  crashes?: 'each' | 'none' | number | readonly number[];
  /** What a crash keeps of data and names not yet durable (default 'seeded': a seed-chosen prefix). */
  keep?: CrashKeep;
  /** Invariants to check after each crash (and after each run that did not crash): throw to fail. */
  check?: (context: CheckContext) => Operation<unknown>;
  /** Files present, and durable, before the program starts. */
  initial?: SimTree;
  /** Longest simulated latency of an operation (ms, default 1). */
  maxLatencyMs?: number;
  /** run()'s files options (write coalescing, group commit), passed through. */
  files?: RunOptions['files'];
}

/** One failing case of simulate(): its seed and crash point, what failed, and how to replay it. */
export interface SimFailure {
  seed: number;
  /** The crash point that failed, or null for the run without a crash. */
  crashPoint: number | null;
  /** The operation the crash came right after. */
  operation: string | null;
  /** 'program': the program failed by itself; 'check': the check failed on what was left. */
  stage: 'program' | 'check';
  error: unknown;
  /** How to run exactly this case again. */
  replay: string;
}

/** What simulate() found: runs made, crash points tried, and the failures, each replayable. */
export interface SimReport {
  ok: boolean;
  /** Runs made: each seed's run without a crash, plus one per crash point. */
  runs: number;
  /** Crash points tried over all seeds. */
  crashPoints: number;
  failures: SimFailure[];
  /** A readable account of the failures (or of the success). */
  describe(): string;
}

/**
 * Runs `program` under the simulated backend (backend 'sim') for each seed, crashes it at each chosen point,
 * and runs the check against what each crash left. Returns a report instead of throwing, for tests.
 */
export function simulate(program: (context: SimContext) => Operation<unknown>, options: SimulateOptions = {}): SimReport {
  if (typeof program !== 'function') throw new CorioError('ERR_INVALID_ARG_TYPE', `simulate() needs a generator function, got ${describeValue(program)}`);
  const seeds = seedList(options.seeds ?? 10);
  const failures: SimFailure[] = [];
  let runs = 0;
  let crashPoints = 0;
  for (const seed of seeds) {
    // The run without a crash: its length says how many crash points there are.
    const whole = runProgram(program, options, seed, undefined);
    runs++;
    if (whole.failure !== undefined) failures.push(failure(seed, null, null, 'program', whole.failure));
    else checkState(options, seed, null, whole.notes, whole.error, whole.fs, failures);
    const points = crashPointsFor(options.crashes ?? 'each', whole.operations, seed);
    for (const point of points) {
      crashPoints++;
      runs++;
      const r = runProgram(program, options, seed, point);
      if (r.failure !== undefined) {
        failures.push(failure(seed, point, r.crash?.operation ?? null, 'program', r.failure));
        continue;
      }
      const crash = r.crash!;  // set by runProgram whenever the program did not fail by itself
      const image = crash.fs.crashImage(new SeededRandom((seed * 7919 + point) % Number.MAX_SAFE_INTEGER), options.keep ?? 'seeded');
      checkState(options, seed, { point, operation: crash.operation }, r.notes, r.error, image, failures);
    }
  }
  return {
    ok: failures.length === 0,
    runs,
    crashPoints,
    failures,
    describe: () => describeReport(failures, runs, crashPoints),
  };
}

interface ProgramRun {
  fs: SimFs;
  notes: unknown[];
  operations: number;
  crash: SimCrash | null;
  /** An injected fault the program ended with (allowed: that is what faults are for). */
  error: unknown;
  /** Anything else the program threw. */
  failure: unknown;
}

function runProgram(
  program: (context: SimContext) => Operation<unknown>,
  options: SimulateOptions,
  seed: number,
  crashAt: number | undefined,
): ProgramRun {
  const fs = new SimFs(options.initial ?? {});
  const notes: unknown[] = [];
  const context: SimContext = { seed, note: (value) => void notes.push(value) };
  let history: string[] = [];
  let injected = new Set<string>();
  const result: ProgramRun = { fs, notes, operations: 0, crash: null, error: undefined, failure: undefined };
  try {
    run(function* () {
      const io = currentLoop().driver.io as SimBackend;
      history = io.history;
      injected = io.injected;
      return yield* program(context);
    }, {
      backend: 'sim',
      seed,
      sim: { fs, faults: options.faults, maxLatencyMs: options.maxLatencyMs, crashAt },
      files: options.files,
    });
  } catch (error) {
    if (error instanceof SimCrash) result.crash = error;
    else if (isInjected(error, injected)) result.error = error;
    else result.failure = error;
  }
  result.operations = history.length;
  // The last crash point is after the program ended (or stopped on a fault): what it left unsynced is still
  // at risk then.
  if (crashAt !== undefined && result.crash === null && result.failure === undefined) {
    result.crash = new SimCrash(crashAt, 'the end of the program', fs);
  }
  return result;
}

function isInjected(error: unknown, injected: Set<string>): boolean {
  const code = (error as SystemError | undefined)?.code;
  if (code !== undefined && injected.has(code)) return true;
  // A short write the program turned into ENOSPC itself (writeFileAtomic does) also comes from a fault.
  if (code === 'ENOSPC' && injected.has('short write')) return true;
  // A failure with several causes (a task group) counts as injected when every cause was.
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every((e) => isInjected(e, injected));
  return false;
}

function checkState(
  options: SimulateOptions,
  seed: number,
  crash: { point: number; operation: string } | null,
  notes: unknown[],
  error: unknown,
  fs: SimFs,
  failures: SimFailure[],
): void {
  const check = options.check;
  if (check === undefined) return;
  try {
    run(() => check({ seed, crash, notes: [...notes], error }), { backend: 'sim', seed, sim: { fs } });
  } catch (e) {
    failures.push(failure(seed, crash?.point ?? null, crash?.operation ?? null, 'check', e));
  }
}

function failure(seed: number, point: number | null, operation: string | null, stage: 'program' | 'check', error: unknown): SimFailure {
  const crashes = point === null ? `'none'` : `[${point}]`;
  return { seed, crashPoint: point, operation, stage, error, replay: `simulate(program, { ...options, seeds: [${seed}], crashes: ${crashes} })` };
}

function seedList(seeds: number | readonly number[]): number[] {
  if (typeof seeds === 'number') {
    if (!Number.isSafeInteger(seeds) || seeds < 1) throw new CorioError('ERR_INVALID_ARG_VALUE', `seeds must be a positive count or a list, got ${describeValue(seeds)}`);
    return Array.from({ length: seeds }, (_, i) => i + 1);
  }
  if (!Array.isArray(seeds) || !seeds.every((s) => Number.isSafeInteger(s))) {
    throw new CorioError('ERR_INVALID_ARG_VALUE', `seeds must be a positive count or a list of integers, got ${describeValue(seeds)}`);
  }
  return [...seeds];
}

function crashPointsFor(crashes: 'each' | 'none' | number | readonly number[], operations: number, seed: number): number[] {
  if (crashes === 'none') return [];
  // Point n (1 ≤ n ≤ operations) is right after the n-th state-changing operation; operations + 1 is after
  // the program ended.
  if (crashes === 'each') return Array.from({ length: operations + 1 }, (_, i) => i + 1);
  if (typeof crashes === 'number') {
    if (!Number.isSafeInteger(crashes) || crashes < 0) throw new CorioError('ERR_INVALID_ARG_VALUE', `crashes must be 'each', 'none', a count or a list, got ${describeValue(crashes)}`);
    // n distinct points drawn from the seed, in order.
    const all = Array.from({ length: operations + 1 }, (_, i) => i + 1);
    const random = new SeededRandom(seed).fork(77);
    for (let i = all.length - 1; i > 0; i--) {
      const j = random.below(i + 1);
      [all[i], all[j]] = [all[j], all[i]];
    }
    return all.slice(0, crashes).sort((a, b) => a - b);
  }
  if (Array.isArray(crashes) && crashes.every((c) => Number.isSafeInteger(c) && c >= 1)) return [...crashes];
  throw new CorioError('ERR_INVALID_ARG_VALUE', `crashes must be 'each', 'none', a count or a list of points >= 1, got ${describeValue(crashes)}`);
}

function describeReport(failures: SimFailure[], runs: number, crashPoints: number): string {
  if (failures.length === 0) return `simulate: ${runs} runs, ${crashPoints} crash points, no failure`;
  const lines = [`simulate: ${failures.length} failure(s) in ${runs} runs (${crashPoints} crash points)`];
  for (const f of failures.slice(0, 10)) {
    const where = f.crashPoint === null ? 'without a crash' : `crash after operation ${f.crashPoint} (${f.operation})`;
    lines.push(`  seed ${f.seed}, ${where}: the ${f.stage} failed: ${describeError(f.error)}`);
    lines.push(`    replay: ${f.replay}`);
  }
  if (failures.length > 10) lines.push(`  … and ${failures.length - 10} more`);
  return lines.join('\n');
}
