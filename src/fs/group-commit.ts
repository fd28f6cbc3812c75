// Group commit: concurrent sync()/datasync() calls on one file share system calls.
//
// The guarantee each caller is owed: when its call returns, every write that completed before it called is
// durable. A sync covers exactly the writes that completed before the sync *started*. So a caller that
// arrives while a sync is already running cannot ride on it (its write may have completed after that sync
// began); it joins the *next* round, which starts the moment the running one ends and covers everybody who
// arrived meanwhile. With 32 writers that each write and sync, the syncs collapse into a handful of rounds
// instead of 32 (about two per "wave" of arrivals), and no caller returns before its own bytes are durable.
//
// A round is an fdatasync unless one of its callers asked for a full fsync (which covers fdatasync). An
// error from a round fails every caller of that round: none of them may believe its data durable.
// A caller cancelled while waiting leaves its round; the round still runs for the others.
import type { Loop } from '../core/loop.js';
import { Instruction, stackOnResume, type Waiter } from '../core/instruction.js';
import { IoRequest, Op, type IoOwner } from '../core/io.js';

interface Round {
  waiters: Set<Waiter<void>>;
  full: boolean;  // fsync rather than fdatasync
}

export class GroupCommit {
  private running: Round | null = null;
  private next: Round | null = null;
  /** Sync system calls issued (for tests and benchmarks: compare with the number of callers). */
  syscalls = 0;
  callers = 0;

  constructor(
    private readonly loop: Loop,
    private readonly fd: number,
    private readonly path: string,
    private readonly owner: IoOwner & { assertUsable(syscall: string): void },
  ) {}

  /** Throws if the handle was closed (or its run ended) before this sync started. */
  check(full: boolean): void {
    this.owner.assertUsable(full ? 'fsync' : 'fdatasync');
  }

  sync(full: boolean): Instruction<void> {
    return new SyncRequest(this, full);
  }

  join(waiter: Waiter<void>, full: boolean): Round {
    this.callers++;
    if (this.running === null) {
      const round = { waiters: new Set([waiter]), full };
      this.start(round);
      return round;
    }
    this.next ??= { waiters: new Set(), full: false };
    this.next.waiters.add(waiter);
    this.next.full ||= full;
    return this.next;
  }

  leave(round: Round, waiter: Waiter<void>): void {
    round.waiters.delete(waiter);
    if (round === this.next && round.waiters.size === 0) this.next = null;
  }

  private start(round: Round): void {
    this.running = round;
    this.syscalls++;
    // Owned by the handle, so close() waits for a round in flight like for any other request.
    const request = new IoRequest(round.full ? Op.fsync : Op.fdatasync, { fd: this.fd }, this.owner);
    const finish = (error: unknown) => {
      this.running = null;
      const waiters = [...round.waiters];
      round.waiters.clear();
      for (const w of waiters) {
        if (error === undefined) w.resume(undefined);
        else w.fail(error);
      }
      const next = this.next;
      this.next = null;
      if (next !== null && next.waiters.size > 0) this.start(next);
    };
    try {
      this.loop.io.submit(request, { name: `group commit of ${this.path}`, resume: () => finish(undefined), fail: finish });
    } catch (error) {
      finish(error);
    }
  }
}

class SyncRequest extends Instruction<void> {
  private round: Round | null = null;
  constructor(
    private readonly group: GroupCommit,
    private readonly full: boolean,
  ) {
    super();
  }
  start(waiter: Waiter<void>): void {
    try {
      this.group.check(this.full);  // when it starts, not when it was made: the handle may be closed by now
    } catch (error) {
      waiter.fail(stackOnResume(error));
      return;
    }
    this.round = this.group.join(waiter, this.full);
  }
  override interrupt(waiter: Waiter<void>): void {
    if (this.round !== null) this.group.leave(this.round, waiter);
  }
  describe(): string {
    return this.full ? 'sync() (group commit)' : 'datasync() (group commit)';
  }
}
