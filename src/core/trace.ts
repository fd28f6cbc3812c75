// Recording a timeline of the loop: every iteration and its phases, every task step, every operation from
// submission to completion and where it ran. The loop calls into a recorder only when one was given (one
// null check per iteration; tasks and operations pay nothing when tracing is off). Formats that turn a
// recording into Perfetto JSON, an SVG or a text summary live in src/trace/.
import type { NativeBackend } from '../drivers/native.js';

/** Where an operation ran; the native codes match RanOn in native/core/trace.h. */
export type RanOn = 'loop thread' | 'kernel' | 'pool thread' | 'completion port' | 'unknown';
const ranOnNames: RanOn[] = ['unknown', 'loop thread', 'kernel', 'pool thread', 'completion port'];

/** One loop iteration: phase boundaries in ms on the trace clock. */
export interface IterationRecord {
  start: number;
  /** The wait on the driver: the kernel's time (or, with nothing in flight and tasks ready, skipped: 0 long). */
  waitStart: number;
  waitEnd: number;
  dispatchEnd: number;
  timersEnd: number;
  readyEnd: number;
  end: number;
  completions: number;
  /** Tasks run in this iteration's ready phase. */
  steps: number;
  /** Operations submitted to the backend during this iteration (one flush hands them over together). */
  submitted: number;
}

/** A task step in a recording: which task ran, from when to when (ms), and what it waited on after. */
export interface StepRecord {
  task: number;
  start: number;
  end: number;
  /** What the task waits on after the step ('done' when it finished). */
  then: string;
}

/** An operation in a recording: its kind and size, when it was submitted and completed, its result, where it ran. */
export interface OperationRecord {
  id: number;
  kind: string;
  /** Bytes asked to move (reads and writes), else 0. */
  bytes: number;
  target: string;
  /** The task that issued it (0: the loop itself, e.g. a coalesced write flushed at the end of an iteration). */
  task: number;
  submit: number;
  complete: number;
  /** Bytes or descriptor, or -errno. */
  result: number;
  ranOn: RanOn;
  /** Pool thread index for 'pool thread'. */
  worker: number;
  /** When the worker or the loop thread ran it (-1: the backend does not say, e.g. io_uring). */
  runStart: number;
  runEnd: number;
}

/** TraceRecorder's settings: the time base, and how many records of each kind it keeps. */
export interface TraceOptions {
  /**
   * Time base: 'real' (default) is the machine's monotonic clock; 'loop' is the loop's own clock, virtual
   * under clock: 'virtual', so a deterministic run gives an identical trace.
   */
  clock?: 'real' | 'loop';
  /** Stop recording after this many records of each kind (default 1,000,000); the excess is counted. */
  limit?: number;
}

/** Collects a run's timeline. Pass one as run(main, { trace }), then format it (src/trace/). */
export class TraceRecorder {
  readonly iterations: IterationRecord[] = [];
  readonly steps: StepRecord[] = [];
  readonly operations: OperationRecord[] = [];
  /**
   * Task number → name, for every task that took a step. Numbers count from 1 in order of first appearance
   * in this recording (not the process-wide task ids), so the same program gives the same numbers.
   */
  readonly tasks = new Map<number, string>();
  private readonly taskNumbers = new Map<number, number>();
  backend = '';
  /** Records not kept because a limit was reached. */
  dropped = 0;
  readonly clockKind: 'real' | 'loop';
  private readonly limit: number;
  private origin = 0;
  private clock: () => number = () => performance.now();
  /** Native clock (steady, ms) minus this recorder's clock, for records made by the backend. */
  private nativeOffset = 0;
  private native: NativeBackend | null = null;
  private nativeBuffer: Float64Array | null = null;
  /** Native records that arrived before their operation's completion, by token. */
  private pendingNative = new Map<number, [RanOn, number, number, number]>();
  private inFlight = new Map<number, OperationRecord>();
  private nextOperation = 1;
  private submittedThisIteration = 0;

  constructor(options: TraceOptions = {}) {
    this.clockKind = options.clock ?? 'real';
    this.limit = options.limit ?? 1_000_000;
  }

  /** @internal called by the loop when a run starts with this recorder. */
  attach(backend: string, io: NativeBackend, loopClock: () => number): void {
    this.backend = backend;
    if (this.clockKind === 'loop') this.clock = loopClock;
    this.origin = this.clock();
    this.native = io;
    if (typeof io.setTrace === 'function' && this.clockKind === 'real') {
      io.setTrace(true);
      this.nativeBuffer = new Float64Array(5 * 1024);
      this.nativeOffset = Number(process.hrtime.bigint()) / 1e6 - performance.now();
    }
  }

  /** @internal the run ended: stop the backend's recording. */
  detach(): void {
    this.takeNative();
    if (this.native !== null && this.nativeBuffer !== null) {
      try {
        this.native.setTrace?.(false);
      } catch {
        // the backend was already destroyed: nothing more is recorded either way
      }
    }
    this.native = null;
  }

  /** ms since the recording started. */
  now(): number {
    return this.clock() - this.origin;
  }

  private full(list: unknown[]): boolean {
    if (list.length < this.limit) return false;
    this.dropped++;
    return true;
  }

  // ---- what the loop reports -------------------------------------------------------------------------------

  /** @internal */
  iteration(record: Omit<IterationRecord, 'submitted'>): void {
    const submitted = this.submittedThisIteration;
    this.submittedThisIteration = 0;
    if (this.full(this.iterations)) return;
    this.iterations.push({ ...record, submitted });
  }

  /** @internal */
  step(taskId: number, name: string, start: number, end: number, then: string): void {
    const task = this.taskNumber(taskId);
    if (!this.tasks.has(task)) this.tasks.set(task, name);
    if (this.full(this.steps)) return;
    this.steps.push({ task, start, end, then });
  }

  private taskNumber(taskId: number): number {
    if (taskId === 0) return 0;
    let n = this.taskNumbers.get(taskId);
    if (n === undefined) this.taskNumbers.set(taskId, (n = this.taskNumbers.size + 1));
    return n;
  }

  /** @internal an operation reached the backend under `token`. */
  /** `at`: when the submission began (now() read before the call into the binding, which may run it inline). */
  submitted(token: number, kind: string, bytes: number, target: string, taskId: number, at: number = this.now()): void {
    this.submittedThisIteration++;
    const record: OperationRecord = {
      id: this.nextOperation++, kind, bytes, target, task: this.taskNumber(taskId), submit: at, complete: -1, result: 0,
      ranOn: 'unknown', worker: 0, runStart: -1, runEnd: -1,
    };
    this.inFlight.set(token, record);
  }

  /** @internal the operation under `token` completed with `result`. */
  completed(token: number, result: number): void {
    const record = this.inFlight.get(token);
    if (record === undefined) return;
    this.inFlight.delete(token);
    record.complete = this.now();
    record.result = result;
    const native = this.pendingNative.get(token);
    if (native !== undefined) {
      this.pendingNative.delete(token);
      [record.ranOn, record.worker, record.runStart, record.runEnd] = native;
    }
    if (!this.full(this.operations)) this.operations.push(record);
  }

  /**
   * @internal moves the backend's records (where each operation ran) over; called after every wait, before
   * completions are dispatched, so a completion finds its record.
   */
  takeNative(): void {
    const io = this.native;
    const buffer = this.nativeBuffer;
    if (io === null || buffer === null || typeof io.takeTrace !== 'function') return;
    for (;;) {
      let n: number;
      try {
        n = io.takeTrace(buffer);
      } catch {
        return;  // destroyed
      }
      for (let i = 0; i < n; i++) {
        const at = 5 * i;
        const toTrace = (ms: number) => (ms === 0 ? -1 : ms - this.nativeOffset - this.origin);
        this.pendingNative.set(buffer[at], [
          ranOnNames[buffer[at + 1]] ?? 'unknown', buffer[at + 2], toTrace(buffer[at + 3]), toTrace(buffer[at + 4]),
        ]);
      }
      if (n < buffer.length / 5) return;
    }
  }
}

/** What to say about an operation's target in a trace (a path, or a descriptor). */
export function describeTarget(fd: number | undefined, path: string | undefined): string {
  return path !== undefined ? path : fd !== undefined ? `fd ${fd}` : '';
}
