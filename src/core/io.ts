// File operations in flight: the table that maps native tokens to the requests waiting on them.
//
// Tokens are dense small integers reused from a free list, so the table is an array, not a Map, and a
// completion costs one array read. A request whose task was cancelled stays in the table — and its buffer
// stays referenced — until the kernel's completion arrives (DESIGN.md, Cancellation); only then is the token
// reused. An open() that succeeds after its task gave up would leak a descriptor, so it is closed here.
import { constants as osConstants } from 'node:os';
import type { NativeBackend } from '../drivers/native.js';
import { CorioError, Interrupted, systemError } from './errors.js';
import { Instruction, stackOnResume, type Waiter } from './instruction.js';
import { describeTarget, type TraceRecorder } from './trace.js';

const { ECANCELED, EINTR } = osConstants.errno;

export const Op = {
  open: 0,
  close: 1,
  read: 2,
  write: 3,
  readv: 4,
  writev: 5,
  fsync: 6,
  fdatasync: 7,
  ftruncate: 8,
  fstat: 9,
  unlink: 10,
  rename: 11,
  mkdir: 12,
  rmdir: 13,
  stat: 14,
  fallocate: 15,
  readdir: 16,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];
const opNames = Object.keys(Op) as (keyof typeof Op)[];
/** The syscall names node:fs puts in errors, where they differ from the opcode's name. */
function syscallOf(request: IoRequest): string {
  if (request.op === Op.stat && request.args.noFollow) return 'lstat';
  if (request.op === Op.readdir) return 'scandir';
  return opNames[request.op];
}

/** Position value meaning "at the descriptor's current position" (Node's `position: null`). */
export const CURRENT_POSITION = -1;
/**
 * Position value meaning "at the owner's own position, decided when the request starts": the owner's
 * starting() replaces it with a real offset and sets the request's placement (FileHandle.claim).
 */
export const HANDLE_POSITION = -2;

export interface IoArgs {
  fd?: number;
  path?: string;
  flags?: number;
  mode?: number;
  buffer?: ArrayBufferView;
  buffers?: readonly ArrayBufferView[];
  offset?: number;
  length?: number;
  position?: number;
  stat?: BigInt64Array;
  /** rename's target */
  path2?: string;
  /** stat: lstat semantics */
  noFollow?: boolean;
  /** fallocate: reserve without growing the size */
  keepSize?: boolean;
}

/** Something that tracks its requests in flight (a FileHandle waits for them before it closes). */
export interface IoOwner {
  /**
   * One of its requests is starting — when a task yields it, not when it was made: throw to refuse it (the
   * handle was closed meanwhile, and its descriptor number may already name another file), or fill in what
   * depends on the order of starts (a position-less transfer's position, with its `placement`).
   */
  starting(request: IoRequest): void;
  submitted(): void;
  settled(): void;
}

/**
 * A position-less transfer's claim on a range of its handle's file position. Released with the bytes that
 * really moved when the request completes (or 0 if it never reached the kernel), so the handle's position
 * advances only by what reached the file.
 */
export interface Placement {
  readonly at: number;
  release(moved: number): void;
}

/** Supplies the running loop's I/O table to requests when a task starts them. */
export type IoTableSource = () => IoTable;
let source: IoTableSource | null = null;
export function setIoTableSource(s: IoTableSource | null): void {
  source = s;
}

/** One file operation: an Instruction whose result is the native result (bytes or descriptor). */
export class IoRequest extends Instruction<number> {
  token = -1;
  waiter: Waiter<number> | null = null;
  /** Its task was cancelled and the kernel (or pool) was asked to stop it. */
  interrupted = false;
  /** Set by the owner at start for a position-less transfer whose position the handle tracks. */
  placement: Placement | null = null;

  constructor(
    readonly op: OpCode,
    readonly args: IoArgs,
    readonly owner: IoOwner | null = null,
  ) {
    super();
    // A close must happen even in a cancelled task (its finally block is closing the file): a cancellation
    // neither skips nor interrupts it, and lands at the task's next yield* instead.
    if (op === Op.close) this.uncancellable = true;
  }

  start(waiter: Waiter<number>): void {
    if (source === null) {
      waiter.fail(new Error('corio: no loop is running'));
      return;
    }
    try {
      this.owner?.starting(this);
      source().submit(this, waiter);
    } catch (error) {
      this.placement?.release(0);
      this.placement = null;
      // A closed handle's EBADF or an argument error from the binding surfaces in the task, typed, with the
      // task's own frames (see stackOnResume).
      waiter.fail(stackOnResume(error));
    }
  }

  /**
   * The task was cancelled: ask the backend to stop the operation (IORING_OP_ASYNC_CANCEL, or the pool
   * dequeues or interrupts it) and keep the task waiting for the completion, which says what really happened
   * — a write that had already moved bytes reports them. The buffer stays referenced until then.
   */
  override interrupt(): boolean {
    if (this.token < 0) return true;  // never reached the backend
    this.interrupted = true;
    source?.().cancel(this);
    return false;
  }

  /** Bytes this request asked to move (for telling a complete transfer from an interrupted one). */
  requestedBytes(): number {
    const a = this.args;
    if (a.buffers !== undefined) return a.buffers.reduce((n, b) => n + b.byteLength, 0);
    return a.length ?? 0;
  }

  /** An operation that moves bytes through a JS buffer (the kernel or a worker held its memory). */
  transfersBytes(): boolean {
    const op = this.op;
    return op === Op.read || op === Op.write || op === Op.readv || op === Op.writev || op === Op.readdir;
  }

  /**
   * A buffer of this request was detached (transferred) while the operation was in flight: the kernel used
   * memory that JS no longer reaches through it. A detached ArrayBuffer reports byteLength 0; views that
   * were empty from the start asked for nothing and are not counted.
   */
  lostBuffer(): boolean {
    const a = this.args;
    if (a.buffer !== undefined) return a.length! > 0 && a.buffer.buffer.byteLength === 0;
    if (a.buffers !== undefined) for (const b of a.buffers) if (isDetached(b)) return true;
    return false;
  }

  describe(): string {
    const { fd, path, path2 } = this.args;
    const target = path2 !== undefined ? `'${path}' -> '${path2}'` : path !== undefined ? `'${path}'` : `fd ${fd}`;
    return `${opNames[this.op]}(${target})`;
  }
}

/**
 * Whether a view's ArrayBuffer is detached. A detached buffer reads byteLength 0; so does an empty one, which
 * only structuredClone tells apart (Node 20 has no ArrayBuffer.prototype.detached). Reached only for buffers
 * of length 0, so a completion pays one property read per buffer.
 */
function isDetached(view: ArrayBufferView): boolean {
  if (view.buffer.byteLength !== 0) return false;
  try {
    structuredClone(view.buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * What a request whose buffer was detached in flight reports instead of its result. node:fs/promises says
 * nothing in that case; corio cannot stop the kernel from using the memory (nothing in Node-API pins an
 * ArrayBuffer against transfer), but it can refuse to pretend the operation went as asked.
 */
export function detachedError(what: string, moved: number): CorioError & { bytesTransferred: number } {
  const err = new CorioError(
    'ERR_CORIO_BUFFER_DETACHED',
    `${what}: its buffer was detached (transferred) while the operation was in flight; ` +
      `${moved} byte(s) moved through memory JavaScript no longer reaches through that buffer. ` +
      `Do not transfer a buffer until its operation has completed.`,
  ) as CorioError & { bytesTransferred: number };
  err.bytesTransferred = moved;
  return err;
}

export class IoTable {
  private requests: (IoRequest | undefined)[] = [];
  private freeTokens: number[] = [];
  inFlight = 0;
  /** Submissions and cancel requests ever made: a driver that cannot block (hosted) compares it across an
   *  iteration to know whether the backend has work it has not been handed yet (the next wait() flushes it).
   *  A cancel counts: io_uring sends its ASYNC_CANCEL with the next enter, and a cancel of an operation the
   *  kernel never saw completes at once into the backend's own queue; neither makes the descriptor readable. */
  submissions = 0;

  constructor(
    private readonly native: NativeBackend,
    private readonly trace: TraceRecorder | null = null,
  ) {}

  submit(request: IoRequest, waiter: Waiter<number> | null): void {
    const free = this.freeTokens;
    const reused = free.length > 0;
    const token = reused ? free[free.length - 1] : this.requests.length;
    const a = request.args;
    const n = this.native;
    const pos = a.position ?? CURRENT_POSITION;
    // Read before the call: a backend may run the operation inside it (io_uring's inline writes), and its
    // trace record must not start before its submission.
    const submittedAt = this.trace !== null ? this.trace.now() : 0;
    // One crossing into native code per operation (DESIGN.md, Crossing cost).
    switch (request.op) {
      case Op.open: n.open(token, a.path!, a.flags!, a.mode!); break;
      case Op.close: n.close(token, a.fd!); break;
      case Op.read: n.read(token, a.fd!, a.buffer!, a.offset!, a.length!, pos); break;
      case Op.write: n.write(token, a.fd!, a.buffer!, a.offset!, a.length!, pos); break;
      case Op.readv: n.readv(token, a.fd!, a.buffers!, pos); break;
      case Op.writev: n.writev(token, a.fd!, a.buffers!, pos); break;
      case Op.fsync: n.fsync(token, a.fd!); break;
      case Op.fdatasync: n.fdatasync(token, a.fd!); break;
      case Op.ftruncate: n.ftruncate(token, a.fd!, a.length!); break;
      case Op.fstat: n.fstat(token, a.fd!, a.stat!); break;
      case Op.unlink: n.unlink(token, a.path!); break;
      case Op.rename: n.rename(token, a.path!, a.path2!); break;
      case Op.mkdir: n.mkdir(token, a.path!, a.mode!); break;
      case Op.rmdir: n.rmdir(token, a.path!); break;
      case Op.stat: n.stat(token, a.path!, a.stat!, a.noFollow === true); break;
      case Op.fallocate: n.fallocate(token, a.fd!, a.offset!, a.length!, a.keepSize === true); break;
      case Op.readdir: n.readdir(token, a.path!, a.buffer!, a.offset!, a.length!); break;
    }
    // Only after the binding accepted it: a thrown argument error leaves the token free.
    if (reused) free.pop();
    this.requests[token] = request;
    request.token = token;
    request.waiter = waiter;
    this.inFlight++;
    this.submissions++;
    request.owner?.submitted();
    if (this.trace !== null) {
      // The waiter is the task itself when a task issued the operation (a batching layer, such as write
      // coalescing, waits on its own behalf: the trace shows those as the loop's).
      const task = (waiter as { id?: unknown } | null)?.id;
      this.trace.submitted(token, opNames[request.op], request.requestedBytes(), describeTarget(a.fd, a.path), typeof task === 'number' ? task : 0, submittedAt);
    }
  }

  cancel(request: IoRequest): void {
    if (request.token >= 0 && this.requests[request.token] === request) {
      this.native.cancel(request.token);
      this.submissions++;
    }
  }

  /** Delivers one completion from the driver's array. */
  complete(token: number, result: number): void {
    const request = this.requests[token];
    if (request === undefined) throw new Error(`corio: completion for unknown token ${token}`);
    this.requests[token] = undefined;
    this.freeTokens.push(token);
    this.inFlight--;
    if (this.trace !== null) this.trace.completed(token, result);
    request.token = -1;
    if (request.placement !== null) {
      request.placement.release(result > 0 ? result : 0);
      request.placement = null;
    }
    request.owner?.settled();
    const waiter = request.waiter;
    request.waiter = null;
    if (waiter === null) {
      if (request.op === Op.open && result >= 0) {
        this.submit(new IoRequest(Op.close, { fd: result }), null);  // nobody will ever close it otherwise
      }
      return;
    }
    if (request.interrupted) {
      // -ECANCELED or -EINTR: it stopped. A write cut short moved `result` bytes: say so. The numbers are the
      // platform's (ECANCELED is 125 on Linux, 89 on macOS, 105 in the Windows C runtime the IOCP backend uses).
      const stopped = result === -ECANCELED || result === -EINTR;
      const isWrite = request.op === Op.write || request.op === Op.writev;
      if (stopped) return waiter.fail(new Interrupted(0));
      if (isWrite && result >= 0 && result < request.requestedBytes()) return waiter.fail(new Interrupted(result));
    }
    if (result < 0) waiter.fail(stackOnResume(systemError(-result, syscallOf(request), request.args.path, request.args.path2)));
    else if (request.transfersBytes() && request.lostBuffer()) waiter.fail(stackOnResume(detachedError(request.describe(), result)));
    else waiter.resume(result);
  }

  /** Requests still in flight, for dumps and leak checks. */
  describeInFlight(): string[] {
    return this.requests.filter((r): r is IoRequest => r !== undefined).map((r) => r.describe());
  }
}
