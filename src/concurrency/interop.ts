// Promises and AbortSignals across the boundary between corio tasks and Node's Promise code.
//
//   until(promise | (signal) => promise)   a task waits for a Promise (Effection's `until`); cancelling the
//                                           task stops the wait and aborts the signal handed to the callee
//   cancellationSignal()                    the current task's cancellation as an AbortSignal
//   withAbortSignal(signal, body)           body is cancelled when an outside AbortSignal aborts
//
// (call() and settled(), the other direction, need the hosted loop itself and live in src/hosted.ts.)
//
// until() needs a loop that lets Promises settle: the hosted one (start()). In run() corio's loop owns the
// thread, V8 never gets to run the Promise's reactions, and the wait could only end in a deadlock, so
// until() there fails at once with ERR_CORIO_NOT_HOSTED.
import { currentLoop } from '../core/context.js';
import type { Loop } from '../core/loop.js';
import { CancelledError, CorioError, describeValue } from '../core/errors.js';
import { Instruction, type Operation, type Waiter } from '../core/instruction.js';
import { CancelScope } from '../core/scope.js';
import { currentTask, Task } from '../core/task.js';
import { toOperation, type Body } from '../core/body.js';
import { inScope } from './timeouts.js';

/** What until() accepts: a Promise (any thenable), or a function given an AbortSignal that returns one. */
export type PromiseSource<T> = PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>);

class UntilInstruction<T> extends Instruction<T> {
  private controller: AbortController | null = null;
  private finished = false;
  private loop: Loop | null = null;

  constructor(private readonly source: PromiseSource<T>) {
    super();
  }

  start(waiter: Waiter<T>): void {
    const loop = currentLoop();
    if (loop.driver.guest !== true) {
      waiter.fail(new CorioError('ERR_CORIO_NOT_HOSTED',
        `until() waits for a Promise, which cannot settle inside run(): run() owns the thread. Start the program with start() instead (task '${waiter.name}')`));
      return;
    }
    let promise: PromiseLike<T>;
    try {
      if (typeof this.source === 'function') {
        this.controller = new AbortController();
        promise = this.source(this.controller.signal);
      } else {
        promise = this.source;
      }
      if (promise === null || typeof promise !== 'object' && typeof promise !== 'function' ||
          typeof (promise as PromiseLike<T>).then !== 'function') {
        throw new TypeError(`until() needs a Promise (or a function returning one), got ${describeValue(promise)}`);
      }
    } catch (error) {
      this.finished = true;
      waiter.fail(error);
      return;
    }
    // Counted while unsettled: a hosted teardown must not take this task for stuck (Loop.redeliverIfStalled).
    this.loop = loop;
    loop.promiseWaits++;
    // Both reactions are attached, so a rejection after a cancellation is never an unhandled rejection.
    promise.then(
      (value) => {
        if (!this.finish()) return;
        waiter.resume(value);
        loop.kick();
      },
      (error: unknown) => {
        if (!this.finish()) return;
        waiter.fail(error);
        loop.kick();
      },
    );
  }

  /** Marks the wait over (once): false if it already was. */
  private finish(): boolean {
    if (this.finished) return false;
    this.finished = true;
    if (this.loop !== null) this.loop.promiseWaits--;
    return true;
  }

  override interrupt(waiter: Waiter<T>): void {
    if (!this.finish()) return;
    this.controller?.abort(new CancelledError(`until() in task '${waiter.name}' was cancelled`));
  }

  describe(): string {
    return 'until(Promise)';
  }
}

/**
 * Waits for a Promise inside a task and returns its value (or throws its rejection). With a function, the
 * function is called with an AbortSignal that aborts when the wait is cancelled, so cancelling the task
 * cancels the work itself: `yield* until((signal) => fetch(url, { signal }))`. Cancellation does not wait
 * for the Promise: the task moves on at once and a later settlement is ignored. Needs start(); in run() it
 * throws ERR_CORIO_NOT_HOSTED.
 */
export function until<T>(source: PromiseSource<T>): Operation<Awaited<T>> {
  if (source === null || (typeof source !== 'object' && typeof source !== 'function')) {
    throw new TypeError(`until() needs a Promise or a function (signal) => Promise, got ${describeValue(source)}`);
  }
  return new UntilInstruction(source) as unknown as Operation<Awaited<T>>;
}

/** The running task's cancellation as an AbortSignal (Task.abortSignal() says when it aborts). */
export function cancellationSignal(): Operation<AbortSignal> {
  return signalInstruction;
}

class SignalInstruction extends Instruction<AbortSignal> {
  start(waiter: Waiter<AbortSignal>): void {
    // The waiter is the task (start() runs after the step has ended, so currentTask() would not know it).
    if (waiter instanceof Task) waiter.resume(waiter.abortSignal());
    else waiter.fail(new TypeError('cancellationSignal() can only run inside a corio task'));
  }
  describe(): string {
    return 'cancellationSignal()';
  }
}
// Stateless (like yieldNow's), so one instance serves every call.
const signalInstruction = new SignalInstruction();

/**
 * Runs `body`, cancelling it when `signal` aborts: the body gets a CancelledError at its suspension point
 * (its finally blocks run) and withAbortSignal throws a CancelledError whose `cause` is `signal.reason`.
 * An already aborted signal cancels before the body's first suspension. The signal may abort from anywhere:
 * a Node timer (AbortSignal.timeout), an HTTP request closing, another task.
 */
export function* withAbortSignal<T>(signal: AbortSignal, body: Body<T>): Generator<Instruction<unknown>, T, unknown> {
  if (!(signal instanceof AbortSignal)) {
    throw new TypeError(`withAbortSignal() needs an AbortSignal, got ${describeValue(signal)}`);
  }
  const task = currentTask();
  const loop = currentLoop();
  const scope = new CancelScope(task, false, 'withAbortSignal()');
  const reasonText = () => `cancelled by an AbortSignal: ${describeReason(signal.reason)}`;
  const onAbort = () => {
    scope.cancel(reasonText());
    loop.kick();  // the abort came from Promise code: the now-ready task needs an iteration
  };
  if (signal.aborted) scope.cancel(reasonText());
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    return yield* inScope(task, scope, toOperation(body, 'withAbortSignal'), (error: CancelledError): never => {
      const out = new CancelledError(error.message, scope);
      (out as Error & { cause?: unknown }).cause = signal.reason;
      throw out;
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}
