// A text summary of a recording: where the time went (the kernel or JS), operations by kind and by where
// they ran, how many submissions each flush carried, and the longest task steps.
import type { Recording } from './perfetto.js';

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const fmt = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`);

/** What summarize() finds in a recording: where the loop thread's time went, operations by kind and where they ran, submission batches, the longest steps. */
export interface TraceSummary {
  durationMs: number;
  iterations: number;
  kernelWaitMs: number;
  /** Loop-thread time outside the kernel waits: dispatch, timers, task steps, flushes. */
  jsMs: number;
  taskStepMs: number;
  operations: { kind: string; ranOn: string; count: number; bytes: number; medianLatencyMs: number }[];
  /** Submissions per iteration that submitted anything. */
  batch: { flushes: number; min: number; median: number; max: number; mean: number };
  longestSteps: { task: string; ms: number; then: string }[];
  dropped: number;
}

/** Sums up a recording (see TraceSummary); formatSummary() prints it as corio trace does. */
export function summarize(recording: Recording): TraceSummary {
  const its = recording.iterations;
  const first = its.length ? its[0].start : 0;
  const last = its.length ? its[its.length - 1].end : 0;
  let kernel = 0;
  let loopBusy = 0;
  for (const it of its) {
    kernel += it.waitEnd - it.waitStart;
    loopBusy += it.end - it.start;
  }
  const taskStepMs = recording.steps.reduce((sum, s) => sum + (s.end - s.start), 0);
  const groups = new Map<string, { kind: string; ranOn: string; count: number; bytes: number; latencies: number[] }>();
  for (const op of recording.operations) {
    const key = `${op.kind}\0${op.ranOn}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { kind: op.kind, ranOn: op.ranOn, count: 0, bytes: 0, latencies: [] }));
    g.count++;
    g.bytes += op.result > 0 && (op.kind.startsWith('write') || op.kind.startsWith('read')) ? op.result : 0;
    g.latencies.push(op.complete - op.submit);
  }
  const batches = its.map((it) => it.submitted).filter((n) => n > 0);
  const longest = [...recording.steps].sort((a, b) => (b.end - b.start) - (a.end - a.start)).slice(0, 5);
  return {
    durationMs: last - first,
    iterations: its.length,
    kernelWaitMs: kernel,
    jsMs: loopBusy - kernel,
    taskStepMs,
    operations: [...groups.values()]
      .sort((a, b) => b.count - a.count)
      .map((g) => ({ kind: g.kind, ranOn: g.ranOn, count: g.count, bytes: g.bytes, medianLatencyMs: median(g.latencies) })),
    batch: {
      flushes: batches.length,
      min: batches.reduce((m, n) => Math.min(m, n), batches.length ? Infinity : 0),
      median: median(batches),
      max: batches.reduce((m, n) => Math.max(m, n), 0),
      mean: batches.length ? batches.reduce((a, b) => a + b, 0) / batches.length : 0,
    },
    longestSteps: longest.map((s) => ({ task: recording.tasks.get(s.task) ?? `task-${s.task}`, ms: s.end - s.start, then: s.then })),
    dropped: recording.dropped,
  };
}

/** The summary as lines of text. */
export function formatSummary(recording: Recording): string {
  const s = summarize(recording);
  const pct = (part: number) => (s.durationMs > 0 ? ` (${((100 * part) / s.durationMs).toFixed(0)}%)` : '');
  const lines = [
    `corio trace: backend ${recording.backend}, ${fmt(s.durationMs)}, ${s.iterations} loop iterations, ${recording.tasks.size} tasks`,
    `  waiting in the kernel  ${fmt(s.kernelWaitMs)}${pct(s.kernelWaitMs)}`,
    `  running JS on the loop ${fmt(s.jsMs)}${pct(s.jsMs)}, of which task steps ${fmt(s.taskStepMs)}`,
    `  submissions per flush  ${s.batch.flushes} flushes: min ${s.batch.min}, median ${s.batch.median}, mean ${s.batch.mean.toFixed(1)}, max ${s.batch.max}`,
    '  operations (kind, where it ran, count, bytes moved, median submit→complete):',
    ...s.operations.map((o) => `    ${o.kind.padEnd(10)} ${o.ranOn.padEnd(16)} ${String(o.count).padStart(7)} ${String(o.bytes).padStart(12)} B  ${fmt(o.medianLatencyMs)}`),
    '  longest task steps:',
    ...s.longestSteps.map((t) => `    ${fmt(t.ms).padStart(9)}  ${t.task} → ${t.then}`),
  ];
  if (s.dropped > 0) lines.push(`  (${s.dropped} records dropped: the recording's limit was reached)`);
  return lines.join('\n');
}
