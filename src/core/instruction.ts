// The suspension protocol: the only thing a corio task ever yields is an Instruction (STYLE.md 9, like trio's
// _traps.py: "these are the only functions that ever yield back to the task runner").
//
// An Operation<T> is anything `yield*` can delegate to that produces T: user generator functions, and the
// Instructions below. An Instruction is its own one-step iterator, so `yield* sleep(5)` allocates only the
// instruction (no generator per operation) and a shared instruction such as yieldNow() allocates nothing.
//
// How an Instruction knows whether it is being entered or resumed without per-use state: the task that is
// stepping is recorded in `stepping`. When the task resumes with a value it sets `resuming`, and the value goes
// straight down the yield* chain to the innermost iterator — this instruction — with no user code in between,
// so the instruction answers "done, here is the value" and clears the flag. To keep that sound, the task
// refuses an Instruction that was yielded with a bare `yield` instead of `yield*` (it would leave the flag set).

/** Something that can be run with `yield*` inside a corio task and produces a T. */
export interface Operation<T> {
  [Symbol.iterator](): Iterator<Instruction<unknown>, T, unknown>;
}

/** The type of a generator function that is a corio operation: `function* f(): Op<number> { … }`. */
export type Op<T> = Generator<Instruction<unknown>, T, unknown>;

/** The part of a task an instruction talks to. Exactly one of resume/fail is called per start(). */
export interface Waiter<T = unknown> {
  readonly name: string;
  resume(value: T): void;
  fail(error: unknown): void;
}

/** Internal view of the task currently being stepped (implemented by Task). */
export interface SteppingTask {
  resuming: boolean;
  delegatedBy: Instruction<unknown> | null;
  /** Stack at the last suspension, recorded only in debug mode (it costs a stack capture per yield). */
  suspendedAt: string | undefined;
  readonly name: string;
}

let stepping: SteppingTask | null = null;

/**
 * Errors whose stack is taken again when the task resumes with them. An I/O error is made where its
 * completion is dispatched (IoTable.complete ← Loop.dispatchCompletions ← … ← run), where none of the user's
 * frames are; when the task resumes, the error travels down its yield* chain into the innermost instruction's
 * throw(), and at that moment every generator of the chain — the user's loadConfig() and its callers — is on
 * the stack. Only failures pay for this: a WeakSet entry at creation, a stack capture at delivery.
 */
const restack = new WeakSet<object>();

/** Marks an error to take the stack of the task's code where it resumes with it (see `restack`). */
export function stackOnResume<E>(error: E): E {
  if (error instanceof Error) restack.add(error);
  return error;
}

/** Replaces a marked error's stack with the frames that are live as the task resumes with it. */
function takeResumeStack(error: Error, below: Function): void {
  restack.delete(error);
  const limit = Error.stackTraceLimit;
  // Each generator of the chain shows twice (its frame and a "<name>.throw (<anonymous>)" entry that says
  // nothing): capture more, then keep the configured number of useful frames.
  Error.stackTraceLimit = limit * 2 + 2;
  try {
    Error.captureStackTrace(error, below);
  } finally {
    Error.stackTraceLimit = limit;
  }
  const lines = (error.stack ?? '').split('\n');
  const head = lines.findIndex((l) => l.startsWith('    at '));
  if (head < 0) return;
  const frames = lines.slice(head).filter((l) => !/^ {4}at \S+\.throw \(<anonymous>\)$/.test(l)).slice(0, limit);
  error.stack = [...lines.slice(0, head), ...frames].join('\n');
}
let captureStacks = false;

/** Debug mode: record where each task suspends, for slow-step warnings and task dumps. */
export function setCaptureStacks(on: boolean): void {
  captureStacks = on;
}

/** Called by Task around each step; not for users. */
export function setStepping(task: SteppingTask | null): void {
  stepping = task;
}

export function currentStepping(): SteppingTask | null {
  return stepping;
}

/**
 * The one thing a task yields to the loop: an operation that suspends the task until it is resumed with a
 * value or failed with an error. Every corio operation is built on it (yield* instruction gives its T). Use
 * suspend() to make one from a callback-style API; subclass it only to extend corio itself.
 */
export abstract class Instruction<T> implements Operation<T>, Iterator<Instruction<unknown>, T, unknown> {
  /**
   * Cleanup that must happen (closing a descriptor): a cancellation neither stops it from starting nor
   * interrupts it; it lands at the task's next yield*.
   */
  declare uncancellable: boolean;
  /**
   * A corio construct waits here while it holds a CancelledError it will re-throw (a task group waiting for
   * its children): completing this wait is not a sign that the task swallowed the cancellation.
   */
  declare holdsCancellation: boolean;

  /** Begin waiting on behalf of `waiter`; call waiter.resume or waiter.fail later, exactly once. */
  abstract start(waiter: Waiter<T>): void;

  /**
   * The waiter was cancelled while waiting here. Return nothing (or true) when the wait is undone and the
   * waiter will not be called again: the task gets its CancelledError at once. Return false when the
   * operation must finish first (I/O whose cancellation goes through the kernel): the instruction then calls
   * resume() with the real result if the operation completed anyway, or fail(new Interrupted(bytes)) if it
   * stopped — so a cancelled write still tells how many bytes reached the file.
   */
  interrupt(_waiter: Waiter<T>): boolean | void {}

  /** What a task waiting here is waiting for, for deadlock reports and task dumps. */
  abstract describe(): string;

  [Symbol.iterator](): Iterator<Instruction<unknown>, T, unknown> {
    return this;
  }

  next(value?: unknown): IteratorResult<Instruction<unknown>, T> {
    const task = stepping;
    if (task === null) {
      throw new TypeError(`${this.describe()} can only run inside a corio task: start the program with run()`);
    }
    if (task.resuming) {
      task.resuming = false;
      return { done: true, value: value as T };
    }
    task.delegatedBy = this;
    if (captureStacks) task.suspendedAt = new Error('suspended here').stack;
    return { done: false, value: this };
  }

  throw(error: unknown): IteratorResult<Instruction<unknown>, T> {
    if (error instanceof Error && restack.has(error)) takeResumeStack(error, Instruction.prototype.throw);
    throw error;
  }

  return(value?: unknown): IteratorResult<Instruction<unknown>, T> {
    return { done: true, value: value as T };
  }
}

// Defaults on the prototype, so the many short-lived instructions (one per file operation) carry no fields.
Instruction.prototype.uncancellable = false;
Instruction.prototype.holdsCancellation = false;

/** Yield to the loop: the task goes to the back of the ready queue and runs in the next iteration. */
class YieldNow extends Instruction<void> {
  // The one shared instance answers with the same two result objects every time: a task switch then
  // allocates no iterator result of its own (yield* hands an inner result to the outer next() as it is).
  // Nothing writes to them: the task reads `done` and `value` and drops them.
  private readonly suspendResult: IteratorResult<Instruction<unknown>, void> = { done: false, value: this };
  private static readonly doneResult: IteratorResult<Instruction<unknown>, void> = { done: true, value: undefined };

  override next(): IteratorResult<Instruction<unknown>, void> {
    const task = stepping;
    if (task === null || captureStacks) return super.next();  // the error, or debug mode's stack capture
    if (task.resuming) {
      task.resuming = false;
      return YieldNow.doneResult;
    }
    task.delegatedBy = this;
    return this.suspendResult;
  }

  start(waiter: Waiter<void>): void {
    waiter.resume(undefined);
  }
  describe(): string {
    return 'yieldNow()';
  }
}

const yieldInstruction = new YieldNow();

/** Let every other ready task run once, then continue (asyncio's `await asyncio.sleep(0)`). */
export function yieldNow(): Operation<void> {
  return yieldInstruction;
}

/**
 * An instruction built from two functions, for primitives that do not deserve a class of their own.
 * `start` returns the function that undoes the wait when the task is cancelled.
 */
export function suspend<T>(description: string, start: (waiter: Waiter<T>) => (() => void) | void): Operation<T> {
  return new CallbackInstruction(description, start);
}

class CallbackInstruction<T> extends Instruction<T> {
  private undo: (() => void) | void = undefined;
  constructor(
    private readonly description: string,
    private readonly onStart: (waiter: Waiter<T>) => (() => void) | void,
  ) {
    super();
  }
  start(waiter: Waiter<T>): void {
    this.undo = this.onStart(waiter);
  }
  override interrupt(): void {
    const undo = this.undo;
    this.undo = undefined;
    undo?.();
  }
  describe(): string {
    return this.description;
  }
}
