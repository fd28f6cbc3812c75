// System calls per operation, with `strace -c -f` (--syscalls). Each (case, system) pair runs once more under
// strace, with its counts divided by --syscalls-scale because strace makes every call several times slower;
// a do-nothing run of the same system is subtracted so Node's and corio's start-up calls do not count, and
// the output is neither verified nor deleted by these runs (those stat, read and unlink calls would count as
// work). Payload preparation and opening the file before the timed region still count; both are small per
// operation.
// strace sees threads (libuv's pool, corio's pool) but not io_uring's kernel workers: work io_uring does in
// io-wq costs no system call at all, which is the point of it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { scaleParams, systemsFor, type CaseDef, type SystemDef } from './cases.js';
import { runChild } from './runner.js';

export interface SyscallCount {
  caseId: string;
  systemId: string;
  ops: number;
  /** System calls per operation, start-up subtracted. */
  perOp: number;
  /** The five most frequent calls, per operation. */
  top: { name: string; perOp: number }[];
  error?: string;
}

/** Parses `strace -c` output into call counts by name (the "total" line is left out). */
export function parseStraceSummary(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (cols.length < 5 || !/^\d+(\.\d+)?$/.test(cols[0])) continue;
    const name = cols[cols.length - 1];
    const calls = Number(cols[3]);
    if (name === 'total' || !Number.isFinite(calls)) continue;
    counts.set(name, (counts.get(name) ?? 0) + calls);
  }
  return counts;
}

export function straceAvailable(): boolean {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function traced(caseId: string, factory: string, params: unknown, system: SystemDef, dir: string, timeoutS: number) {
  const out = join(dir, `strace-${caseId}-${system.id}.txt`);
  const run = await runChild({ caseId, factory, params, system, dir: join(dir, `${caseId}-${system.id}`), round: -1, verify: false },
    timeoutS,
    ['strace', '-f', '-c', '-o', out]);
  let counts = new Map<string, number>();
  try {
    counts = parseStraceSummary(readFileSync(out, 'utf8'));
  } catch {
    // no output: reported through the result's error below
  }
  return { result: run.result, counts };
}

export async function countSyscalls(
  cases: readonly CaseDef[],
  systems: readonly SystemDef[],
  scale: number,
  baseDir: string,
  timeoutS: number,
  progress: (line: string) => void,
): Promise<SyscallCount[]> {
  const dir = mkdtempSync(join(baseDir, 'corio-strace-'));
  const out: SyscallCount[] = [];
  try {
    const baselines = new Map<string, Map<string, number>>();
    for (const system of systems) {
      progress(`strace baseline · ${system.id}`);
      baselines.set(system.id, (await traced('noop', 'noop', {}, system, dir, timeoutS)).counts);
    }
    for (const c of cases) {
      for (const system of systemsFor(c, systems)) {
        progress(`strace · ${c.id} · ${system.id}`);
        const { result, counts } = await traced(c.id, c.factory, scaleParams(c.params, scale), system, dir, timeoutS);
        const base = baselines.get(system.id) ?? new Map<string, number>();
        const per = new Map<string, number>();
        let total = 0;
        for (const [name, n] of counts) {
          const d = Math.max(0, n - (base.get(name) ?? 0));
          if (d > 0) per.set(name, d);
          total += d;
        }
        const ops = result.ops || 1;
        out.push({
          caseId: c.id,
          systemId: system.id,
          ops: result.ops,
          perOp: total / ops,
          top: [...per].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, n]) => ({ name, perOp: n / ops })),
          ...(result.ok ? {} : { error: result.error }),
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
