// A task drives one generator coroutine. Its state machine is explicit (STYLE.md 10):
//
//   READY ──step──▶ RUNNING ──yields an Instruction──▶ WAITING ──resume/fail──▶ READY
//     ▲                │                                   │
//     └────────────────┘ (instruction resumes at once)     └── cancel(): interrupt, then READY with a throw
//   RUNNING ──returns/throws──▶ DONE (ok | failed | cancelled)
//
// Cancellation is delivered only at a suspension point, never in place of a result that already arrived: a task
// made ready by a completed open() receives its descriptor, and the cancellation lands at its next yield. That
// is the safer of asyncio's and trio's rules here — dropping a delivered result would leak the descriptor.
import { CancelledError, describeValue } from './errors.js';
import { Instruction, type Operation, type SteppingTask, type Waiter, setStepping } from './instruction.js';

export type TaskState = 'ready' | 'running' | 'waiting' | 'done';
export type TaskOutcome = 'pending' | 'ok' | 'failed' | 'cancelled';

/** What a task needs from its loop. */
export interface TaskHost {
  schedule(task: Task<unknown>): void;
  finished(task: Task<unknown>): void;
}

let nextTaskId = 1;

export class Task<T = unknown> implements Operation<T>, Waiter<unknown>, SteppingTask {
  readonly id = nextTaskId++;
  readonly name: string;
  state: TaskState = 'ready';
  outcome: TaskOutcome = 'pending';
  /** Set once someone joined the task or read its failure: an unobserved failure is reported by run(). */
  observed = false;

  // SteppingTask protocol (see instruction.ts).
  resuming = false;
  delegatedBy: Instruction<unknown> | null = null;

  private readonly coroutine: Iterator<Instruction<unknown>, T, unknown>;
  private started = false;
  private sendValue: unknown = undefined;
  private sendError: unknown = undefined;
  private throwing = false;
  private cancelRequested = false;
  private waitingOn: Instruction<unknown> | null = null;
  private value: T | undefined = undefined;
  private error: unknown = undefined;
  private joiners: Waiter<T>[] = [];

  constructor(
    private readonly host: TaskHost,
    coroutine: Iterator<Instruction<unknown>, T, unknown>,
    name: string | undefined,
  ) {
    this.coroutine = coroutine;
    this.name = name ?? `task-${this.id}`;
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** What the task is suspended on, for deadlock reports and dumps. */
  describeWait(): string {
    if (this.state === 'waiting' && this.waitingOn) return `'${this.name}' waiting on ${this.waitingOn.describe()}`;
    return `'${this.name}' ${this.state}`;
  }

  // ---- Waiter: called by the instruction the task waits on -------------------------------------------------

  resume(value: unknown): void {
    if (this.state !== 'waiting') return;  // a late completion after cancellation: already detached
    this.waitingOn = null;
    this.sendValue = value;
    this.state = 'ready';
    this.host.schedule(this);
  }

  fail(error: unknown): void {
    if (this.state !== 'waiting') return;
    this.waitingOn = null;
    this.throwInto(error);
  }

  // ---- Cancellation ------------------------------------------------------------------------------------------

  /**
   * Requests cancellation. A waiting task has its wait interrupted and a CancelledError thrown at its
   * suspension point in the next loop iteration; a ready or running task is cancelled at its next suspension.
   * Returns false when the task had already finished.
   */
  cancel(message?: string): boolean {
    if (this.state === 'done') return false;
    if (this.state === 'waiting') {
      const instruction = this.waitingOn!;
      this.waitingOn = null;
      instruction.interrupt(this);
      this.throwInto(new CancelledError(message ?? `Task '${this.name}' was cancelled`));
    } else {
      this.cancelRequested = true;
      this.cancelMessage = message;
    }
    return true;
  }
  private cancelMessage: string | undefined;

  private throwInto(error: unknown): void {
    this.throwing = true;
    this.sendError = error;
    this.state = 'ready';
    this.host.schedule(this);
  }

  // ---- Stepping ----------------------------------------------------------------------------------------------

  /** Runs the coroutine until its next suspension or its end. Called only by the loop. */
  step(): void {
    if (this.state !== 'ready') return;
    this.state = 'running';
    setStepping(this);
    let result: IteratorResult<Instruction<unknown>, T>;
    try {
      if (this.throwing) {
        const error = this.sendError;
        this.throwing = false;
        this.sendError = undefined;
        this.started = true;
        result = this.coroutine.throw!(error);
      } else {
        const value = this.sendValue;
        this.sendValue = undefined;
        this.resuming = this.started;  // the first step starts the generator; later ones resume a yield*
        this.started = true;
        result = this.coroutine.next(value);
      }
    } catch (error) {
      this.resuming = false;
      setStepping(null);
      this.finish(error instanceof CancelledError ? 'cancelled' : 'failed', undefined, error);
      return;
    }
    this.resuming = false;
    setStepping(null);
    if (result.done) {
      this.finish('ok', result.value, undefined);
      return;
    }
    this.suspendOn(result.value);
  }

  private suspendOn(yielded: unknown): void {
    const delegated = this.delegatedBy;
    this.delegatedBy = null;
    if (!(yielded instanceof Instruction) || delegated !== yielded) {
      // asyncio raises "Task got bad yield" into the coroutine; so do we, naming the task and the value.
      const hint =
        yielded instanceof Instruction
          ? 'use `yield*` (not `yield`) with corio operations'
          : 'corio tasks may only `yield*` corio operations';
      this.throwInto(
        new TypeError(`Task '${this.name}' yielded ${describeValue(yielded)}: ${hint}`),
      );
      return;
    }
    if (this.cancelRequested) {
      this.cancelRequested = false;
      this.throwInto(new CancelledError(this.cancelMessage ?? `Task '${this.name}' was cancelled`));
      return;
    }
    this.state = 'waiting';
    this.waitingOn = yielded;
    yielded.start(this);
  }

  private finish(outcome: TaskOutcome, value: T | undefined, error: unknown): void {
    this.state = 'done';
    this.outcome = outcome;
    this.value = value;
    this.error = error;
    const joiners = this.joiners;
    this.joiners = [];
    for (const joiner of joiners) this.deliver(joiner);
    this.host.finished(this);
  }

  private deliver(waiter: Waiter<T>): void {
    this.observed = true;
    if (this.outcome === 'ok') waiter.resume(this.value as T);
    else waiter.fail(this.error);
  }

  // ---- Joining -----------------------------------------------------------------------------------------------

  /** Waits for the task to finish: its value, or its error thrown (a CancelledError if it was cancelled). */
  join(): Operation<T> {
    return new JoinInstruction(this);
  }

  [Symbol.iterator](): Iterator<Instruction<unknown>, T, unknown> {
    return new JoinInstruction(this);
  }

  /** The result of a finished task (throws its error); for code outside tasks, e.g. after run(). */
  result(): T {
    if (this.state !== 'done') throw new Error(`Task '${this.name}' has not finished`);
    this.observed = true;
    if (this.outcome === 'ok') return this.value as T;
    throw this.error;
  }

  /** The error a finished task failed with, without throwing it (undefined if it succeeded). */
  failure(): unknown {
    return this.outcome === 'failed' || this.outcome === 'cancelled' ? this.error : undefined;
  }

  /** @internal used by JoinInstruction */
  addJoiner(waiter: Waiter<T>): void {
    if (this.state === 'done') this.deliver(waiter);
    else this.joiners.push(waiter);
  }

  /** @internal used by JoinInstruction */
  removeJoiner(waiter: Waiter<T>): void {
    const i = this.joiners.indexOf(waiter);
    if (i >= 0) this.joiners.splice(i, 1);
  }
}

class JoinInstruction<T> extends Instruction<T> {
  constructor(private readonly target: Task<T>) {
    super();
  }
  start(waiter: Waiter<T>): void {
    this.target.addJoiner(waiter);
  }
  override interrupt(waiter: Waiter<T>): void {
    this.target.removeJoiner(waiter);
  }
  describe(): string {
    return `join('${this.target.name}')`;
  }
}
