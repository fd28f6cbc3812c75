// Number formatting shared by the terminal table, the markdown report and the chart.
import type { Summary } from './stats.js';

/** 1234567 → "1.23M", 45678 → "45.7k", 812 → "812". Three significant digits. */
export function si(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  const [div, suffix] = abs >= 1e9 ? [1e9, 'G'] : abs >= 1e6 ? [1e6, 'M'] : abs >= 1e3 ? [1e3, 'k'] : [1, ''];
  return `${+(n / div).toPrecision(3)}${suffix}`;
}

/** A ratio: "1.52×". */
export function times(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`;
}

/** Microseconds or milliseconds with sensible precision. */
export function us(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 1000) return `${+(n / 1000).toPrecision(3)} ms`;
  return `${+n.toPrecision(3)} µs`;
}

export function ms(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return `${+n.toPrecision(3)} ms`;
}

export function pct(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return `${Math.round(n * 100)}%`;
}

/** "median (min–max)" with a formatter; just the median when there was one run. */
export function spread(s: Summary, f: (n: number) => string): string {
  if (s.n === 0) return '–';
  if (s.n === 1 || s.min === s.max) return f(s.median);
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}
