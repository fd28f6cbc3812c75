// Small statistics for benchmark results. Runs are few (3–10) and noisy (NOTES.md: 5–80% spread, occasional
// 3–7× outliers), so everything reported is a median with its min–max, never a mean.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median of a list (mean of the two middle values for an even count); NaN for an empty list. */
export function median(values: readonly number[]): number {
  const v = finite(values);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * The p-th percentile (0 ≤ p ≤ 100) by the nearest-rank method: the smallest value with at least p% of the
 * values at or below it. Nearest rank never invents a value that was not observed, which matters for tails.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const v = finite(values);
  if (v.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * v.length));
  return v[rank - 1];
}

/** Median with min–max of the finite values; n counts them. */
export function summarize(values: readonly number[]): Summary {
  const v = finite(values);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(v), min: v[0], max: v[v.length - 1], n: v.length };
}

/** Sorted copy without NaN/Infinity. */
function finite(values: readonly number[]): number[] {
  return values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/**
 * Ratios paired by run: ratio[r] = a[r] / b[r] for every run r where both exist. Pairing by run is the point —
 * a slow moment of the machine hits both systems of that run (they ran seconds apart), so it cancels out.
 */
export function pairedRatios(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): number[] {
  const out: number[] = [];
  for (const [run, x] of a) {
    const y = b.get(run);
    if (y !== undefined && y !== 0 && Number.isFinite(x) && Number.isFinite(y)) out.push(x / y);
  }
  return out;
}
