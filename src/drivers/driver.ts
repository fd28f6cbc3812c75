// The driver is what the loop waits on (STYLE.md 4: the loop logic never calls the OS itself). It owns the
// clock and the backend's submission port. The native driver blocks in the addon; the virtual driver
// (virtual.ts) jumps time forward when everything is idle, so tests of timeouts run in microseconds; the
// hosted driver (hosted.ts) runs the same loop inside Node's own loop.
import { isMainThread } from 'node:worker_threads';
import { binding, type NativeBackend, type NativeBackendOptions } from './native.js';

export interface Driver {
  /** Backend name ('uring', 'epoll', …) and why it was chosen. */
  readonly backend: string;
  readonly reason: string;
  /** Where wait() leaves (token, result) pairs. */
  readonly completions: Int32Array;
  /** Submission port: one call per operation, results through wait(). */
  readonly io: NativeBackend;
  /** Milliseconds on the driver's clock (monotonic). */
  now(): number;
  /**
   * Flush submissions and block until a completion, a wake, or `timeoutMs` (-1: no limit, 0: poll).
   * `ioInFlight` lets a virtual clock know whether waiting can end by I/O or only by moving time.
   * Returns the number of completions written to `completions`.
   */
  wait(timeoutMs: number, ioInFlight: number): number;
  close(): void;
  /**
   * Random bytes for choices corio makes itself (writeFileAtomic's temporary names). Only a simulation
   * provides it, from its seed, so those choices replay; otherwise they come from node:crypto.
   */
  random?(n: number): Uint8Array;
  /**
   * True when the loop is a guest in Node's event loop (hosted.ts): wait() never blocks, Promises settle
   * between iterations, and work can arrive from outside any task (call(), a settled Promise), so "nothing
   * can make progress" is no longer something the loop can know.
   */
  readonly guest?: boolean;
  /** Something outside the loop made a task ready (a Promise settled): run an iteration soon. */
  kick?(): void;
}

/** Completions handed over per wait(); more stay queued in the backend for the next iteration. */
export const COMPLETION_BATCH = 1024;

/**
 * Longest single native wait in a worker thread, in ms. worker.terminate() (and process.exit() on the main
 * thread, which terminates every worker and joins it) only asks V8 to stop the worker's JavaScript: nothing
 * reaches a thread blocked in a system call, and Node-API offers no hook that runs when termination is
 * requested (env cleanup hooks run on the worker's own thread, after its JavaScript has returned). So a
 * worker never blocks longer than this: the wait returns (a spurious return is allowed, contract 5/6), the
 * loop re-enters JavaScript, V8 sees the termination and unwinds, and the backend is drained by its
 * finalizer at the worker's teardown. Cost: an idle worker wakes 20 times a second; bound: terminate()
 * takes at most ~50 ms more than it would in a Node worker that is not in run(). The main thread needs no
 * slices: no other thread can terminate it, and signals wake it through the signal watcher.
 */
export const WORKER_WAIT_SLICE_MS = 50;

export class NativeDriver implements Driver {
  readonly completions = new Int32Array(COMPLETION_BATCH * 2);
  readonly io: NativeBackend;
  private readonly slice = isMainThread ? Infinity : WORKER_WAIT_SLICE_MS;

  constructor(kind: string, options?: NativeBackendOptions) {
    this.io = new binding.NativeBackend(kind, this.completions, options);
  }
  get backend(): string {
    return this.io.name;
  }
  get reason(): string {
    return this.io.reason;
  }
  now(): number {
    return performance.now();
  }
  wait(timeoutMs: number): number {
    return this.io.wait(timeoutMs < 0 || timeoutMs > this.slice ? this.slice : timeoutMs);
  }
  close(): void {
    this.io.destroy();
  }
}
