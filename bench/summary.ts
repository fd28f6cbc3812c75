// From raw runs to figures: per (case, system) medians with min–max, ratios paired by round against
// fs.promises, and the targets marked met or missed.
import { BASELINE, systemsFor, type CaseDef, type SystemDef } from './cases.js';
import type { RunResult } from './child.js';
import { pairedRatios, summarize, type Summary } from './stats.js';

export interface SystemSummary {
  systemId: string;
  label: string;
  /** What this system does in this case, when it is not the obvious file API. */
  note?: string;
  runs: number;
  failures: string[];
  /** Operations per second. */
  throughput: Summary;
  /** Throughput ÷ fs.promises' throughput of the same round. */
  ratio: Summary;
  /** Process CPU (user + sys, all threads) per operation, µs. */
  cpuPerOpUs: Summary;
  /** corio: the loop thread's CPU ÷ the process's CPU over the region. */
  loopShare: Summary | null;
  /** CPU by thread kind, per operation (µs): main thread, io_uring workers, other threads (pools), exited. */
  threadsPerOpUs: { main: number; iouWorkers: number; iouSqpoll: number; other: number; exited: number };
  /** corio's native counters per operation (medians), and the total inline/worker operations of one run. */
  native: { submitted: number; enters: number; iterations: number; inlineOps: number; workerOps: number } | null;
  backendReason?: string;
  lateness: { p50: Summary; p99: Summary; max: Summary; ticks: number } | null;
  /** p99 lateness ÷ fs.promises' p99 of the same round (lower is better). */
  p99Ratio: Summary | null;
  /** Distinct checksums of the verified samples across runs (one expected). */
  checksums: string[];
  verifyDetail?: string;
}

export interface CaseSummary {
  caseId: string;
  title: string;
  op: string;
  createHeavy: boolean;
  systems: SystemSummary[];
  /** All systems' verified samples have the same checksum (they wrote identical files). */
  checksumsAgree: boolean;
}

export interface TargetResult {
  caseId: string;
  systemId: string;
  text: string;
  against: string;
  /** throughput: higher is better; p99 lateness and time (start-up, bench/extras.ts): lower is better. */
  metric: 'throughput' | 'p99' | 'time';
  ratio: Summary;
  /** The threshold in words: '≥ 1.5×' or '≤ 1×'. */
  needs: string;
  met: boolean | null;
}

const med = (xs: number[]) => summarize(xs).median;

function byRound(runs: RunResult[], f: (r: RunResult) => number | undefined): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of runs) {
    const v = f(r);
    if (v !== undefined && Number.isFinite(v)) m.set(r.round, v);
  }
  return m;
}

const rate = (r: RunResult) => (r.region && r.region.wallMs > 0 ? (r.ops / r.region.wallMs) * 1000 : undefined);

export function summarizeCase(c: CaseDef, systems: readonly SystemDef[], results: readonly RunResult[]): CaseSummary {
  const mine = results.filter((r) => r.caseId === c.id);
  const okRuns = (id: string) => mine.filter((r) => r.systemId === id && r.ok);
  const baseRates = byRound(okRuns(BASELINE), rate);
  const baseP99 = byRound(okRuns(BASELINE), (r) => r.lateness?.p99);
  const out: SystemSummary[] = [];
  for (const s of systemsFor(c, systems)) {
    const all = mine.filter((r) => r.systemId === s.id);
    const ok = all.filter((r) => r.ok);
    const rates = byRound(ok, rate);
    const cpu = ok.map((r) => ((r.region!.userMs + r.region!.sysMs) * 1000) / Math.max(1, r.ops));
    const perOp = (f: (r: RunResult) => number) => med(ok.map((r) => (f(r) * 1000) / Math.max(1, r.ops)));
    const corioRuns = ok.filter((r) => r.corio);
    const lat = ok.filter((r) => r.lateness);
    out.push({
      systemId: s.id,
      label: c.labels?.[s.flavor] ?? s.label,
      note: c.systemNotes?.[s.flavor],
      runs: all.length,
      failures: all.filter((r) => !r.ok).map((r) => `round ${r.round + 1}: ${r.error}`),
      throughput: summarize([...rates.values()]),
      ratio: summarize(pairedRatios(rates, baseRates)),
      cpuPerOpUs: summarize(cpu),
      loopShare: corioRuns.length
        ? summarize(corioRuns.map((r) => r.corio!.loopCpuMs / Math.max(1e-9, r.region!.userMs + r.region!.sysMs)))
        : null,
      threadsPerOpUs: {
        main: perOp((r) => r.region!.threads.mainMs),
        iouWorkers: perOp((r) => r.region!.threads.iouWorkerMs),
        iouSqpoll: perOp((r) => r.region!.threads.iouSqpollMs),
        other: perOp((r) => r.region!.threads.otherMs),
        exited: perOp((r) => r.region!.threads.exitedMs),
      },
      native: corioRuns.length
        ? {
            submitted: med(corioRuns.map((r) => r.corio!.native.submitted / Math.max(1, r.ops))),
            enters: med(corioRuns.map((r) => r.corio!.native.enters / Math.max(1, r.ops))),
            iterations: med(corioRuns.map((r) => r.corio!.iterations / Math.max(1, r.ops))),
            inlineOps: med(corioRuns.map((r) => r.corio!.native.inlineOps)),
            workerOps: med(corioRuns.map((r) => r.corio!.native.workerOps)),
          }
        : null,
      backendReason: corioRuns[0]?.corio?.reason,
      lateness: lat.length
        ? {
            p50: summarize(lat.map((r) => r.lateness!.p50)),
            p99: summarize(lat.map((r) => r.lateness!.p99)),
            max: summarize(lat.map((r) => r.lateness!.max)),
            ticks: med(lat.map((r) => r.lateness!.ticks)),
          }
        : null,
      p99Ratio: lat.length ? summarize(pairedRatios(byRound(lat, (r) => r.lateness!.p99), baseP99)) : null,
      checksums: [...new Set(ok.map((r) => r.verified?.checksum ?? '?'))],
      verifyDetail: ok[0]?.verified?.detail,
    });
  }
  const sums = new Set(out.flatMap((s) => s.checksums));
  return {
    caseId: c.id,
    title: c.title,
    op: c.op,
    createHeavy: c.createHeavy,
    systems: out,
    checksumsAgree: sums.size <= 1,
  };
}

/** Each corio system against each of the case's targets. */
export function evaluateTargets(c: CaseDef, systems: readonly SystemDef[], results: readonly RunResult[]): TargetResult[] {
  const mine = results.filter((r) => r.caseId === c.id && r.ok);
  const out: TargetResult[] = [];
  for (const t of c.targets) {
    const against = mine.filter((r) => r.systemId === t.against);
    const metric = t.metric === 'throughput' ? rate : (r: RunResult) => r.lateness?.p99;
    for (const s of systemsFor(c, systems).filter((x) => x.flavor === 'corio')) {
      const ratio = summarize(pairedRatios(byRound(mine.filter((r) => r.systemId === s.id), metric), byRound(against, metric)));
      let met: boolean | null = null;
      if (ratio.n > 0) met = t.min !== undefined ? ratio.median >= t.min : ratio.median <= (t.max ?? Infinity);
      const needs = t.min !== undefined ? `≥ ${t.min}×` : `≤ ${t.max}×`;
      out.push({ caseId: c.id, systemId: s.id, text: t.text, against: t.against, metric: t.metric, ratio, needs, met });
    }
  }
  return out;
}
