// Stop requests while run() blocks the thread: SIGINT and SIGTERM reach corio through a native handler that
// wakes the backend (native/core/signals.h says why not signalfd or EVFILT_SIGNAL), and the loop reads them
// from a shared flag word after each iteration, with no native crossing. Node delivers signals to the main
// thread only (a worker's process.on('SIGINT') never fires), so only the main thread watches.
import { isMainThread } from 'node:worker_threads';
import { binding, type NativeBackend } from './native.js';

export type WatchedSignal = 'SIGINT' | 'SIGTERM';

const INTERRUPT = 1;  // native kInterrupt
const TERMINATE = 2;  // native kTerminate

export class SignalWatcher {
  /** Bits the native handler sets; SharedArrayBuffer memory never moves, so any thread may write it. */
  private readonly flags = new Int32Array(new SharedArrayBuffer(4));
  private stopped = false;

  private constructor() {}

  /**
   * Watches SIGINT and SIGTERM for a loop on `io`, or returns null where signals do not apply: a worker
   * thread, or a process where another loop already watches (the first one keeps them).
   */
  static start(io: NativeBackend): SignalWatcher | null {
    if (!isMainThread) return null;
    const watcher = new SignalWatcher();
    return binding.signalWatch(io, watcher.flags) ? watcher : null;
  }

  /** True when a request arrived since the last take(). One shared-memory load: cheap per iteration. */
  get pending(): boolean {
    return Atomics.load(this.flags, 0) !== 0;
  }

  /** The requests that arrived since the last call, SIGINT first; clears them. */
  take(): WatchedSignal[] {
    const bits = Atomics.exchange(this.flags, 0, 0);
    const out: WatchedSignal[] = [];
    if (bits & INTERRUPT) out.push('SIGINT');
    if (bits & TERMINATE) out.push('SIGTERM');
    return out;
  }

  /** A stop is under way (the main task is being cancelled): the next request ends the process at once. */
  exitOnNext(): void {
    binding.signalExitOnNext();
  }

  /**
   * Puts Node's handlers back. Returns requests that arrived but were never taken (e.g. during shutdown), so
   * the caller can hand them on to Node's own handling.
   */
  stop(): WatchedSignal[] {
    if (this.stopped) return [];
    this.stopped = true;
    binding.signalUnwatch();
    return this.take();
  }
}
