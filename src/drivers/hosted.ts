// The hosted driver: corio's loop as a guest in Node's own event loop (trio's start_guest_run is the
// model). wait() never blocks: the loop only ever polls the backend, and between iterations Node's loop
// runs — its timers, sockets and Promises. What wakes the guest up:
//  - the backend's descriptor becoming readable (io_uring ring fd, epoll fd, kqueue fd), watched by a
//    libuv uv_poll_t all along (a completion, or a wake() such as the signal watcher's), which holds a
//    reference on Node's loop only while I/O is in flight;
//  - corio's next timer, as one libuv uv_timer_t;
//  - kick(): a Promise settled or call() spawned a task, so a task is ready, or a turn ran out of budget with
//    tasks still ready (an iteration is asked for with setImmediate, which runs after Node's I/O poll: a busy
//    guest never starves Node's own I/O).
// The scheduling itself (iterations back to back within a time budget, shutdown across turns) is in
// src/hosted.ts, which owns the Loop; this file only knows the backend and the watchers.
//
// Windows (IOCP) has no descriptor libuv can poll (native/binding/hosted_win.cc explains the choice): while
// I/O is in flight the driver polls wait(0) from a 1 ms Node timer instead, and corio's own timers are a
// Node timer too.
import { binding, type HostedWatcher, type NativeBackend, type NativeBackendOptions } from './native.js';
import { COMPLETION_BATCH, type Driver } from './driver.js';

/** How often IOCP's hosted mode polls the port while I/O is in flight (ms; Node timers are whole ms). */
export const IOCP_POLL_MS = 1;
/** Without a descriptor, how often a wake() (a Ctrl-C from the signal watcher) is looked for; unref'd. */
export const SIGNAL_POLL_MS = 50;

export class HostedDriver implements Driver {
  readonly completions = new Int32Array(COMPLETION_BATCH * 2);
  readonly io: NativeBackend;
  readonly guest = true;
  private readonly watcher: HostedWatcher | null;
  private fallbackTimer: NodeJS.Timeout | null = null;
  private signalPoll: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private lastWaitFull = false;
  private closed = false;

  /**
   * Virtual time (virtual.ts's rule, for tests): the clock stands still while anything runs or I/O is in
   * flight, and jumps to the next timer when the guest is otherwise idle. Promises from outside do not
   * hold it back: a hosted test with a virtual clock should wait on corio's own work.
   */
  private virtualClock: number | null = null;

  /** `onWake` runs one loop iteration; it is called from Node's loop, never from inside wait(). */
  constructor(
    kind: string,
    options: NativeBackendOptions | undefined,
    private readonly onWake: () => void,
    clock: 'real' | 'virtual' = 'real',
  ) {
    if (clock === 'virtual') this.virtualClock = 0;
    this.io = new binding.NativeBackend(kind, this.completions, { ...options, pollable: true });
    try {
      // io_uring arms its wake read as an SQE when it is made; submit it now, so that a wake() (a signal)
      // reaches the descriptor even if the program never does I/O. A fresh backend has nothing to return.
      this.io.wait(0);
      // A backend without a descriptor (IOCP) gets the timer fallback, whatever the platform.
      const Watcher = binding.HostedWatcher;
      this.watcher = Watcher === null || this.io.name === 'iocp' ? null : new Watcher(this.io, () => this.wakeNow());
      if (this.watcher === null) this.signalPoll = setInterval(() => this.wakeNow(), SIGNAL_POLL_MS).unref();
    } catch (error) {
      this.io.destroy();
      throw error;
    }
  }
  get backend(): string {
    return this.io.name;
  }
  get reason(): string {
    return this.io.reason;
  }
  /** True when the backend is watched through its descriptor, false for the IOCP timer fallback. */
  get pollsDescriptor(): boolean {
    return this.watcher !== null;
  }
  now(): number {
    return this.virtualClock ?? performance.now();
  }
  /** Never blocks, whatever the loop asked for: Node's loop does the waiting. */
  wait(_timeoutMs: number): number {
    const n = this.io.wait(0);
    this.lastWaitFull = n === COMPLETION_BATCH;
    return n;
  }

  kick(): void {
    if (this.immediate === null && !this.closed) this.immediate = setImmediate(() => this.wakeNow());
  }

  /** The last wait() filled the batch: more completions may be queued where no descriptor shows them. */
  get full(): boolean {
    return this.lastWaitFull;
  }

  /**
   * After a turn (src/hosted.ts runs iterations back to back while it can, then flushes): when to run the
   * next one. `ready`: tasks are still ready (the turn ran out of budget), so another turn follows Node's
   * I/O poll (setImmediate runs in the check phase, after it). Otherwise the guest sleeps until its
   * descriptor is readable — level-triggered, so completions the last flush left in the kernel wake it
   * without a setImmediate — or its next timer (`timerMs`, -1: none); only I/O in flight and the timer keep
   * Node's loop alive.
   */
  plan(ready: boolean, timerMs: number, ioInFlight: number): void {
    if (this.closed) return;
    if (ready || this.lastWaitFull) {
      this.disarm();
      this.kick();
      return;
    }
    if (this.virtualClock !== null) {
      if (ioInFlight === 0 && timerMs >= 0) {
        this.virtualClock += timerMs;  // idle with a timer pending: jump to it
        this.kick();
        return;
      }
      timerMs = -1;  // time stands still while the kernel works
    }
    if (this.watcher !== null) {
      this.watcher.arm(timerMs, ioInFlight > 0);
      return;
    }
    let delay = timerMs;
    if (ioInFlight > 0) delay = delay < 0 ? IOCP_POLL_MS : Math.min(delay, IOCP_POLL_MS);
    this.clearFallback();
    if (delay >= 0) this.fallbackTimer = setTimeout(() => this.wakeNow(), Math.ceil(delay));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disarm();
    if (this.signalPoll !== null) clearInterval(this.signalPoll);
    this.watcher?.close();  // before the backend goes: libuv must stop polling its descriptor first
    this.io.destroy();
  }

  private wakeNow(): void {
    if (this.closed) return;
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
    this.clearFallback();
    this.onWake();
  }

  private disarm(): void {
    this.watcher?.arm(-1, false);
    this.clearFallback();
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
  }

  private clearFallback(): void {
    if (this.fallbackTimer !== null) {
      clearTimeout(this.fallbackTimer);
      this.fallbackTimer = null;
    }
  }
}
