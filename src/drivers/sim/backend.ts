// The simulated backend: the NativeBackend submission surface written in TypeScript over SimFs, with a
// virtual clock and seeded scheduling. Each submission gets a latency drawn from the seed; wait() moves the
// clock to the earliest completion (or to the loop's next timer, whichever is first) and runs the operation's
// effect then, so completions on different descriptors and paths arrive in a seed-chosen order. Operations on
// one descriptor keep their submission order (contract 8 in native/core/backend.h). Faults are decided when an
// effect runs, by rule or by the seed; a crash point stops everything right after the chosen operation took
// effect — its completion is never delivered — and SimFs.crashImage() then says what survives.
import { constants as osConstants } from 'node:os';
import type { Driver } from '../driver.js';
import type { NativeBackend, NativeStats } from '../native.js';
import { SeededRandom } from './random.js';
import { SimFs, type OpenFile, type SimFsLimits } from './fs.js';
import { constants as fsConstants } from 'node:fs';

const E = osConstants.errno;

/** An operation as fault rules see it when it is about to take effect. */
export interface SimOperation {
  /** 'open', 'write', 'writev', 'read', 'fsync', 'fdatasync', 'rename', … */
  kind: string;
  /** The path, or the path the descriptor was opened with. */
  path: string;
  /** 1 for the first operation of this kind in the run, 2 for the second, … */
  nth: number;
}

/** A fault rule: a probability drawn from the seed for each operation, or a predicate. */
export type FaultRule = number | ((op: SimOperation) => boolean);

/** Faults the simulated backend injects, by rule or by seed: ENOSPC, EIO, short transfers, EINTR, EMFILE. */
export interface SimFaults {
  /** Room on the simulated disk: ENOSPC by bytes (writes are short first, as on a real disk) and by inodes. */
  space?: SimFsLimits;
  /** write/writev fails with EIO, nothing written. */
  writeEIO?: FaultRule;
  /**
   * fsync/fdatasync fails with EIO, with the Linux rule: the error is reported once, and the dirty data it
   * should have written is dropped (it stays readable until the file is closed, but no later sync makes it
   * durable; a crash loses it).
   */
  syncEIO?: FaultRule;
  /** write/writev moves only a seed-chosen part of its bytes (at least one). */
  shortWrite?: FaultRule;
  /** read/readv moves only a seed-chosen part of what it could. */
  shortRead?: FaultRule;
  /**
   * A signal interrupts the call. As the native backends surface it: a transfer that had moved bytes
   * completes short; a call that had moved nothing is restarted (the backend retries EINTR), costing time.
   */
  eintr?: FaultRule;
  /** Descriptors the process may hold: open() beyond it fails with EMFILE. */
  maxOpenFiles?: number;
}

/** run(main, { backend: 'sim', sim }) settings: the seed, the file system, faults and simulated latencies. */
export interface SimOptions {
  /** The seed every choice of the run comes from (default 0). */
  seed?: number;
  /** The file system to run against (default: a fresh one with an empty root). It is changed in place. */
  fs?: SimFs;
  faults?: SimFaults;
  /** Longest simulated latency of an operation, in ms (default 1). 0 completes in submission order. */
  maxLatencyMs?: number;
  /** Crash right after the n-th state-changing operation (1-based) took effect; see simulate(). */
  crashAt?: number;
}

/** Thrown out of run() at a crash point: the run stopped; `fs` is the file system as it was at that moment. */
export class SimCrash extends Error {
  readonly code = 'ERR_CORIO_SIM_CRASH';
  constructor(
    readonly point: number,
    readonly operation: string,
    readonly fs: SimFs,
  ) {
    super(`simulated crash after operation ${point} (${operation})`);
    this.name = 'SimCrash';
  }
}

interface Pending {
  token: number;
  due: number;
  seq: number;
  fd: number;
  effect: () => number;
  /** The operation changes what a crash may keep (it counts as a crash point). */
  mutating: boolean;
  describe: () => string;
}

const CANCELED = -E.ECANCELED;
/** Virtual time a poll with I/O in flight takes (1 µs). */
const POLL_COST_MS = 0.001;
const FD_BASE = 3;

export class SimBackend implements NativeBackend {
  readonly name = 'sim';
  readonly reason: string;
  readonly fs: SimFs;
  readonly seed: number;
  clock = 0;
  /** State-changing operations that took effect, described, in order: crash point n is after entry n - 1. */
  readonly history: string[] = [];
  /** Fault codes the simulation injected in this run (an error with one of these is the simulation's doing). */
  readonly injected = new Set<string>();
  private readonly schedule: SeededRandom;
  private readonly faultRandom: SeededRandom;
  readonly nameRandom: SeededRandom;
  private readonly faults: SimFaults;
  private readonly maxLatencyUs: number;
  private readonly crashAt: number | undefined;
  private crashed: SimCrash | null = null;
  private queue: Pending[] = [];
  private ready: [number, number][] = [];
  private seq = 0;
  private lastDue = new Map<number, number>();
  private files = new Map<number, OpenFile>();
  private kinds = new Map<string, number>();
  private destroyed = false;
  private counters = { submitted: 0, completed: 0, enters: 0, cancelRequests: 0 };

  constructor(
    private readonly completions: Int32Array,
    options: SimOptions = {},
  ) {
    this.seed = options.seed ?? 0;
    const root = new SeededRandom(this.seed);
    this.schedule = root.fork(1);
    this.faultRandom = root.fork(2);
    this.nameRandom = root.fork(3);
    this.fs = options.fs ?? new SimFs();
    this.faults = options.faults ?? {};
    if (this.faults.space !== undefined) this.fs.limits = { ...this.faults.space };
    this.fs.clock = () => this.clock;
    const latency = options.maxLatencyMs ?? 1;
    if (!(latency >= 0)) throw new RangeError(`sim.maxLatencyMs must be >= 0, got ${latency}`);
    this.maxLatencyUs = Math.round(latency * 1000);
    this.crashAt = options.crashAt;
    this.reason = `simulation (seed ${this.seed}): in-memory file system, virtual clock, seeded completion order`;
  }

  // ---- submission ----------------------------------------------------------------------------------------------

  private submit(token: number, fd: number, mutating: boolean, describe: () => string, effect: () => number): void {
    if (this.destroyed) throw new Error('corio: the simulated backend was destroyed');
    this.counters.submitted++;
    let due = this.clock + this.schedule.below(this.maxLatencyUs + 1) / 1000;
    if (fd >= 0) {
      due = Math.max(due, this.lastDue.get(fd) ?? 0);
      this.lastDue.set(fd, due);
    }
    this.queue.push({ token, due, seq: this.seq++, fd, effect, mutating, describe });
  }

  private file(fd: number): OpenFile | number {
    return this.files.get(fd) ?? -E.EBADF;
  }

  private hit(rule: FaultRule | undefined, kind: string, path: string): boolean {
    if (rule === undefined) return false;
    const op: SimOperation = { kind, path, nth: this.kinds.get(kind) ?? 0 };
    return typeof rule === 'number' ? this.faultRandom.chance(rule) : rule(op) === true;
  }

  private count(kind: string): void {
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }

  private inject(code: keyof typeof E): number {
    this.injected.add(code);
    return -E[code];
  }

  open(token: number, path: string, flags: number, mode: number): void {
    const changes = (flags & (fsConstants.O_CREAT | fsConstants.O_TRUNC)) !== 0;
    this.submit(token, -1, changes, () => `open('${path}', ${flags})`, () => {
      this.count('open');
      const max = this.faults.maxOpenFiles;
      if (max !== undefined && this.files.size >= max) return this.inject('EMFILE');
      const r = this.fs.open(path, flags, mode);
      if (typeof r === 'number') return r;
      let fd = FD_BASE;
      while (this.files.has(fd)) fd++;
      this.files.set(fd, r.file);
      return fd;
    });
  }

  close(token: number, fd: number): void {
    this.submit(token, fd, false, () => `close(${fd})`, () => {
      const f = this.file(fd);
      if (typeof f === 'number') return f;
      this.files.delete(fd);
      this.fs.close(f);
      return 0;
    });
  }

  read(token: number, fd: number, buffer: ArrayBufferView, offset: number, length: number, position: number): void {
    this.submit(token, fd, false, () => `read(${fd})`, () => this.transfer('read', fd, [view(buffer, offset, length)], position));
  }

  write(token: number, fd: number, buffer: ArrayBufferView, offset: number, length: number, position: number): void {
    this.submit(token, fd, true, () => `write('${this.files.get(fd)?.path ?? fd}', ${length} bytes)`, () =>
      this.transfer('write', fd, [view(buffer, offset, length)], position));
  }

  readv(token: number, fd: number, buffers: readonly ArrayBufferView[], position: number): void {
    this.submit(token, fd, false, () => `readv(${fd})`, () => this.transfer('readv', fd, buffers.map((b) => view(b)), position));
  }

  writev(token: number, fd: number, buffers: readonly ArrayBufferView[], position: number): void {
    const bytes = buffers.reduce((n, b) => n + b.byteLength, 0);
    this.submit(token, fd, true, () => `writev('${this.files.get(fd)?.path ?? fd}', ${bytes} bytes)`, () =>
      this.transfer('writev', fd, buffers.map((b) => view(b)), position));
  }

  private transfer(kind: string, fd: number, parts: Uint8Array[], position: number): number {
    this.count(kind);
    const f = this.file(fd);
    if (typeof f === 'number') return f;
    const writing = kind === 'write' || kind === 'writev';
    let total = parts.reduce((n, p) => n + p.length, 0);
    if (writing && this.hit(this.faults.writeEIO, kind, f.path)) return this.inject('EIO');
    // A partial transfer (a fault, or a signal): a seed-chosen part, at least one byte.
    const cut = (n: number) => (n > 1 ? 1 + this.faultRandom.below(n - 1) : n);
    if (total > 1 && this.hit(writing ? this.faults.shortWrite : this.faults.shortRead, kind, f.path)) {
      this.injected.add(writing ? 'short write' : 'short read');
      total = cut(total);
    } else if (total > 1 && this.hit(this.faults.eintr, kind, f.path)) {
      this.injected.add('EINTR');
      total = cut(total);
    }
    if (writing) {
      const bytes = concat(parts, total);
      return this.fs.write(f, bytes, position);
    }
    if (this.fs.isDirectory(f)) return -E.EISDIR;
    const into = new Uint8Array(total);
    const n = this.fs.read(f, into, position);
    if (n <= 0) return n;
    let at = 0;
    for (const p of parts) {
      if (at >= n) break;
      const k = Math.min(p.length, n - at);
      p.set(into.subarray(at, at + k));
      at += k;
    }
    return n;
  }

  fsync(token: number, fd: number): void {
    this.syncOp(token, fd, 'fsync');
  }

  fdatasync(token: number, fd: number): void {
    this.syncOp(token, fd, 'fdatasync');
  }

  private syncOp(token: number, fd: number, kind: string): void {
    this.submit(token, fd, true, () => `${kind}('${this.files.get(fd)?.path ?? fd}')`, () => {
      this.count(kind);
      const f = this.file(fd);
      if (typeof f === 'number') return f;
      if (this.hit(this.faults.syncEIO, kind, f.path)) {
        this.fs.dropDirty(f);
        return this.inject('EIO');
      }
      if (this.hit(this.faults.eintr, kind, f.path)) this.injected.add('EINTR');  // restarted: no visible effect
      return this.fs.sync(f);
    });
  }

  ftruncate(token: number, fd: number, length: number): void {
    this.submit(token, fd, true, () => `ftruncate('${this.files.get(fd)?.path ?? fd}', ${length})`, () => {
      this.count('ftruncate');
      const f = this.file(fd);
      return typeof f === 'number' ? f : this.fs.ftruncate(f, length);
    });
  }

  fstat(token: number, fd: number, out: BigInt64Array): void {
    this.submit(token, fd, false, () => `fstat(${fd})`, () => {
      const f = this.file(fd);
      return typeof f === 'number' ? f : this.fs.fstat(f, out);
    });
  }

  fallocate(token: number, fd: number, offset: number, length: number, keepSize: boolean): void {
    this.submit(token, fd, true, () => `fallocate('${this.files.get(fd)?.path ?? fd}', ${offset}, ${length})`, () => {
      this.count('fallocate');
      const f = this.file(fd);
      return typeof f === 'number' ? f : this.fs.fallocate(f, offset, length, keepSize);
    });
  }

  unlink(token: number, path: string): void {
    this.pathOp(token, 'unlink', `unlink('${path}')`, () => this.fs.unlink(path));
  }

  rename(token: number, from: string, to: string): void {
    this.pathOp(token, 'rename', `rename('${from}' -> '${to}')`, () => this.fs.rename(from, to));
  }

  mkdir(token: number, path: string, mode: number): void {
    this.pathOp(token, 'mkdir', `mkdir('${path}')`, () => this.fs.mkdir(path, mode));
  }

  rmdir(token: number, path: string): void {
    this.pathOp(token, 'rmdir', `rmdir('${path}')`, () => this.fs.rmdir(path));
  }

  private pathOp(token: number, kind: string, description: string, effect: () => number): void {
    this.submit(token, -1, true, () => description, () => {
      this.count(kind);
      return effect();
    });
  }

  stat(token: number, path: string, out: BigInt64Array, _noFollow: boolean): void {
    // The simulated file system has no symbolic links, so stat and lstat agree.
    this.submit(token, -1, false, () => `stat('${path}')`, () => this.fs.stat(path, out));
  }

  readdir(token: number, path: string, buffer: ArrayBufferView, offset: number, length: number): void {
    this.submit(token, -1, false, () => `readdir('${path}')`, () => this.fs.readdir(path, view(buffer, offset, length)));
  }

  cancel(token: number): boolean {
    this.counters.cancelRequests++;
    const i = this.queue.findIndex((p) => p.token === token);
    if (i < 0) return false;
    this.queue.splice(i, 1);  // it never took effect
    this.ready.push([token, CANCELED]);
    return true;
  }

  // ---- waiting ---------------------------------------------------------------------------------------------------

  /** Delivers completions; moves the virtual clock to the first one due, or by `timeoutMs` if that is sooner. */
  wait(timeoutMs: number): number {
    if (this.crashed !== null) throw this.crashed;
    this.counters.enters++;
    const capacity = this.completions.length >> 1;
    let n = 0;
    while (this.ready.length > 0 && n < capacity) {
      const [token, result] = this.ready.shift()!;
      this.completions[2 * n] = token;
      this.completions[2 * n + 1] = result;
      n++;
    }
    if (n > 0) return this.delivered(n);
    if (this.queue.length === 0) {
      if (timeoutMs > 0) this.advance(timeoutMs);
      return 0;
    }
    // A poll (tasks are ready) costs a little time, as running them would: I/O in flight completes even
    // while some task keeps yielding without waiting (a real kernel works meanwhile).
    if (timeoutMs === 0) this.advance(POLL_COST_MS);
    let first = this.queue[0];
    for (const p of this.queue) if (p.due < first.due || (p.due === first.due && p.seq < first.seq)) first = p;
    if (timeoutMs >= 0 && this.clock + timeoutMs < first.due) {
      this.advance(timeoutMs);
      return 0;
    }
    if (first.due > this.clock) this.clock = first.due;
    const due = this.queue.filter((p) => p.due <= this.clock).sort((a, b) => a.due - b.due || a.seq - b.seq);
    for (const p of due) {
      if (n >= capacity) break;
      this.queue.splice(this.queue.indexOf(p), 1);
      const result = this.run(p);
      this.completions[2 * n] = p.token;
      this.completions[2 * n + 1] = result;
      n++;
      if (this.crashed !== null) throw this.crashed;
    }
    return this.delivered(n);
  }

  /**
   * Moves the clock forward by `ms` (> 0), always by at least one representable step: the loop asks for
   * `deadline - now`, and where that sum rounds back to `now` a plain += would leave the timer forever
   * not quite due.
   */
  private advance(ms: number): void {
    if (ms <= 0) return;
    const target = this.clock + ms;
    this.clock = target > this.clock ? target : nextUp(this.clock);
  }

  private delivered(n: number): number {
    this.counters.completed += n;
    return n;
  }

  private run(p: Pending): number {
    const result = p.effect();
    if (result === -E.ENOSPC) this.injected.add('ENOSPC');  // only the space limits (a fault) make one
    if (p.mutating) {
      this.history.push(p.describe());
      if (this.crashAt !== undefined && this.history.length === this.crashAt) {
        this.crashed = new SimCrash(this.crashAt, this.history[this.crashAt - 1], this.fs);
      }
    }
    return result;
  }

  wake(): void {
    // One thread, no blocking: a wake has nothing to interrupt.
  }

  stats(): NativeStats {
    return {
      submitted: this.counters.submitted,
      completed: this.counters.completed,
      enters: this.counters.enters,
      inlineOps: this.counters.completed,
      workerOps: 0,
      cancelRequests: this.counters.cancelRequests,
      inFlight: this.queue.length + this.ready.length,
      queued: 0,
    };
  }

  /** Descriptors still open in the simulation (a leak check for tests). */
  get openDescriptors(): number {
    return this.files.size;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // Anything still in flight never takes effect; descriptors the program left open are closed.
    this.queue = [];
    this.ready = [];
    for (const f of this.files.values()) this.fs.close(f);
    this.files.clear();
  }
}

const bits = new Float64Array(1);
const bitsInt = new BigInt64Array(bits.buffer);
/** The next double above x (x ≥ 0). */
function nextUp(x: number): number {
  bits[0] = x;
  bitsInt[0] += 1n;
  return bits[0];
}

function view(buffer: ArrayBufferView, offset = 0, length = buffer.byteLength - offset): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    if (at >= total) break;
    const k = Math.min(p.length, total - at);
    out.set(p.subarray(0, k), at);
    at += k;
  }
  return out;
}

/** The driver for run(main, { backend: 'sim' }): the simulated backend's clock is the loop's clock. */
export class SimDriver implements Driver {
  readonly completions = new Int32Array(1024 * 2);
  readonly io: SimBackend;

  constructor(options: SimOptions = {}) {
    this.io = new SimBackend(this.completions, options);
  }
  get backend(): string {
    return this.io.name;
  }
  get reason(): string {
    return this.io.reason;
  }
  now(): number {
    return this.io.clock;
  }
  wait(timeoutMs: number): number {
    return this.io.wait(timeoutMs);
  }
  /** Random bytes from the seed (writeFileAtomic's temporary names), so a run's names replay too. */
  random(n: number): Uint8Array {
    return this.io.nameRandom.bytes(n);
  }
  close(): void {
    this.io.destroy();
  }
}
