// What machine a result came from: kernel, filesystem of the target directory, CPU, Node, corio's backends.
// Every field is best effort: a missing tool gives 'unknown', never a failed benchmark.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backend, probeBackends, run, type BackendProbe } from '../src/index.js';

export interface Machine {
  hostname: string;
  kernel: string;
  os: string;
  cpuModel: string;
  cpus: number;
  /** Cpus_allowed_list of the benchmark process (pinning changes results a lot; NOTES.md). */
  cpuAffinity: string;
  memoryGiB: number;
  node: string;
  libuv: string;
  targetDir: string;
  /** `stat -f -c %T` of the target directory (ext4 reports "ext2/ext3"). */
  statFsType: string;
  /** The mount holding the target directory, from /proc/mounts. */
  mount: { point: string; type: string; options: string } | null;
  ioUringDisabled: string;
  backends: BackendProbe[];
  /** What `auto` picks, and why. */
  autoBackend: { name: string; reason: string } | null;
  /** The corio source measured: git commit and how many files differ from it (0: a clean checkout). */
  source: { commit: string; changedFiles: number | null };
}

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function tryRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The /proc/mounts entry with the longest mount point that contains `dir`. */
export function mountOf(dir: string, mounts: string): Machine['mount'] {
  let best: Machine['mount'] = null;
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  for (const line of mounts.split('\n')) {
    const [, point, type, options] = line.split(' ');
    if (!point || !type) continue;
    const p = unescape(point);
    const inside = p === '/' || dir === p || dir.startsWith(p.endsWith('/') ? p : `${p}/`);
    if (inside && (best === null || p.length > best.point.length)) best = { point: p, type, options: options ?? '' };
  }
  return best;
}

function sourceVersion(): Machine['source'] {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  // Installed from npm, corio sits in an app's node_modules: git would answer for the app's repository.
  const top = tryRun('git', ['-C', root, 'rev-parse', '--show-toplevel']);
  if (top === 'unknown' || realpathSync(top) !== realpathSync(root)) return { commit: 'unknown', changedFiles: null };
  const commit = tryRun('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  const status = tryRun('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no']);
  return { commit, changedFiles: status === 'unknown' ? null : status.split('\n').filter((l) => l.trim()).length };
}

export function describeMachine(targetDir: string): Machine {
  const dir = resolve(targetDir);
  const cpus = os.cpus();
  let autoBackend: Machine['autoBackend'] = null;
  try {
    autoBackend = run(function* () {
      return backend();
    });
  } catch {
    autoBackend = null;
  }
  const status = tryRead('/proc/self/status');
  return {
    hostname: os.hostname(),
    kernel: os.release(),
    os: `${os.type()} ${os.arch()}`,
    cpuModel: cpus[0]?.model?.trim() || 'unknown',
    cpus: cpus.length,
    cpuAffinity: /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    libuv: process.versions.uv ?? 'unknown',
    targetDir: dir,
    statFsType: tryRun('stat', ['-f', '-c', '%T', dir]),
    mount: mountOf(dir, tryRead('/proc/mounts')),
    ioUringDisabled: tryRead('/proc/sys/kernel/io_uring_disabled').trim() || 'n/a',
    backends: probeBackends(),
    autoBackend,
    source: sourceVersion(),
  };
}

/** One line: "Linux 6.18 · ext4 · AMD EPYC × 2 · Node v20.20.2". */
export function machineLine(m: Machine): string {
  return `Linux ${m.kernel} · ${m.mount?.type ?? m.statFsType} (${m.targetDir}) · ${m.cpuModel} × ${m.cpus} vCPU · ` +
    `${m.memoryGiB} GiB · Node ${m.node} (libuv ${m.libuv})`;
}

/** Other heavy work on the machine right now (builds, test runs), so the report can say the numbers are noisy. */
export function otherActivity(): { loadavg: number[]; busy: string[] } {
  const busy: string[] = [];
  const out = tryRun('ps', ['-eo', 'pid,ppid,args']);
  const mine = new Set<number>([process.pid]);
  for (const line of out.split('\n').slice(1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [pid, ppid, args] = [Number(m[1]), Number(m[2]), m[3]];
    if (mine.has(ppid)) {
      mine.add(pid);
      continue;
    }
    if (/vitest|node-gyp|cc1plus|\bmake\b|\btsc\b|core-test|npm (test|run)/.test(args) && !/bench/.test(args)) {
      busy.push(args.length > 80 ? `${args.slice(0, 77)}...` : args);
    }
  }
  return { loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100), busy };
}
