// --trace: one more run of each case on each system, recording what the run did. corio systems record
// their own trace (CORIO_TRACE: loop iterations, task steps, operations and where they ran); Node systems
// record Node's trace events for the same workload (--trace-event-categories node.async_hooks,node.fs.sync:
// an async span per fs request, and each synchronous fs call), which is what Node has that compares. Runs
// are scaled down like the strace runs (counts divided by the factor given), so the files stay small enough
// to open; they are not timed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatSummary, fromTraceFile, type TraceFile } from '../src/index.js';
import { scaleParams, systemsFor, type CaseDef, type SystemDef } from './cases.js';
import { runChild } from './runner.js';

export interface TraceRun {
  caseId: string;
  systemId: string;
  /** Path of the trace file (Perfetto / Chrome trace-event JSON), or null when the run left none. */
  file: string | null;
  /** corio's summary of its own trace; for Node, how many trace events of each category were recorded. */
  summary: string;
  error?: string;
}

const NODE_CATEGORIES = 'node.async_hooks,node.fs.sync';

function nodeSummary(file: string): string {
  const events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: { cat?: string; name?: string; ph?: string }[] }).traceEvents;
  const byName = new Map<string, number>();
  for (const e of events) {
    if (e.ph !== 'b' && e.ph !== 'X' && e.ph !== 'B') continue;  // count each span once, at its start
    const key = `${e.cat}: ${e.name}`;
    byName.set(key, (byName.get(key) ?? 0) + 1);
  }
  const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 6);
  return `node trace events: ${top.map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`;
}

export async function recordTraces(
  cases: readonly CaseDef[],
  systems: readonly SystemDef[],
  scale: number,
  baseDir: string,
  outDir: string,
  timeoutS: number,
  progress: (line: string) => void,
): Promise<TraceRun[]> {
  mkdirSync(outDir, { recursive: true });
  const scratch = mkdtempSync(join(baseDir, 'corio-trace-'));
  const runs: TraceRun[] = [];
  try {
    for (const c of cases) {
      for (const system of systemsFor(c, systems)) {
        progress(`trace · ${c.id} · ${system.id}`);
        const corio = system.flavor === 'corio';
        const file = join(outDir, `${c.id}-${system.id}.json`);
        const env: Record<string, string> = corio
          ? { CORIO_TRACE: file, CORIO_TRACE_QUIET: '1' }
          : { NODE_OPTIONS: `--trace-event-categories=${NODE_CATEGORIES} --trace-event-file-pattern=${file}` };
        const spec = {
          caseId: c.id, factory: c.factory, params: scaleParams(c.params, scale),
          system: { ...system, env: { ...system.env, ...env } }, dir: join(scratch, `${c.id}-${system.id}`), round: -1,
        };
        const { result } = await runChild(spec, timeoutS);
        const run: TraceRun = { caseId: c.id, systemId: system.id, file: existsSync(file) ? file : null, summary: '' };
        try {
          if (run.file) run.summary = corio ? formatSummary(fromTraceFile(JSON.parse(readFileSync(file, 'utf8')) as TraceFile)) : nodeSummary(file);
        } catch (error) {
          run.error = `unreadable trace: ${(error as Error).message}`;
        }
        if (!result.ok) run.error = result.error;
        if (!run.file && !run.error) run.error = 'the run wrote no trace';
        runs.push(run);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return runs;
}
