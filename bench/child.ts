// One benchmark run in a fresh process: build the workload, run it in one system's style, verify the output,
// print one result line. The parent (runner.ts) starts `node dist/bench/child.js '<spec json>'`.
//
// Timing is taken inside the process, around the work only (NOTES.md: `node -e 0` alone takes ~47 ms).
import { fileURLToPath } from 'node:url';
import { backend, run, start, stats, type LoopStats } from '../src/index.js';
import type { SystemDef } from './cases.js';
import { RegionMark, type Region } from './measure.js';
import { factories } from './registry.js';
import { startProfile, type ProfileShares } from './profile.js';
import { percentile } from './stats.js';
import type { Instance, Verified } from './workload.js';

/** The backend's counters, as stats() reports them. */
export type NativeStats = LoopStats['native'];

export interface ChildSpec {
  caseId: string;
  factory: string;
  params: unknown;
  system: SystemDef;
  dir: string;
  round: number;
  /** false for strace runs, so the count covers the work and not the checking (default true). */
  verify?: boolean;
  /** Sample the timed region with V8's CPU profiler every this many µs (the breakdown's extra run). */
  profileUs?: number;
}

export interface CorioFigures {
  backend: string;
  reason: string;
  /** CPU time of the loop thread during the region (stats().loopThreadCpuMs). */
  loopCpuMs: number;
  iterations: number;
  /** Native counters over the region: submissions, io_uring_enter calls, inline and worker operations. */
  native: NativeStats;
}

export interface Lateness {
  p50: number;
  p99: number;
  max: number;
  ticks: number;
}

export interface RunResult {
  caseId: string;
  systemId: string;
  round: number;
  ok: boolean;
  error?: string;
  ops: number;
  region?: Region;
  corio?: CorioFigures;
  lateness?: Lateness;
  verified?: Verified;
  verifyMs?: number;
  /** The main thread's wall time in the region by kind of work (spec.profileUs runs only). */
  profile?: ProfileShares;
}

export const RESULT_PREFIX = '@@corio-bench ';

function diffNative(a: NativeStats, b: NativeStats): NativeStats {
  const out = { ...b };
  for (const k of Object.keys(b) as (keyof NativeStats)[]) {
    // inFlight and queued are levels, not counters: keep the value at the end.
    if (k !== 'inFlight' && k !== 'queued') out[k] = b[k] - a[k];
  }
  return out;
}

/** Runs one spec in this process (the child's whole job; tests call it directly on tiny sizes). */
export async function runSpec(spec: ChildSpec): Promise<RunResult> {
  const result: RunResult = { caseId: spec.caseId, systemId: spec.system.id, round: spec.round, ok: false, ops: 0 };
  try {
    const factory = factories[spec.factory];
    if (!factory) throw new Error(`unknown workload '${spec.factory}'`);
    const instance: Instance = factory(spec.params as never, spec.dir);
    result.ops = instance.ops;
    const flavor = spec.system.flavor;
    let mark: RegionMark;
    // The profiler starts first and stops last of the marks' work, so its own start-up is outside the region.
    let stopProfile: (() => ProfileShares | null) | null = null;
    const profileOn = () => {
      if (spec.profileUs) stopProfile = startProfile(spec.profileUs);
    };
    const profileOff = () => {
      const shares = stopProfile?.();
      if (shares) result.profile = shares;
    };

    if (flavor === 'corio') {
      if (!instance.corio) throw new Error(`${spec.caseId} has no corio implementation`);
      let s0: LoopStats | undefined;
      let s1: LoopStats | undefined;
      mark = new RegionMark(
        () => {
          profileOn();
          s0 = stats();
        },
        () => {
          s1 = stats();
          profileOff();
        },
      );
      const main = function* () {
        yield* instance.corio!(mark);
        return backend();
      };
      // The same workload on either entry point: the hosted one is a guest in this process's Node loop.
      const info = spec.system.hosted
        ? await start(main, { backend: spec.system.backend })
        : run(main, { backend: spec.system.backend });
      if (s0 && s1) {
        result.corio = {
          backend: info.name,
          reason: info.reason,
          loopCpuMs: s1.loopThreadCpuMs - s0.loopThreadCpuMs,
          iterations: s1.iterations - s0.iterations,
          native: diffNative(s0.native, s1.native),
        };
      }
    } else {
      mark = new RegionMark(profileOn, profileOff);
      if (flavor === 'promises' && instance.promises) await instance.promises(mark);
      else if (flavor === 'callbacks' && instance.callbacks) {
        await new Promise<void>((resolve, reject) => instance.callbacks!(mark, (e) => (e ? reject(e) : resolve())));
      } else if (flavor === 'sync' && instance.sync) instance.sync(mark);
      else throw new Error(`${spec.caseId} has no ${flavor} implementation`);
    }
    if (!mark.region) throw new Error(`${spec.caseId}: the workload never closed its timed region`);
    result.region = mark.region;

    if (instance.lateness) {
      const l = instance.lateness;
      result.lateness = { p50: percentile(l, 50), p99: percentile(l, 99), max: percentile(l, 100), ticks: l.length };
    }
    if (spec.verify !== false) {
      const v0 = performance.now();
      result.verified = instance.verify();
      result.verifyMs = performance.now() - v0;
    }
    // Strace runs (verify: false) leave cleanup to their parent too, so unlink() does not count as work.
    if (spec.verify !== false) instance.cleanup?.();
    result.ok = true;
  } catch (error) {
    result.ok = false;
    result.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  return result;
}

async function main(): Promise<void> {
  const text = process.argv[2];
  if (!text) {
    console.error('usage: node dist/bench/child.js <spec json>  (started by the bench runner)');
    process.exit(2);
  }
  const result = await runSpec(JSON.parse(text) as ChildSpec);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
