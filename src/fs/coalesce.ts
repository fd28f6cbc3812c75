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
import { Instruction, stackOnResume, type Waiter } from '../core/instruction.js';
import { CURRENT_POSITION, HANDLE_POSITION, IoRequest, Op, detachedError, type IoOwner, type Placement } from '../core/io.js';

/** What the coalescer needs from its handle: the in-flight count, the open check, the position claims. */
export interface CoalescingOwner extends IoOwner {
  assertUsable(syscall: string): void;
  claim(length: number, inKernel: boolean): Placement & { inKernel: boolean };
}

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
  /** Its length when it started (a detached buffer reads 0 later). */
  length = 0;
  /** For a position-less write: its range of the handle's position, claimed when it starts (issue order). */
  claim: (Placement & { inKernel: boolean }) | null = null;

  constructor(
    readonly coalescer: WriteCoalescer,
    readonly bytes: ArrayBufferView,
    /** The position asked for: an offset, CURRENT_POSITION (append) or HANDLE_POSITION (the handle's). */
    readonly requested: number,
  ) {
    super();
  }

  /** Where it goes: as asked, or its claim's range, which may still slide down until it is flushed. */
  get position(): number {
    return this.claim !== null ? this.claim.at : this.requested;
  }

  start(waiter: Waiter<number>): void {
    try {
      this.coalescer.starting(this);
    } catch (error) {
      waiter.fail(stackOnResume(error));  // the handle was closed after this write was made
      return;
    }
    this.waiter = waiter;
    this.length = this.bytes.byteLength;
    this.coalescer.add(this);
  }

  /** Gives back the part of its claim that did not reach the file. */
  release(moved: number): void {
    const claim = this.claim;
    this.claim = null;
    claim?.release(moved);
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
    private readonly owner: CoalescingOwner,
    readonly maxBytes: number,
  ) {}

  /** A write is starting: refuse it if the handle was closed; claim its range if it is position-less. */
  starting(write: PendingWrite): void {
    this.owner.assertUsable('write');
    if (write.requested === HANDLE_POSITION) write.claim = this.owner.claim(write.bytes.byteLength, false);
  }

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
      write.release(0);  // never reached the file: the writes after it close the gap
      this.owner.settled();
    }
  }

  private flush(): void {
    this.scheduled = false;
    const writes = this.pending;
    this.pending = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i];
      if (w.bytes.byteLength === w.length) continue;
      // Its buffer was detached (transferred) after the write started: nothing of it can be written, and
      // saying "0 bytes" would be a lie about a write that was asked for. Report it; the rest go on.
      writes.splice(i--, 1);
      w.flushed = true;
      this.settleError(w, stackOnResume(detachedError(w.describe(), 0)));
    }
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
    for (const w of run) {
      w.flushed = true;
      if (w.claim !== null) w.claim.inKernel = true;  // its range is fixed from here on
    }
    if (run.length === 1) {
      // A write alone is its own waiter: no closures or waiter object per write (issue 16, item 2).
      const w = run[0];
      this.submit(Op.write, { fd: this.fd, buffer: w.bytes, offset: 0, length: w.bytes.byteLength, position: w.position }, new AloneWaiter(this, w));
      return;
    }
    this.stats.batches++;
    this.stats.merged += run.length;
    const buffers: ArrayBufferView[] = new Array(run.length);
    for (let i = 0; i < run.length; i++) buffers[i] = run[i].bytes;
    this.submit(Op.writev, { fd: this.fd, buffers, position: run[0].position }, {
      name: 'coalesced writev',
      resume: (n: number) => this.split(run, n),
      fail: (e: unknown) => {
        outOfKernel(run);
        for (const w of run) this.settleError(w, e);
      },
    });
  }

  private submit(op: typeof Op.write | typeof Op.writev, args: ConstructorParameters<typeof IoRequest>[1], waiter: Waiter<number>): void {
    try {
      this.loop.io.submit(new IoRequest(op, args), waiter);
    } catch (error) {
      waiter.fail(error);
    }
  }

  /** Hands each caller its share of a merged result, in issue order (see the header). */
  private split(run: PendingWrite[], written: number): void {
    // The writes past the cut are not in the kernel any more: their claims may slide down to the cut when
    // the write cut short gives back its unwritten part, so a position-less write leaves no hole. (Done
    // before any caller is settled, as the shares below depend only on the lengths.)
    outOfKernel(run);
    let left = written;
    let unreached: PendingWrite[] | null = null;  // only a batch cut short has any
    for (const w of run) {
      const len = w.bytes.byteLength;
      if (left >= len) {
        left -= len;
        this.settleValue(w, len);
      } else if (left > 0) {
        this.settleValue(w, left);
        left = 0;
      } else if (len === 0) {
        this.settleValue(w, 0);
      } else {
        (unreached ??= []).push(w);
      }
    }
    if (unreached !== null) this.reissue(unreached, 0);
  }

  /**
   * The batch stopped before these: each goes out alone, one after the other, and gets its own answer from
   * the kernel. One at a time, so each position-less one starts where the one before it really ended.
   */
  private reissue(writes: PendingWrite[], i: number): void {
    if (i >= writes.length) return;
    const w = writes[i];
    if (w.claim !== null) w.claim.inKernel = true;
    const next = () => this.reissue(writes, i + 1);
    this.submit(Op.write, { fd: this.fd, buffer: w.bytes, offset: 0, length: w.bytes.byteLength, position: w.position }, {
      name: 'coalesced write (re-issued)',
      resume: (n: number) => {
        this.settleValue(w, n);
        next();
      },
      fail: (e: unknown) => {
        this.settleError(w, e);
        next();
      },
    });
  }

  /** @internal A write's bytes (all, or the part that reached the file) are settled: its caller resumes. */
  settleValue(w: PendingWrite, n: number): void {
    w.release(n);
    this.owner.settled();
    const waiter = w.waiter;
    w.waiter = null;
    if (waiter !== null) waiter.resume(n);
  }

  /** @internal A write failed: its caller gets the error (and the handle's position the bytes it says moved). */
  settleError(w: PendingWrite, error: unknown): void {
    w.release(bytesMovedBy(error));
    this.owner.settled();
    const waiter = w.waiter;
    w.waiter = null;
    if (waiter !== null) waiter.fail(error);
  }
}

/** The waiter of a write that went out alone. */
class AloneWaiter implements Waiter<number> {
  constructor(
    private readonly coalescer: WriteCoalescer,
    private readonly write: PendingWrite,
  ) {}
  get name(): string {
    return 'coalesced write';
  }
  resume(n: number): void {
    this.coalescer.settleValue(this.write, n);
  }
  fail(error: unknown): void {
    this.coalescer.settleError(this.write, error);
  }
}

/** The kernel is done with a run: its writes' claims may slide again (see FileHandle.release). */
function outOfKernel(run: PendingWrite[]): void {
  for (const w of run) if (w.claim !== null) w.claim.inKernel = false;
}

/** Bytes an error says did reach the file (a detached buffer's report carries them), else none. */
function bytesMovedBy(error: unknown): number {
  const n = (error as { bytesTransferred?: unknown } | null)?.bytesTransferred;
  return typeof n === 'number' ? n : 0;
}
