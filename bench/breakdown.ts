// Where one operation's time goes (issue 16: "a per-operation cost breakdown … so each target has a measured
// reason"). One extra run of every system on every case is sampled by V8's CPU profiler (runner.ts plans it,
// profile.ts folds it); this module turns that run and the measured runs into µs per operation:
//
//   main thread, wall time, split by the samples:   JS in the loop · JS in tasks · Node's JS · GC · native
//   the native share, split by the thread's clocks:  native code (user) · system calls (kernel) · waiting
//                                                     · preempted (runnable, but another process had the CPU)
//   other threads, CPU, medians of the measured runs: io_uring kernel workers · pool and helper threads
//
// The native share is what the samples cannot split: a sample inside an addon or binding method is the same
// whether the thread runs C++, sits in a system call or sleeps in epoll_wait / io_uring_enter. The thread's
// own clocks split it: preempted = schedstat's run-queue time, waiting = wall − the thread's CPU − preempted,
// system calls = its kernel share (stat's stime), native code = the rest. JS samples are left as they are, so
// a preemption that hit JS code is counted twice and taken from native time (floored at zero); on this shared
// 2-vCPU machine "preempted" is the sign of that, and says how much of a run other work took.
import type { CaseDef, SystemDef } from './cases.js';
import { systemsFor } from './cases.js';
import type { RunResult } from './child.js';
import type { CaseSummary, TargetResult } from './summary.js';

export interface BreakdownParts {
  loopJs: number;
  taskJs: number;
  nodeJs: number;
  gc: number;
  native: number;
  syscalls: number;
  waiting: number;
  preempted: number;
  kernelWorkers: number;
  otherThreads: number;
}

export interface Breakdown {
  caseId: string;
  systemId: string;
  /** Main-thread wall time per operation in the profiled run, µs (the sum of the main-thread parts). */
  wallUs: number;
  /** The measured runs' median of the same, µs: how much the profiler slowed this run down. */
  measuredWallUs: number;
  /** µs per operation. */
  parts: BreakdownParts;
  samples: number;
  error?: string;
}

/** Labels, in the order the report prints them. */
export const PART_LABELS: Record<keyof BreakdownParts, string> = {
  loopJs: 'loop JS',
  taskJs: 'task JS',
  nodeJs: 'Node JS',
  gc: 'GC',
  native: 'native code',
  syscalls: 'system calls',
  waiting: 'waiting',
  preempted: 'preempted',
  kernelWorkers: 'kernel workers',
  otherThreads: 'pool threads',
};

const EMPTY: BreakdownParts = {
  loopJs: 0, taskJs: 0, nodeJs: 0, gc: 0, native: 0, syscalls: 0, waiting: 0, preempted: 0, kernelWorkers: 0, otherThreads: 0,
};

/** One profiled run's main thread, µs per operation. */
export function mainThreadParts(r: RunResult): Pick<BreakdownParts, 'loopJs' | 'taskJs' | 'nodeJs' | 'gc' | 'native' | 'syscalls' | 'waiting' | 'preempted'> | null {
  const p = r.profile;
  const region = r.region;
  if (!p || !region || r.ops <= 0) return null;
  const sampled = p.loopJs + p.taskJs + p.nodeJs + p.gc + p.native;
  if (!(sampled > 0)) return null;
  // The samples cover the region give or take one interval: scale them onto its measured wall time.
  const f = region.wallMs / sampled;
  const perOp = (msValue: number) => (msValue * 1000) / r.ops;
  const preempted = Math.min(region.threads.mainRunqueueMs ?? 0, Math.max(0, region.wallMs - region.threads.mainMs));
  const waiting = Math.max(0, region.wallMs - region.threads.mainMs - preempted);
  const syscalls = region.threads.mainSysMs ?? 0;
  // Waiting and system calls happen inside native frames only; what the samples put elsewhere (a preemption
  // in JS, a sample attributed to the JS caller) would make this negative, so it stops at zero.
  const native = Math.max(0, p.native * f - waiting - preempted - syscalls);
  return {
    loopJs: perOp(p.loopJs * f),
    taskJs: perOp(p.taskJs * f),
    nodeJs: perOp(p.nodeJs * f),
    gc: perOp(p.gc * f),
    native: perOp(native),
    syscalls: perOp(syscalls),
    waiting: perOp(waiting),
    preempted: perOp(preempted),
  };
}

/** A breakdown for every (case, system) with a profiled run. */
export function breakdowns(cases: readonly CaseDef[], systems: readonly SystemDef[], profiled: readonly RunResult[], summary: readonly CaseSummary[]): Breakdown[] {
  const out: Breakdown[] = [];
  for (const c of cases) {
    const cs = summary.find((x) => x.caseId === c.id);
    for (const s of systemsFor(c, systems)) {
      const r = profiled.find((x) => x.caseId === c.id && x.systemId === s.id);
      if (!r) continue;
      const ss = cs?.systems.find((x) => x.systemId === s.id);
      const main = r.ok ? mainThreadParts(r) : null;
      const t = ss?.threadsPerOpUs;
      const wallUs = main ? main.loopJs + main.taskJs + main.nodeJs + main.gc + main.native + main.syscalls + main.waiting + main.preempted : NaN;
      out.push({
        caseId: c.id,
        systemId: s.id,
        wallUs,
        measuredWallUs: ss && ss.throughput.n > 0 ? 1e6 / ss.throughput.median : NaN,
        parts: {
          ...EMPTY,
          ...(main ?? {}),
          // Other threads from the measured runs: the profiled run adds the profiler's own sampling thread.
          kernelWorkers: t ? t.iouWorkers + t.iouSqpoll : 0,
          otherThreads: t ? t.other : 0,
        },
        samples: r.profile?.samples ?? 0,
        ...(r.ok ? (main ? {} : { error: 'no samples' }) : { error: r.error ?? 'failed' }),
      });
    }
  }
  return out;
}

const fmt = (n: number) => String(+n.toPrecision(3));

/**
 * "4.1 µs/op: task JS 1.6 · waiting 1.1 · GC 0.62 (+ kernel workers 3.2 CPU)": the main thread's parts that
 * make up at least 5% of it, largest first, then other threads' CPU when it is as large.
 */
export function compactBreakdown(b: Breakdown): string {
  if (b.error) return `no breakdown (${b.error})`;
  const main = (['loopJs', 'taskJs', 'nodeJs', 'gc', 'native', 'syscalls', 'waiting', 'preempted'] as const)
    .map((k) => [k, b.parts[k]] as const)
    .filter(([, v]) => v >= 0.05 * b.wallUs)
    .sort((x, y) => y[1] - x[1]);
  const threads = (['kernelWorkers', 'otherThreads'] as const).filter((k) => b.parts[k] >= 0.05 * b.wallUs);
  return `${fmt(b.wallUs)} µs/op: ${main.map(([k, v]) => `${PART_LABELS[k]} ${fmt(v)}`).join(' · ')}` +
    (threads.length ? ` (+ ${threads.map((k) => `${PART_LABELS[k]} ${fmt(b.parts[k])}`).join(', ')} CPU)` : '');
}

/** The breakdowns that explain a target: the corio system's and the reference's, when both were profiled. */
export function targetBreakdowns(t: TargetResult, all: readonly Breakdown[]): { corio?: Breakdown; reference?: Breakdown } {
  return {
    corio: all.find((b) => b.caseId === t.caseId && b.systemId === t.systemId),
    reference: all.find((b) => b.caseId === t.caseId && b.systemId === t.against),
  };
}
