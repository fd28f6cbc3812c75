// Statistics of the bench: medians, nearest-rank percentiles, summaries and ratios paired by round.
import { describe, expect, it } from 'vitest';
import { median, pairedRatios, percentile, summarize } from '../bench/stats.js';

describe('bench statistics', () => {
  it('takes medians of odd and even counts and ignores non-finite values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, NaN, Infinity, 1])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('uses nearest-rank percentiles, so a tail value was actually observed', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile([0.5, 7, 0.1], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile(v, 101)).toThrow(RangeError);
  });

  it('summarizes as median with min–max', () => {
    expect(summarize([5, 1, 9, 3, 4])).toEqual({ median: 4, min: 1, max: 9, n: 5 });
    expect(summarize([])).toEqual({ median: NaN, min: NaN, max: NaN, n: 0 });
  });

  it('pairs ratios by round and skips rounds where either side is missing', () => {
    const a = new Map([[0, 10], [1, 30], [2, 8]]);
    const b = new Map([[0, 5], [1, 10], [3, 1]]);
    expect(pairedRatios(a, b)).toEqual([2, 3]);
    expect(pairedRatios(a, new Map([[0, 0]]))).toEqual([]);
  });
});
