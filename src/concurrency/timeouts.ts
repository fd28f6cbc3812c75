// Timeouts and shields: regions of a task's code with a cancel scope of their own (see scope.ts).
//
//   withTimeout(ms, body)   fail after a deadline: the body is cancelled and TimeoutError is thrown
//   moveOnAfter(ms, body)   move on after a deadline: the body is cancelled and undefined is returned
//   withDeadline / moveOnAt the same with an absolute time on the loop's clock (now() + ms)
//   shield(body)            cancellation from outside waits until the body has finished
//
// Nested deadlines are attributed to the scope whose deadline passed; when several pass at once the
// outermost wins (its cancellation passes through the inner scopes untouched). A deadline never turns an
// outside cancellation into a timeout or swallows it: see outerCancellation() in scope.ts.
import { currentLoop } from '../core/context.js';
import { CancelledError, TimeoutError, describeValue } from '../core/errors.js';
import type { Instruction, Operation } from '../core/instruction.js';
import { CancelScope, outerCancellation } from '../core/scope.js';
import { currentTask, type Task } from '../core/task.js';
import type { Timer } from '../core/timers.js';
import { toOperation, type Body } from '../core/body.js';

function checkMs(name: string, ms: unknown): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new RangeError(`${name}() needs a non-negative number of milliseconds, got ${describeValue(ms)}`);
  }
  return ms;
}

/** Runs `body` inside `scope`; a cancellation of this very scope is handed to `onOwn` (unless an outer
 *  scope is cancelled too, which then wins). */
export function* inScope<T, R>(
  task: Task<unknown>,
  scope: CancelScope,
  body: Operation<T>,
  onOwn: (error: CancelledError) => R,
): Generator<Instruction<unknown>, T | R, unknown> {
  task.enterScope(scope);
  try {
    return yield* body;
  } catch (error) {
    if (error instanceof CancelledError && error.scope === scope) {
      const outer = outerCancellation(task.scopes, scope);
      if (outer !== null) {
        outer.delivered = true;
        throw outer.error();
      }
      return onOwn(error);
    }
    throw error;
  } finally {
    task.exitScope(scope);
  }
}

function* deadlineScope<T, R>(
  kind: string,
  deadline: number,
  ms: number,
  body: Body<T>,
  onExpired: () => R,
): Generator<Instruction<unknown>, T | R, unknown> {
  const task = currentTask();
  const loop = currentLoop();
  const scope = new CancelScope(task, false, `${kind}(${ms})`);
  const timer: Timer = {
    deadline,
    seq: loop.timers.nextSeq(),
    cancelled: false,
    fire: () => {
      scope.expired = true;
      scope.cancel(`${kind}(${ms}): deadline passed`);
    },
  };
  loop.timers.push(timer);
  try {
    return yield* inScope(task, scope, toOperation(body, kind), () => onExpired());
  } finally {
    loop.timers.cancel(timer);
  }
}

/** Runs `body`; if it has not finished after `ms`, cancels it and throws a TimeoutError. */
export function withTimeout<T>(ms: number, body: Body<T>): Operation<T> {
  checkMs('withTimeout', ms);
  return {
    *[Symbol.iterator]() {
      return yield* deadlineScope('withTimeout', currentLoop().now() + ms, ms, body, () => {
        throw new TimeoutError(ms);
      });
    },
  };
}

/** Runs `body`; if it has not finished after `ms`, cancels it and returns undefined. */
export function moveOnAfter<T>(ms: number, body: Body<T>): Operation<T | undefined> {
  checkMs('moveOnAfter', ms);
  return {
    *[Symbol.iterator]() {
      return yield* deadlineScope('moveOnAfter', currentLoop().now() + ms, ms, body, () => undefined);
    },
  };
}

/** withTimeout with an absolute deadline on the loop's clock (compare with now()). */
export function withDeadline<T>(deadline: number, body: Body<T>): Operation<T> {
  return {
    *[Symbol.iterator]() {
      const ms = Math.max(0, deadline - currentLoop().now());
      return yield* deadlineScope('withDeadline', deadline, ms, body, () => {
        throw new TimeoutError(ms);
      });
    },
  };
}

/** moveOnAfter with an absolute deadline on the loop's clock. */
export function moveOnAt<T>(deadline: number, body: Body<T>): Operation<T | undefined> {
  return {
    *[Symbol.iterator]() {
      const ms = Math.max(0, deadline - currentLoop().now());
      return yield* deadlineScope('moveOnAt', deadline, ms, body, () => undefined);
    },
  };
}

/**
 * Runs `body` protected from cancellation from outside: a cancel arriving meanwhile is held back and
 * delivered at the first suspension after the body finishes. Use it for short cleanup that must complete
 * (writing a commit record); a shielded body that never ends makes its task uncancellable.
 */
export function shield<T>(body: Body<T>): Operation<T> {
  return {
    *[Symbol.iterator]() {
      const task = currentTask();
      const scope = new CancelScope(task, true, 'shield');
      return yield* inScope(task, scope, toOperation(body, 'shield'), (e) => {
        throw e;  // a shield is never cancelled itself
      });
    },
  };
}
