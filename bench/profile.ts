// The CPU profile of one timed region (issue 16's breakdown): V8's sampling profiler — the one `--cpu-prof`
// drives — started and stopped through an in-process inspector session around the region only, so start-up,
// payload preparation and verification are not in it. The child folds the samples into a few kinds of work on
// the main thread and reports milliseconds per kind; the raw profile never leaves the child.
//
// What the samples show, checked here on W3 and W4 (Node 20, V8 11.3): a sample taken while the thread is
// inside a native function — an addon method such as wait(), a Node binding such as writeSync(), blocked in a
// system call or not — lands on a frame with an empty url (the addon's methods all show one class name, not
// their own); GC lands on "(garbage collector)"; libuv blocked in epoll_wait shows as "(idle)".
import { Session } from 'node:inspector';

/** Main-thread wall time by kind of work, ms, from the samples. */
export interface ProfileShares {
  /** corio's loop, drivers, timers and I/O table (src/core/loop, timers, io; src/drivers/). */
  loopJs: number;
  /** Task code: corio's tasks and file API (the rest of src/), the workload's own code. */
  taskJs: number;
  /** Node's own JavaScript (node:fs, promises, timers, buffers). */
  nodeJs: number;
  /** V8's garbage collector on the main thread. */
  gc: number;
  /** Native code: addon and Node bindings, V8 runtime, libuv — including time blocked in system calls there. */
  native: number;
  samples: number;
}

/** The parts of the inspector's Profiler.Profile used here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const LOOP_FILES = /\/src\/(core\/(loop|timers|io)\.[jt]s$|drivers\/)/;

/** Which kind of work a frame is (its self time, the top of the sampled stack). */
export function frameKind(functionName: string, url: string): Exclude<keyof ProfileShares, 'samples'> {
  if (functionName === '(garbage collector)') return 'gc';
  if (url === '') return 'native';  // (program), (idle), (root), builtins, addon and binding methods
  if (url.startsWith('node:')) return 'nodeJs';
  if (LOOP_FILES.test(url)) return 'loopJs';
  return 'taskJs';
}

/**
 * Folds a profile into shares. Sample i stands for the time until sample i+1 (the last one: until the end of
 * the profile), so shares are wall time and add up to the profiled span whatever the sampling jitter.
 */
export function foldProfile(p: CpuProfile): ProfileShares {
  const out: ProfileShares = { loopJs: 0, taskJs: 0, nodeJs: 0, gc: 0, native: 0, samples: p.samples.length };
  const kind = new Map(p.nodes.map((n) => [n.id, frameKind(n.callFrame.functionName, n.callFrame.url)]));
  let t = p.startTime;
  const stamps: number[] = [];
  for (const d of p.timeDeltas) stamps.push((t += d));
  for (let i = 0; i < p.samples.length; i++) {
    const next = i + 1 < stamps.length ? stamps[i + 1] : p.endTime;
    const us = Math.max(0, next - stamps[i]);
    const k = kind.get(p.samples[i]);
    if (k) out[k] += us / 1000;
  }
  return out;
}

/**
 * Starts sampling every `intervalUs` and returns the function that stops it and folds the profile. The
 * in-process session answers synchronously, so both ends sit exactly at the region's marks, also inside a
 * standalone run() that never returns to Node's loop.
 */
export function startProfile(intervalUs: number): () => ProfileShares | null {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  session.post('Profiler.start');
  return () => {
    const got: { profile?: CpuProfile } = {};
    session.post('Profiler.stop', (error, result) => {
      if (!error) got.profile = result.profile as CpuProfile;
    });
    session.disconnect();
    return got.profile ? foldProfile(got.profile) : null;
  };
}
