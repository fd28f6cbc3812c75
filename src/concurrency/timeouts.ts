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
//
// Each timeout is a TimeoutScope object (asyncio's Timeout, trio's CancelScope): the body receives it, and
// timeout(ms) / timeoutAt(deadline) create one up front, so code can read its deadline, move it with
// reschedule(), and ask afterwards whether it expired. A deadline already passed on entry cancels the scope
// at once, so the body's first yield* raises — `withTimeout(0, yieldNow())` times out, as trio's
// fail_after(0) around sleep(0) does.
import { currentLoop } from '../core/context.js';
import { CancelledError, CorioError, TimeoutError, describeValue } from '../core/errors.js';
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

function checkDeadline(name: string, deadline: unknown): number {
  if (typeof deadline !== 'number' || Number.isNaN(deadline)) {
    throw new RangeError(`${name}() needs a deadline in milliseconds on the loop's clock (see now()), got ${describeValue(deadline)}`);
  }
  return deadline;
}

/** What a timeout runs: a generator function, which receives the timeout's scope, or an operation. */
export type TimedBody<T> = ((scope: TimeoutScope) => Operation<T>) | Operation<T>;

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

type ScopeState = 'created' | 'entered' | 'exited';

/**
 * A deadline around a body. Created by timeout(ms) / timeoutAt(deadline) (then entered with run() or
 * moveOn()), or by withTimeout and friends, which pass it to their body.
 */
export class TimeoutScope {
  private state: ScopeState = 'created';
  private when: number;
  private enteredAt = 0;
  private cancelScope: CancelScope | null = null;
  private timer: Timer | null = null;
  private loopNow: (() => number) | null = null;

  /** @internal */
  constructor(
    deadline: number,
    private readonly kind: string,
    private requestedMs: number | undefined,
  ) {
    this.when = deadline;
  }

  /** The deadline on the loop's clock (compare with now()); Infinity means none. */
  get deadline(): number {
    return this.when;
  }

  /** True once the deadline passed and cancelled the body (asyncio's Timeout.expired()). */
  get expired(): boolean {
    return this.cancelScope?.expired ?? false;
  }

  /**
   * Moves the deadline (absolute, on the loop's clock; Infinity removes it). A deadline already passed
   * cancels the body at once. Only while the scope runs (asyncio's rule): not before it is entered, nor
   * after it ended or expired.
   */
  reschedule(deadline: number): void {
    checkDeadline('reschedule', deadline);
    if (this.state === 'created') throw new CorioError('ERR_CORIO_TIMEOUT_STATE', `${this.kind}: cannot reschedule a timeout that has not been entered`);
    if (this.state === 'exited') throw new CorioError('ERR_CORIO_TIMEOUT_STATE', `${this.kind}: cannot reschedule a timeout that has ended`);
    if (this.expired) throw new CorioError('ERR_CORIO_TIMEOUT_STATE', `${this.kind}: cannot reschedule a timeout that has expired`);
    this.when = deadline;
    this.requestedMs = undefined;
    if (this.state === 'entered') this.arm();
  }

  /** Runs `body`; at the deadline it is cancelled and TimeoutError is thrown. */
  run<T>(body: TimedBody<T>): Operation<T> {
    return this.enter(body, (ms) => {
      throw new TimeoutError(ms);
    });
  }

  /** Runs `body`; at the deadline it is cancelled and undefined is returned. */
  moveOn<T>(body: TimedBody<T>): Operation<T | undefined> {
    return this.enter(body, () => undefined);
  }

  private enter<T, R>(body: TimedBody<T>, onExpired: (ms: number) => R): Operation<T | R> {
    const self = this;
    const op = typeof body === 'function' ? toOperation(() => body(self), this.kind) : toOperation(body, this.kind);
    return {
      *[Symbol.iterator]() {
        if (self.state !== 'created') throw new CorioError('ERR_CORIO_TIMEOUT_STATE', `${self.kind}: a timeout scope can be entered once`);
        const task = currentTask();
        const loop = currentLoop();
        self.state = 'entered';
        self.loopNow = () => loop.now();
        self.enteredAt = loop.now();
        const scope = new CancelScope(task, false, self.kind);
        self.cancelScope = scope;
        try {
          return yield* inScope(task, scope, {
            *[Symbol.iterator]() {
              self.arm();  // inside the scope, so a deadline already passed cancels it before the body runs
              return yield* op;
            },
          }, () => onExpired(self.requestedMs ?? Math.max(0, self.when - self.enteredAt)));
        } finally {
          self.state = 'exited';
          self.disarm();
        }
      },
    };
  }

  private disarm(): void {
    if (this.timer !== null) {
      currentLoop().timers.cancel(this.timer);
      this.timer = null;
    }
  }

  private arm(): void {
    this.disarm();
    const scope = this.cancelScope!;
    const deadline = this.when;
    const expire = () => {
      this.timer = null;
      scope.expired = true;
      scope.cancel(`${this.kind}: deadline passed`);
    };
    if (deadline <= this.loopNow!()) {
      expire();
      return;
    }
    if (deadline === Infinity) return;
    const loop = currentLoop();
    const timer: Timer = { deadline, seq: loop.timers.nextSeq(), cancelled: false, fire: expire };
    this.timer = timer;
    loop.timers.push(timer);
  }
}

/**
 * A timeout scope whose deadline is `ms` from now (fixed here, as asyncio.timeout() does):
 * `const t = timeout(50); yield* t.run(body); t.expired`.
 */
export function timeout(ms: number): TimeoutScope {
  checkMs('timeout', ms);
  return new TimeoutScope(currentLoop().now() + ms, `timeout(${ms})`, ms);
}

/** A timeout scope with an absolute deadline on the loop's clock. */
export function timeoutAt(deadline: number): TimeoutScope {
  return new TimeoutScope(checkDeadline('timeoutAt', deadline), 'timeoutAt', undefined);
}

/** Runs `body`; if it has not finished after `ms`, cancels it and throws a TimeoutError. */
export function withTimeout<T>(ms: number, body: TimedBody<T>): Operation<T> {
  checkMs('withTimeout', ms);
  return {
    *[Symbol.iterator]() {
      return yield* new TimeoutScope(currentLoop().now() + ms, `withTimeout(${ms})`, ms).run(body);
    },
  };
}

/** Runs `body`; if it has not finished after `ms`, cancels it and returns undefined. */
export function moveOnAfter<T>(ms: number, body: TimedBody<T>): Operation<T | undefined> {
  checkMs('moveOnAfter', ms);
  return {
    *[Symbol.iterator]() {
      return yield* new TimeoutScope(currentLoop().now() + ms, `moveOnAfter(${ms})`, ms).moveOn(body);
    },
  };
}

/** withTimeout with an absolute deadline on the loop's clock (compare with now()). */
export function withDeadline<T>(deadline: number, body: TimedBody<T>): Operation<T> {
  checkDeadline('withDeadline', deadline);
  return {
    *[Symbol.iterator]() {
      return yield* new TimeoutScope(deadline, 'withDeadline', undefined).run(body);
    },
  };
}

/** moveOnAfter with an absolute deadline on the loop's clock. */
export function moveOnAt<T>(deadline: number, body: TimedBody<T>): Operation<T | undefined> {
  checkDeadline('moveOnAt', deadline);
  return {
    *[Symbol.iterator]() {
      return yield* new TimeoutScope(deadline, 'moveOnAt', undefined).moveOn(body);
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
