// Cancel scopes: the unit of cancellation inside a task (trio's CancelScope, asyncio's Timeout).
//
// Every task has a root scope; timeouts, shields and task groups push more. Cancelling a scope throws one
// CancelledError — tagged with that scope — into the task at its current suspension point, if the task is
// inside the scope and no shield stands between. Delivery is edge-triggered (as in asyncio, unlike trio): once
// the error is thrown, later suspensions inside the same scope proceed, so `finally { yield* file.close() }`
// works without a shield. The tag is what makes timeouts safe: a scope only ever absorbs its own error.
//
// Why the tag matters, by example (CPython gh-86296): a 1 s timeout around a read, and the whole task is
// cancelled from outside at the same moment the deadline passes.
//
//     yield* withTimeout(1000, read())      // timeout scope T inside the task's root scope R
//
// Both T and R are cancelled; the task receives ONE error, for the outermost cancelled scope (R). It passes
// through T's exit (T only absorbs errors tagged T) and the task ends cancelled, as its caller asked. Had T
// been delivered first, T's exit would still see that R is cancelled and re-throw R's error instead of
// turning the cancellation into a TimeoutError. A timeout therefore never swallows an outside cancellation.
import { CancelledError } from './errors.js';

/** What a scope needs from the task it belongs to. */
export interface ScopeOwner {
  /** A scope of this task was cancelled: deliver it now if the task is waiting. */
  deliverCancellation(): void;
  readonly scopes: CancelScope[];
}

export class CancelScope {
  /** cancel() was called (or the deadline passed). */
  cancelled = false;
  /** The CancelledError for this scope has been thrown into the task. */
  delivered = false;
  /** The scope's region has been left. */
  exited = false;
  /** A deadline cancelled this scope (as opposed to a cancel() call). */
  expired = false;
  reason: string | undefined;

  constructor(
    readonly owner: ScopeOwner,
    /** Cancellation of enclosing scopes is held back while the task is inside a shielded scope. */
    readonly shield = false,
    readonly label = 'scope',
  ) {}

  cancel(reason?: string): void {
    if (this.cancelled || this.exited) return;
    this.cancelled = true;
    this.reason = reason;
    this.owner.deliverCancellation();
  }

  error(): CancelledError {
    return new CancelledError(this.reason ?? `${this.label} was cancelled`, this);
  }
}

/**
 * The scope whose cancellation should be delivered now, if any: the outermost cancelled, undelivered scope
 * at or inside the innermost shield. Outermost, so that when an outer and an inner scope are both cancelled
 * the error propagates through (and is not absorbed by) the inner one.
 */
export function pendingCancellation(scopes: readonly CancelScope[]): CancelScope | null {
  let from = 0;
  for (let i = scopes.length - 1; i > 0; i--) {
    if (scopes[i].shield) {
      from = i;
      break;
    }
  }
  for (let i = from; i < scopes.length; i++) {
    const s = scopes[i];
    if (s.cancelled && !s.delivered) return s;
  }
  return null;
}

/**
 * After `scope` absorbed its own cancellation: is an enclosing scope (not hidden by a shield) cancelled too?
 * Then that cancellation must win over the absorbed one — returned so the caller throws it instead.
 */
export function outerCancellation(scopes: readonly CancelScope[], scope: CancelScope): CancelScope | null {
  const at = scopes.indexOf(scope);
  if (at < 0 || scope.shield) return null;
  for (let i = at - 1; i >= 0; i--) {
    const s = scopes[i];
    if (s.cancelled && !s.delivered) return s;
    if (s.shield) return null;
  }
  return null;
}
