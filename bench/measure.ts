// Measuring one timed region inside the child process: wall time, process CPU (user + sys, every thread,
// including io_uring's kernel workers, which belong to the process), and where that CPU went per thread.
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadCpu {
  /** The main thread: corio's loop, or Node's JS thread. */
  mainMs: number;
  /**
   * The part of mainMs spent in the kernel (system calls), from /proc/self/task/<pid>/stat: utime and stime
   * come in clock ticks (10 ms), so this is mainMs × stime ÷ (utime + stime), good for regions of 100 ms up.
   */
  mainSysMs?: number;
  /** Time the main thread was runnable but waited for a CPU (schedstat's second field): other work ran. */
  mainRunqueueMs?: number;
  /** io_uring kernel workers (io-wq, threads named iou-wrk-*): buffered ext4 writes, syncs, creates. */
  iouWorkerMs: number;
  /** io_uring SQPOLL threads (iou-sqp-*): libuv's io_uring mode. */
  iouSqpollMs: number;
  /** Other live threads: corio's or libuv's worker pool, V8's helper threads. */
  otherMs: number;
  /** Process CPU not attributed to a live thread (threads that exited during the region). */
  exitedMs: number;
  /** Highest number of io_uring worker threads seen at the end of the region. */
  iouWorkers: number;
}

interface ThreadSample {
  comm: string;
  ns: number;
  /** Nanoseconds spent runnable on a run queue, waiting for a CPU. */
  queuedNs?: number;
  /** Clock ticks in user mode and in the kernel (the main thread only). */
  uticks?: number;
  sticks?: number;
}

/** utime and stime of a thread, in clock ticks (fields 14 and 15 of stat; the name in field 2 may hold spaces). */
function ticks(tid: string): { uticks: number; sticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { uticks: Number(f[11]), sticks: Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** CPU time of each live thread of this process, from /proc/self/task/<tid>/schedstat (nanoseconds). */
export function sampleThreads(): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;  // not Linux: the breakdown is simply absent
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const sched = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ');
      const ns = Number(sched[0]);
      const main = Number(tid) === process.pid;
      out.set(Number(tid), { comm, ns, ...(main ? { queuedNs: Number(sched[1]), ...ticks(tid) } : {}) });
    } catch {
      // the thread exited while we looked
    }
  }
  return out;
}

export function threadBreakdown(before: Map<number, ThreadSample>, after: Map<number, ThreadSample>, processMs: number): ThreadCpu {
  const r: ThreadCpu = { mainMs: 0, iouWorkerMs: 0, iouSqpollMs: 0, otherMs: 0, exitedMs: 0, iouWorkers: 0 };
  for (const [tid, s] of after) {
    const ms = (s.ns - (before.get(tid)?.ns ?? 0)) / 1e6;
    if (tid === process.pid) {
      r.mainMs += ms;
      const before0 = before.get(tid);
      const u = (s.uticks ?? 0) - (before0?.uticks ?? 0);
      const k = (s.sticks ?? 0) - (before0?.sticks ?? 0);
      if (s.sticks !== undefined && u + k > 0) r.mainSysMs = (ms * k) / (u + k);
      if (s.queuedNs !== undefined) r.mainRunqueueMs = (s.queuedNs - (before0?.queuedNs ?? 0)) / 1e6;
    } else if (s.comm.startsWith('iou-wrk')) {
      r.iouWorkerMs += ms;
      r.iouWorkers++;
    } else if (s.comm.startsWith('iou-sqp')) r.iouSqpollMs += ms;
    else r.otherMs += ms;
  }
  r.exitedMs = Math.max(0, processMs - r.mainMs - r.iouWorkerMs - r.iouSqpollMs - r.otherMs);
  return r;
}

export interface Region {
  wallMs: number;
  userMs: number;
  sysMs: number;
  threads: ThreadCpu;
}

/** A Mark that records one region; `onStart`/`onStop` let corio systems read stats() at the same points. */
export class RegionMark {
  private t0 = 0;
  private cpu0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private threads0 = new Map<number, ThreadSample>();
  region: Region | null = null;
  started = false;

  constructor(
    private readonly onStart: () => void = () => {},
    private readonly onStop: () => void = () => {},
  ) {}

  start(): void {
    if (this.started) throw new Error('bench: mark.start() called twice');
    this.started = true;
    // The hooks run outside the thread and CPU samples, so a profiler's start and stop are not in the region.
    this.onStart();
    this.threads0 = sampleThreads();
    this.cpu0 = process.cpuUsage();
    this.t0 = performance.now();
  }

  stop(): void {
    const wallMs = performance.now() - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    const threads1 = sampleThreads();
    this.onStop();
    const userMs = cpu.user / 1000;
    const sysMs = cpu.system / 1000;
    this.region = { wallMs, userMs, sysMs, threads: threadBreakdown(this.threads0, threads1, userMs + sysMs) };
  }
}
