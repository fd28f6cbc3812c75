// Queues between tasks: FIFO (Queue), LIFO (LifoQueue) and smallest-first (PriorityQueue), optionally
// bounded by `maxsize` so producers wait while it is full.
//
// Fairness: getters and putters are each served in the order they started waiting. Items move by hand-off —
// a put() with getters waiting gives its item straight to the first one; a get() that frees a slot moves the
// first waiting putter's item in at once — so a task arriving later can never take a slot or an item ahead of
// one that was already waiting.
//
// shutdown(): putters (waiting or new) get QueueShutDown; getters drain what is left and then get
// QueueShutDown. shutdown(true) also discards what is left, so getters fail at once.
import { CorioError } from '../core/errors.js';
import { suspend, type Op, type Waiter } from '../core/instruction.js';
import { WaitList } from './sync.js';
import { checkpointIfCancelled } from '../core/task.js';

/** Thrown by put() after shutdown(), and by get() once a shut-down queue is empty (asyncio.QueueShutDown). */
export class QueueShutDown extends CorioError {
  constructor() {
    super('ERR_CORIO_QUEUE_SHUTDOWN', 'The queue has been shut down');
    this.name = 'QueueShutDown';
  }
}
/** Thrown by putNowait() on a queue that holds maxsize items. */
export class QueueFull extends CorioError {
  constructor(maxsize: number) {
    super('ERR_CORIO_QUEUE_FULL', `The queue is full (maxsize ${maxsize})`);
    this.name = 'QueueFull';
  }
}
/** Thrown by getNowait() on an empty queue. */
export class QueueEmpty extends CorioError {
  constructor() {
    super('ERR_CORIO_QUEUE_EMPTY', 'The queue is empty');
    this.name = 'QueueEmpty';
  }
}

interface WaitingPut<T> {
  item: T;
  waiter: Waiter<void>;
}

/**
 * A FIFO queue between tasks (asyncio.Queue): get() waits for an item, put() waits for room when `maxsize`
 * is set; taskDone()/join() track work; shutdown() ends it. LifoQueue and PriorityQueue change the order.
 */
export class Queue<T> {
  private getters = new WaitList<T>();
  private putters: WaitingPut<T>[] = [];
  private unfinished = 0;
  private allDone = new WaitList<void>();
  private isShutDown = false;
  // FIFO storage: an array with a moving head, compacted now and then (shift() is O(n)).
  private buf: T[] = [];
  private head = 0;

  /** maxsize 0 (the default) means unbounded. */
  constructor(readonly maxsize = 0) {
    if (!Number.isInteger(maxsize) || maxsize < 0) throw new RangeError(`maxsize must be a non-negative integer, got ${maxsize}`);
  }

  // ---- storage: overridden by LifoQueue and PriorityQueue --------------------------------------------------
  protected store(item: T): void {
    this.buf.push(item);
  }
  protected take(): T {
    const item = this.buf[this.head];
    this.buf[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  protected count(): number {
    return this.buf.length - this.head;
  }
  protected discardAll(): void {
    this.buf = [];
    this.head = 0;
  }

  // ---- public API --------------------------------------------------------------------------------------------
  get size(): number {
    return this.count();
  }
  empty(): boolean {
    return this.count() === 0;
  }
  full(): boolean {
    return this.maxsize > 0 && this.count() >= this.maxsize;
  }
  get shutDown(): boolean {
    return this.isShutDown;
  }

  /** Adds an item, waiting while the queue is full. */
  *put(item: T): Op<void> {
    checkpointIfCancelled();  // a checkpoint even when there is room (see sync.ts)
    if (this.isShutDown) throw new QueueShutDown();
    if (this.putters.length === 0 && !this.full()) {
      this.insert(item);
      return;
    }
    yield* suspend<void>('Queue.put() (queue full)', (waiter) => {
      const entry = { item, waiter };
      this.putters.push(entry);
      return () => {
        const i = this.putters.indexOf(entry);
        if (i >= 0) this.putters.splice(i, 1);
      };
    });
  }

  /** Adds an item now, or throws QueueFull. */
  putNowait(item: T): void {
    if (this.isShutDown) throw new QueueShutDown();
    if (this.putters.length > 0 || this.full()) throw new QueueFull(this.maxsize);
    this.insert(item);
  }

  /** Removes and returns the next item, waiting while the queue is empty. */
  *get(): Op<T> {
    checkpointIfCancelled();
    if (this.count() > 0) return this.remove();
    if (this.isShutDown) throw new QueueShutDown();
    return yield* this.getters.wait('Queue.get() (queue empty)');
  }

  /** Removes and returns the next item now, or throws QueueEmpty (QueueShutDown once shut down and empty). */
  getNowait(): T {
    if (this.count() > 0) return this.remove();
    if (this.isShutDown) throw new QueueShutDown();
    throw new QueueEmpty();
  }

  /** Marks one item taken with get() as processed (for join()). */
  taskDone(): void {
    if (this.unfinished <= 0) throw new CorioError('ERR_CORIO_QUEUE', 'taskDone() called more times than items were put');
    if (--this.unfinished === 0) this.allDone.wakeAll(undefined);
  }

  /** Waits until every item put has been marked done with taskDone(). */
  *join(): Op<void> {
    checkpointIfCancelled();
    if (this.unfinished === 0) return;
    yield* this.allDone.wait('Queue.join()');
  }

  /** Shuts the queue down and wakes every waiter (see the header). */
  shutdown(immediate = false): void {
    if (this.isShutDown && !immediate) return;
    this.isShutDown = true;
    if (immediate) {
      this.unfinished -= this.count();
      this.discardAll();
      if (this.unfinished <= 0) {
        this.unfinished = 0;
        this.allDone.wakeAll(undefined);
      }
    }
    const putters = this.putters;
    this.putters = [];
    for (const p of putters) p.waiter.fail(new QueueShutDown());
    if (this.count() === 0) this.getters.failAll(new QueueShutDown());
  }

  private insert(item: T): void {
    this.unfinished++;
    this.store(item);
    // Someone waiting to get means the queue was empty: the item goes straight to them.
    if (this.getters.length > 0) this.getters.wakeOne(this.take());
  }

  private remove(): T {
    const item = this.take();
    const next = this.putters.shift();
    if (next !== undefined) {
      this.unfinished++;
      this.store(next.item);
      next.waiter.resume(undefined);
    }
    if (this.isShutDown && this.count() === 0) this.getters.failAll(new QueueShutDown());
    return item;
  }
}

/** Last in, first out. */
export class LifoQueue<T> extends Queue<T> {
  private stack: T[] = [];
  protected override store(item: T): void {
    this.stack.push(item);
  }
  protected override take(): T {
    return this.stack.pop()!;
  }
  protected override count(): number {
    return this.stack.length;
  }
  protected override discardAll(): void {
    this.stack = [];
  }
}

/**
 * Smallest first, by `compare` (default: numbers or strings in ascending order, or the first element of an
 * array such as [priority, item]). Equal priorities come out in insertion order.
 */
export class PriorityQueue<T> extends Queue<T> {
  private heap: { item: T; seq: number }[] = [];
  private seq = 0;
  constructor(
    maxsize = 0,
    private readonly compare: (a: T, b: T) => number = defaultCompare,
  ) {
    super(maxsize);
  }
  private less(a: { item: T; seq: number }, b: { item: T; seq: number }): boolean {
    const c = this.compare(a.item, b.item);
    return c < 0 || (c === 0 && a.seq < b.seq);
  }
  protected override store(item: T): void {
    const h = this.heap;
    const node = { item, seq: this.seq++ };
    h.push(node);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(node, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = node;
  }
  protected override take(): T {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && this.less(h[r], h[l]) ? r : l;
        if (!this.less(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top.item;
  }
  protected override count(): number {
    return this.heap.length;
  }
  protected override discardAll(): void {
    this.heap = [];
  }
}

function defaultCompare(a: unknown, b: unknown): number {
  const ka = Array.isArray(a) ? a[0] : a;
  const kb = Array.isArray(b) ? b[0] : b;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
