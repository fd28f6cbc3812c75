// TimerHeap: ordering by deadline then insertion, lazy cancellation, and compaction.
import { describe, expect, it } from 'vitest';
import { TimerHeap, type Timer } from '../src/core/timers.js';

function timer(heap: TimerHeap, deadline: number, log: number[], id: number): Timer {
  const t: Timer = { deadline, seq: heap.nextSeq(), cancelled: false, fire: () => log.push(id) };
  heap.push(t);
  return t;
}

describe('TimerHeap', () => {
  it('pops due timers in deadline order, ties in insertion order', () => {
    const heap = new TimerHeap();
    const log: number[] = [];
    const deadlines = [50, 10, 30, 10, 70, 0, 30, 10];
    deadlines.forEach((d, i) => timer(heap, d, log, i));
    for (let t = heap.popDue(100); t; t = heap.popDue(100)) t.fire();
    expect(log).toEqual([5, 1, 3, 7, 2, 6, 0, 4]);
  });

  it('leaves timers that are not yet due', () => {
    const heap = new TimerHeap();
    const log: number[] = [];
    timer(heap, 5, log, 1);
    timer(heap, 15, log, 2);
    expect(heap.popDue(10)?.deadline).toBe(5);
    expect(heap.popDue(10)).toBeUndefined();
    expect(heap.peekDeadline()).toBe(15);
  });

  it('skips cancelled timers and reports the live size', () => {
    const heap = new TimerHeap();
    const log: number[] = [];
    const a = timer(heap, 1, log, 1);
    timer(heap, 2, log, 2);
    heap.cancel(a);
    heap.cancel(a);  // twice is harmless
    expect(heap.size).toBe(1);
    expect(heap.peekDeadline()).toBe(2);
  });

  it('cancelling a timer that already fired does not disturb the count (regression: timers stopped firing)', () => {
    const heap = new TimerHeap();
    const log: number[] = [];
    const fired = timer(heap, 1, log, 1);
    expect(heap.popDue(5)).toBe(fired);
    heap.cancel(fired);
    timer(heap, 2, log, 2);
    expect(heap.size).toBe(1);
    expect(heap.popDue(5)?.deadline).toBe(2);
  });

  it('compacts when most entries are cancelled, keeping order', () => {
    const heap = new TimerHeap();
    const log: number[] = [];
    const all = Array.from({ length: 1000 }, (_, i) => timer(heap, 1000 - i, log, i));
    all.forEach((t, i) => i % 10 !== 0 && heap.cancel(t));
    expect(heap.size).toBe(100);
    for (let t = heap.popDue(Infinity); t; t = heap.popDue(Infinity)) t.fire();
    expect(log).toEqual(all.map((_, i) => i).filter((i) => i % 10 === 0).reverse());
  });
});
