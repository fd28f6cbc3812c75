// A binary min-heap of timers ordered by (deadline, insertion order), so timers due at the same moment fire
// in the order they were set. Cancellation is lazy — a cancelled timer stays in the heap, flagged, and is
// dropped when it reaches the top — which keeps cancel O(1); the heap is compacted when cancelled entries
// outnumber live ones so a program that sets and cancels many long timeouts does not grow without bound.

export interface Timer {
  readonly deadline: number;
  readonly seq: number;
  cancelled: boolean;
  /** Set by the heap while the timer is in it; cancelling a timer that already fired must not count. */
  queued?: boolean;
  fire(): void;
}

export class TimerHeap {
  private heap: Timer[] = [];
  private cancelledCount = 0;
  private seq = 0;

  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  nextSeq(): number {
    return this.seq++;
  }

  push(timer: Timer): void {
    timer.queued = true;
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = timer;
  }

  cancel(timer: Timer): void {
    if (timer.cancelled) return;
    timer.cancelled = true;
    if (!timer.queued) return;  // already fired: nothing in the heap to skip
    this.cancelledCount++;
    if (this.cancelledCount > 64 && this.cancelledCount > this.heap.length / 2) this.compact();
  }

  /** Deadline of the earliest live timer, or undefined. */
  peekDeadline(): number | undefined {
    this.dropCancelledTop();
    return this.heap.length > 0 ? this.heap[0].deadline : undefined;
  }

  /** Removes and returns the earliest live timer if it is due at `now`. */
  popDue(now: number): Timer | undefined {
    this.dropCancelledTop();
    const top = this.heap[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.removeTop();
    return top;
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) {
      this.removeTop();
      this.cancelledCount--;
    }
  }

  private removeTop(): void {
    const heap = this.heap;
    heap[0].queued = false;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right], heap[left]) ? right : left;
      if (!before(heap[child], last)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
  }

  private compact(): void {
    const live = this.heap.filter((t) => !t.cancelled);
    this.heap = [];
    this.cancelledCount = 0;
    for (const t of live) this.push(t);
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}
