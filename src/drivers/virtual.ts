// Virtual time for tests (trio's MockClock with autojump, asyncio's TestLoop): the clock stands still while
// tasks run or I/O is in flight, and when every task is idle and only timers remain, it jumps straight to the
// next deadline. An hour of timeouts runs in microseconds and the test never depends on the machine's speed.
import type { Driver } from './driver.js';

export class VirtualDriver implements Driver {
  private clock = 0;

  constructor(private readonly inner: Driver) {}

  get backend(): string {
    return this.inner.backend;
  }
  get reason(): string {
    return this.inner.reason;
  }
  get completions(): Int32Array {
    return this.inner.completions;
  }
  get io() {
    return this.inner.io;
  }
  now(): number {
    return this.clock;
  }

  wait(timeoutMs: number, ioInFlight: number): number {
    if (timeoutMs === 0) return this.inner.wait(0, ioInFlight);
    // Real I/O decides: time does not pass while the kernel works, so a timer can never beat a completion
    // that is already on its way, which keeps tests deterministic.
    if (ioInFlight > 0) return this.inner.wait(-1, ioInFlight);
    if (timeoutMs > 0) this.clock += timeoutMs;  // idle with a timer pending: jump to it
    return 0;
  }

  close(): void {
    this.inner.close();
  }
}
