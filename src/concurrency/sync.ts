// Synchronization primitives for tasks on one loop: Event, Lock, Semaphore, BoundedSemaphore, Condition,
// Barrier. All of them wake waiters in FIFO order (the order they started waiting), and hand ownership over
// directly — a released Lock goes to the first waiter, not to whichever task asks next — so no task can be
// overtaken forever. A waiter that is cancelled leaves the line without taking a turn. A waiter that was
// handed the lock or a permit keeps it even if a cancellation arrives before it runs: a task always receives a
// delivered result first and the cancellation at its next yield* (task.ts), so nothing handed over is lost.
//
// Every waiting operation is a checkpoint (trio): a cancellation already pending is raised before it takes
// anything, even when it would not need to wait (a set Event, a free Lock). asyncio returns from those
// without looking; corio checks, so a cancelled loop around `yield* lock.acquire()` cannot run forever.
//
// Lock has an owner (trio): only the owning task may release it, and a lock whose owner ended while holding
// it fails every waiter and later acquirer with an error naming that task, instead of blocking them forever.
import { CorioError } from '../core/errors.js';
import { suspend, type Op, type Operation, type Waiter } from '../core/instruction.js';
import { shield } from './timeouts.js';
import { Task, checkpointIfCancelled, currentTask, type DoneWatcher } from '../core/task.js';

/** A FIFO line of waiting tasks. */
export class WaitList<T = void> {
  private waiters: Waiter<T>[] = [];

  get length(): number {
    return this.waiters.length;
  }

  /** An operation that waits in line until wakeOne/wakeAll resumes it with a value. */
  wait(description: string): Operation<T> {
    return suspend<T>(description, (waiter) => {
      this.waiters.push(waiter);
      return () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
      };
    });
  }

  /** Resumes the first waiter and returns it (the waiting task), or undefined if nobody waits. */
  wakeOne(value: T): Waiter<T> | undefined {
    const w = this.waiters.shift();
    w?.resume(value);
    return w;
  }

  wakeAll(value: T): number {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.resume(value);
    return all.length;
  }

  failAll(error: unknown): void {
    const all = this.waiters;
    this.waiters = [];
    for (const w of all) w.fail(error);
  }
}

/** A flag tasks can wait for. set() wakes every waiter; waiting on a set event returns at once. */
export class Event {
  private flag = false;
  private readonly list = new WaitList<void>();

  isSet(): boolean {
    return this.flag;
  }
  set(): void {
    this.flag = true;
    this.list.wakeAll(undefined);
  }
  clear(): void {
    this.flag = false;
  }
  *wait(): Op<void> {
    checkpointIfCancelled();
    if (this.flag) return;
    yield* this.list.wait('Event.wait()');
  }
}

/** The task that held a Lock ended without releasing it. */
export class AbandonedLockError extends CorioError {
  constructor(readonly owner: string) {
    super('ERR_CORIO_LOCK_ABANDONED', `Lock was held by task '${owner}', which ended without releasing it`);
    this.name = 'AbandonedLockError';
  }
}

/** Mutual exclusion with FIFO hand-off. Use `yield* lock.with(function* () { … })` to release on all paths. */
// A DoneWatcher of its owner task structurally; no `implements DoneWatcher`, since taskEnded() is internal and
// stripped from the published .d.ts, where the clause would then fail.
export class Lock {
  private owner: Task<unknown> | null = null;
  private abandonedBy: string | null = null;
  private readonly list = new WaitList<void>();

  /** True while a task holds the lock (or its owner ended holding it). */
  locked(): boolean {
    return this.owner !== null || this.abandonedBy !== null;
  }

  /** Takes the lock if it is free and nobody waits for it (no barging past waiters); never suspends. */
  tryAcquire(): boolean {
    const me = currentTask();
    this.checkUsable(me);
    if (this.owner !== null || this.list.length > 0) return false;
    this.take(me);
    return true;
  }

  *acquire(): Op<void> {
    const me = currentTask();
    me.raiseIfCancelled();
    this.checkUsable(me);
    if (this.owner === null) {
      this.take(me);
      return;
    }
    yield* this.list.wait('Lock.acquire()');  // release() made us the owner before resuming us
  }

  release(): void {
    const me = currentTask();
    if (this.owner === null) throw new CorioError('ERR_CORIO_LOCK', 'Lock.release() called on an unlocked lock');
    if (this.owner !== me) {
      throw new CorioError('ERR_CORIO_LOCK', `Lock.release() called by task '${me.name}', but the lock is held by task '${this.owner.name}'`);
    }
    me.unwatch(this);
    this.owner = null;
    // Ownership moves to the first waiter before it runs, so nobody can slip in between.
    const next = this.list.wakeOne();
    if (next !== undefined) this.take(next as Task<unknown>);
  }

  /** @internal the lock is held by the running task */
  heldByCurrentTask(): boolean {
    return this.owner !== null && this.owner === currentTask();
  }

  /** @internal DoneWatcher: the owner ended while holding the lock. */
  taskEnded(task: Task<unknown>): void {
    if (this.owner !== task) return;
    this.owner = null;
    this.abandonedBy = task.name;
    this.list.failAll(new AbandonedLockError(task.name));
  }

  /** Holds the lock while `body` runs, releasing it however the body ends. */
  *with<T>(body: () => Operation<T>): Op<T> {
    yield* this.acquire();
    try {
      return yield* body();
    } finally {
      this.release();
    }
  }

  private take(task: Task<unknown>): void {
    this.owner = task;
    task.watch(this);
  }

  private checkUsable(me: Task<unknown>): void {
    if (this.abandonedBy !== null) throw new AbandonedLockError(this.abandonedBy);
    if (this.owner === me) throw new CorioError('ERR_CORIO_LOCK', `Lock is already held by task '${me.name}' (it is not reentrant)`);
  }
}

/** A counter of permits; acquire() waits while it is zero. FIFO: a waiter is never overtaken. */
export class Semaphore {
  protected value: number;
  private readonly list = new WaitList<void>();

  constructor(value = 1) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`Semaphore value must be a non-negative integer, got ${value}`);
    this.value = value;
  }

  get available(): number {
    return this.value;
  }

  /** True when acquire() would have to wait (asyncio's Semaphore.locked()). */
  locked(): boolean {
    return this.value === 0 || this.list.length > 0;
  }

  /** Takes a permit if one is free and nobody waits (no barging past waiters); never suspends. */
  tryAcquire(): boolean {
    if (this.value === 0 || this.list.length > 0) return false;
    this.value--;
    return true;
  }

  *acquire(): Op<void> {
    checkpointIfCancelled();
    if (this.value > 0) {
      this.value--;
      return;
    }
    yield* this.list.wait('Semaphore.acquire()');  // release() passed its permit straight to us
  }

  release(): void {
    if (this.list.wakeOne() === undefined) this.value++;
  }

  *with<T>(body: () => Operation<T>): Op<T> {
    yield* this.acquire();
    try {
      return yield* body();
    } finally {
      this.release();
    }
  }
}

/** A semaphore that refuses to be released more times than it was acquired (a bug caught early). */
export class BoundedSemaphore extends Semaphore {
  private readonly bound: number;
  constructor(value = 1) {
    super(value);
    this.bound = value;
  }
  override release(): void {
    if (this.value >= this.bound) throw new CorioError('ERR_CORIO_SEMAPHORE', `BoundedSemaphore released more than ${this.bound} time(s)`);
    super.release();
  }
}

/**
 * A condition variable bound to a Lock. wait() releases the lock, waits for notify(), and holds the lock
 * again before it returns — also when it is cancelled (the re-acquire is shielded), so the caller's
 * `finally { lock.release() }` is always right.
 */
export class Condition {
  private readonly list = new WaitList<void>();
  constructor(readonly lock: Lock = new Lock()) {}

  *wait(): Op<void> {
    this.checkHeld('wait');
    checkpointIfCancelled();
    this.lock.release();
    try {
      yield* this.list.wait('Condition.wait()');
    } finally {
      yield* shield(() => this.lock.acquire());
    }
  }

  /** Waits until predicate() gives a truthy value, re-checking after each notify; returns that value. */
  *waitFor<T>(predicate: () => T): Op<T> {
    let result = predicate();
    while (!result) {
      yield* this.wait();
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters (in the order they started waiting). The caller must hold the lock. */
  notify(n = 1): void {
    this.checkHeld('notify');
    for (let i = 0; i < n && this.list.wakeOne(undefined); i++);
  }

  /** Wakes every waiter. The caller must hold the lock. */
  notifyAll(): void {
    this.checkHeld('notifyAll');
    this.list.wakeAll(undefined);
  }

  private checkHeld(method: string): void {
    if (!this.lock.heldByCurrentTask()) {
      throw new CorioError('ERR_CORIO_LOCK', `Condition.${method}() needs the condition's lock held by the calling task`);
    }
  }
}

/** Raised in every task waiting at a Barrier that was aborted. */
export class BrokenBarrierError extends Error {
  readonly code = 'ERR_CORIO_BROKEN_BARRIER';
  constructor() {
    super('The barrier was aborted');
    this.name = 'BrokenBarrierError';
  }
}

/**
 * Lets `parties` tasks wait for each other. wait() returns the arrival index (0 … parties-1); the barrier then
 * resets for the next round. A task cancelled while waiting breaks the barrier for the others (they would
 * otherwise wait for a party that will never come).
 */
export class Barrier {
  private arrived = 0;
  private list = new WaitList<number>();
  private isBroken = false;

  constructor(readonly parties: number) {
    if (!Number.isInteger(parties) || parties < 1) throw new RangeError(`Barrier needs parties >= 1, got ${parties}`);
  }

  get waiting(): number {
    return this.list.length;
  }

  /** True after abort() (or a waiter's cancellation) until reset(). */
  get broken(): boolean {
    return this.isBroken;
  }

  *wait(): Op<number> {
    checkpointIfCancelled();
    if (this.isBroken) throw new BrokenBarrierError();
    const index = this.arrived++;
    if (this.arrived === this.parties) {
      this.arrived = 0;
      this.list.wakeAll(0);
      return index;
    }
    try {
      yield* this.list.wait(`Barrier.wait() (${this.arrived}/${this.parties})`);
      return index;
    } catch (error) {
      // A party that leaves (cancelled) breaks the round for the others. A BrokenBarrierError is the
      // barrier's own doing — abort(), or reset() ending the round — and must not break it again.
      if (!(error instanceof BrokenBarrierError) && !this.isBroken) this.abort();
      throw error;
    }
  }

  /** Breaks the barrier: current and future waiters get BrokenBarrierError until reset(). */
  abort(): void {
    this.isBroken = true;
    this.arrived = 0;
    this.list.failAll(new BrokenBarrierError());
  }

  /** Fails the tasks waiting now with BrokenBarrierError and makes the barrier usable again, empty. */
  reset(): void {
    this.isBroken = false;
    this.arrived = 0;
    if (this.list.length > 0) this.list.failAll(new BrokenBarrierError());
  }
}
