// Write coalescing: small writes to adjacent ranges of one file, issued during the same loop iteration, go to
// the kernel as one vectored write.
//
// Why: every write the backend runs costs a hand-off — an io-wq worker on ext4 with io_uring, a pool thread
// with epoll — and NOTES.md measures a cross-thread hand-off at tens of microseconds against ~0.6 µs for the
// write itself. 32 tasks each appending a 128-byte record in one iteration become one pwritev of 32 iovecs.
//
// What stays exactly as without it:
//  - Order. Writes merge only into runs that are contiguous *in issue order*: w1 ends where w2 starts (or
//    both write at the current position, which is contiguous by definition). Overlapping or out-of-order
//    writes break the run and go out separately, in issue order.
//  - Each caller's result. The merged result is split in issue order: a caller whose bytes were all written
//    gets its length; one cut short gets the bytes that did reach the file; callers after the cut are
//    re-issued alone, so each learns its own outcome (typically the error — ENOSPC — that cut the batch).
//    An error with nothing written fails every caller with that error: none of their bytes are in the file.
//  - Cancellation. A caller cancelled before the batch leaves it; after, the write is in the kernel on behalf
//    of others too, so the caller receives its share and the cancellation lands at its next yield*.
import type { Loop } from '../core/loop.js';
import { Instruction, type Waiter } from '../core/instruction.js';
import { CURRENT_POSITION, IoRequest, Op, type IoOwner } from '../core/io.js';

/** Largest write that is held for coalescing; bigger ones gain nothing and go out at once. */
export const DEFAULT_COALESCE_MAX_BYTES = 16 * 1024;
const MAX_IOV = 1024;
const MAX_BATCH_BYTES = 0x7ffff000;

export interface CoalesceStats {
  /** writes that went out merged with others */
  merged: number;
  /** vectored writes issued for merged runs */
  batches: number;
}

class PendingWrite extends Instruction<number> {
  waiter: Waiter<number> | null = null;
  flushed = false;

  constructor(
    readonly coalescer: WriteCoalescer,
    readonly bytes: ArrayBufferView,
    readonly position: number,
  ) {
    super();
  }

  start(waiter: Waiter<number>): void {
    this.waiter = waiter;
    this.coalescer.add(this);
  }

  override interrupt(): boolean {
    if (!this.flushed) {
      this.coalescer.remove(this);
      return true;
    }
    return false;  // in the kernel for the whole batch: receive the share, cancel at the next yield*
  }

  describe(): string {
    return `write(fd ${this.coalescer.fd}, ${this.bytes.byteLength} bytes, coalescing)`;
  }
}

export class WriteCoalescer {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  readonly stats: CoalesceStats = { merged: 0, batches: 0 };

  constructor(
    private readonly loop: Loop,
    readonly fd: number,
    private readonly owner: IoOwner,
    readonly maxBytes: number,
  ) {}

  write(bytes: ArrayBufferView, position: number): Instruction<number> {
    return new PendingWrite(this, bytes, position);
  }

  /** Writes held for the end of this iteration (the handle waits for them before closing). */
  get held(): number {
    return this.pending.length;
  }

  add(write: PendingWrite): void {
    this.pending.push(write);
    this.owner.submitted();  // counts as in flight for close(), like any request of the handle
    if (!this.scheduled) {
      this.scheduled = true;
      this.loop.defer(() => this.flush());
    }
  }

  remove(write: PendingWrite): void {
    const i = this.pending.indexOf(write);
    if (i >= 0) {
      this.pending.splice(i, 1);
      this.owner.settled();
    }
  }

  private flush(): void {
    this.scheduled = false;
    const writes = this.pending;
    this.pending = [];
    let run: PendingWrite[] = [];
    let runBytes = 0;
    let end = 0;
    for (const w of writes) {
      const len = w.bytes.byteLength;
      const contiguous =
        run.length > 0 &&
        run.length < MAX_IOV &&
        runBytes + len <= MAX_BATCH_BYTES &&
        (w.position === CURRENT_POSITION ? end === CURRENT_POSITION : end !== CURRENT_POSITION && w.position === end);
      if (!contiguous && run.length > 0) {
        this.issue(run);
        run = [];
        runBytes = 0;
      }
      run.push(w);
      runBytes += len;
      end = w.position === CURRENT_POSITION ? CURRENT_POSITION : w.position + len;
    }
    if (run.length > 0) this.issue(run);
  }

  private issue(run: PendingWrite[]): void {
    for (const w of run) w.flushed = true;
    if (run.length === 1) {
      const w = run[0];
      this.submit(Op.write, { buffer: w.bytes, offset: 0, length: w.bytes.byteLength, position: w.position }, {
        name: 'coalesced write',
        resume: (n: number) => this.settle(w, { ok: true, value: n }),
        fail: (e: unknown) => this.settle(w, { ok: false, error: e }),
      });
      return;
    }
    this.stats.batches++;
    this.stats.merged += run.length;
    this.submit(Op.writev, { buffers: run.map((w) => w.bytes), position: run[0].position }, {
      name: 'coalesced writev',
      resume: (n: number) => this.split(run, n),
      fail: (e: unknown) => {
        for (const w of run) this.settle(w, { ok: false, error: e });
      },
    });
  }

  private submit(op: typeof Op.write | typeof Op.writev, args: ConstructorParameters<typeof IoRequest>[1], waiter: Waiter<number>): void {
    try {
      this.loop.io.submit(new IoRequest(op, { ...args, fd: this.fd }), waiter);
    } catch (error) {
      waiter.fail(error);
    }
  }

  /** Hands each caller its share of a merged result, in issue order (see the header). */
  private split(run: PendingWrite[], written: number): void {
    let left = written;
    const unreached: PendingWrite[] = [];
    for (const w of run) {
      const len = w.bytes.byteLength;
      if (left >= len) {
        left -= len;
        this.settle(w, { ok: true, value: len });
      } else if (left > 0) {
        this.settle(w, { ok: true, value: left });
        left = 0;
      } else if (len === 0) {
        this.settle(w, { ok: true, value: 0 });
      } else {
        unreached.push(w);
      }
    }
    // The batch stopped before these: each goes out alone and gets its own answer from the kernel. Their
    // positions follow the cut; a current-position write simply continues at the file's position.
    for (const w of unreached) {
      this.submit(Op.write, { buffer: w.bytes, offset: 0, length: w.bytes.byteLength, position: w.position }, {
        name: 'coalesced write (re-issued)',
        resume: (n: number) => this.settle(w, { ok: true, value: n }),
        fail: (e: unknown) => this.settle(w, { ok: false, error: e }),
      });
    }
  }

  private settle(w: PendingWrite, outcome: { ok: true; value: number } | { ok: false; error: unknown }): void {
    this.owner.settled();
    const waiter = w.waiter;
    w.waiter = null;
    if (waiter === null) return;
    if (outcome.ok) waiter.resume(outcome.value);
    else waiter.fail(outcome.error);
  }
}
