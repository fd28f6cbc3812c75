// The loop: one iteration reads top to bottom as named phases (STYLE.md 3, like asyncio's _run_once and
// libuv's uv_run). Tasks run only in runReady(); every other phase just makes tasks ready.
import { DeadlockError, UnobservedErrors } from './errors.js';
import type { Driver } from './driver.js';
import type { Instruction } from './instruction.js';
import { IoTable, setIoTableSource } from './io.js';
import { Task, type TaskHost } from './task.js';
import { TimerHeap } from './timers.js';

export class Loop implements TaskHost {
  readonly timers = new TimerHeap();
  readonly io: IoTable;
  /** Tasks that have not finished, in spawn order (for shutdown and dumps). */
  readonly live = new Set<Task<unknown>>();
  private ready: Task<unknown>[] = [];
  private spare: Task<unknown>[] = [];
  private failed: Task<unknown>[] = [];
  private closed = false;
  /** Counters for stats(): cheap integer increments only, nothing timed on the hot path. */
  iterations = 0;
  tasksSpawned = 0;
  completionsDispatched = 0;

  constructor(readonly driver: Driver) {
    this.io = new IoTable(driver.io);
  }

  now(): number {
    return this.driver.now();
  }

  spawn<T>(coroutine: Iterator<Instruction<unknown>, T, unknown>, name?: string): Task<T> {
    if (this.closed) throw new Error('corio: the loop has closed');
    const task = new Task<T>(this, coroutine, name);
    this.tasksSpawned++;
    this.live.add(task);
    this.schedule(task);
    return task;
  }

  // ---- TaskHost ----------------------------------------------------------------------------------------------

  schedule(task: Task<unknown>): void {
    this.ready.push(task);
  }

  finished(task: Task<unknown>): void {
    this.live.delete(task);
    if (task.outcome === 'failed') this.failed.push(task);
  }

  // ---- One iteration -----------------------------------------------------------------------------------------

  runOnce(): void {
    this.iterations++;
    const timeout = this.computeTimeout();
    const completed = this.driver.wait(timeout, this.io.inFlight);
    this.dispatchCompletions(completed);
    this.fireDueTimers();
    this.runReady();
  }

  /** 0 if tasks are ready; else until the next timer; else until I/O completes. Nothing at all: deadlock. */
  private computeTimeout(): number {
    if (this.ready.length > 0) return 0;
    const deadline = this.timers.peekDeadline();
    if (deadline !== undefined) return Math.max(0, deadline - this.now());
    if (this.io.inFlight > 0) return -1;
    throw new DeadlockError([...this.live].map((t) => t.describeWait()));
  }

  private dispatchCompletions(count: number): void {
    const pairs = this.driver.completions;
    this.completionsDispatched += count;
    for (let i = 0; i < count; i++) this.io.complete(pairs[2 * i], pairs[2 * i + 1]);
  }

  private fireDueTimers(): void {
    if (this.timers.size === 0) return;
    const now = this.now();
    for (let timer = this.timers.popDue(now); timer; timer = this.timers.popDue(now)) timer.fire();
  }

  /**
   * Runs the tasks that were ready when this phase began — a snapshot: tasks made ready while it runs wait
   * for the next iteration, so a task that keeps yielding cannot starve I/O completions or timers.
   */
  private runReady(): void {
    const batch = this.ready;
    this.ready = this.spare;
    for (let i = 0; i < batch.length; i++) batch[i].step();
    batch.length = 0;
    this.spare = batch;
  }

  // ---- Whole runs --------------------------------------------------------------------------------------------

  runUntilDone(task: Task<unknown>): void {
    while (!task.done) this.runOnce();
  }

  /**
   * Cancels every live task and runs until they have finished (their finally blocks may still yield*), then
   * waits for I/O that cancelled tasks left in flight, then closes the driver. Returns the failures nobody
   * joined.
   */
  shutdown(): UnobservedErrors | undefined {
    let error: unknown;
    try {
      for (const task of [...this.live]) task.cancel(`Task '${task.name}' was cancelled because run() ended`);
      while (this.live.size > 0) this.runOnce();
      while (this.io.inFlight > 0) this.dispatchCompletions(this.driver.wait(-1, this.io.inFlight));
    } catch (e) {
      error = e;
    } finally {
      this.closed = true;
      setIoTableSource(null);
      this.driver.close();
    }
    if (error !== undefined) throw error;
    const unobserved = this.failed.filter((t) => !t.observed);
    if (unobserved.length === 0) return undefined;
    return new UnobservedErrors(unobserved.map((t) => ({ task: t.name, error: t.failure() })));
  }

  describeTasks(): string[] {
    return [...this.live].map((t) => t.describeWait());
  }
}

