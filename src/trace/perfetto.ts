// A recording as Chrome / Perfetto trace-event JSON (the "JSON Object Format" that ui.perfetto.dev and
// chrome://tracing open), and back. Tracks: the loop thread (iterations, with their phases nested inside),
// one track per task (its steps), one per pool thread and one for inline runs on the loop thread (when the
// backend ran an operation), and every operation as an async slice from submission to completion.
// Timestamps are microseconds from the start of the recording.
import type { IterationRecord, OperationRecord, RanOn, StepRecord } from '../core/trace.js';

/** What the formats read: a TraceRecorder, or a recording read back from a trace file. */
export interface Recording {
  backend: string;
  iterations: readonly IterationRecord[];
  steps: readonly StepRecord[];
  operations: readonly OperationRecord[];
  tasks: ReadonlyMap<number, string>;
  dropped: number;
}

/** One event of the Chrome trace-event format (what ui.perfetto.dev and chrome://tracing read). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'b' | 'e' | 'M' | 'C';
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  cat?: string;
  id?: number;
  args?: Record<string, unknown>;
}

/** A trace file as toTraceFile() writes it: Chrome trace-event JSON with corio's own metadata in otherData. */
export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: { producer: 'corio'; backend: string; dropped: number };
}

const PID = 1;
const LOOP_TID = 1;
const INLINE_TID = 2;
const TASK_TID_BASE = 1000;
const POOL_TID_BASE = 100;

const us = (ms: number) => Math.round(ms * 1000 * 1000) / 1000;  // ms → µs, kept to the nanosecond

function thread(tid: number, name: string, sortIndex: number): TraceEvent[] {
  return [
    { name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid, args: { name } },
    { name: 'thread_sort_index', ph: 'M', ts: 0, pid: PID, tid, args: { sort_index: sortIndex } },
  ];
}

/** The recording as trace-event JSON. */
export function toTraceFile(recording: Recording): TraceFile {
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: LOOP_TID, args: { name: `corio (${recording.backend})` } },
    ...thread(LOOP_TID, 'loop thread', 0),
  ];
  for (const it of recording.iterations) {
    const slice = (name: string, from: number, to: number, args?: Record<string, unknown>) =>
      events.push({ name, ph: 'X', ts: us(from), dur: us(to - from), pid: PID, tid: LOOP_TID, cat: 'loop', args });
    // The phase boundaries ride along in args too, so a file read back gives the same recording.
    const phases = [it.waitStart, it.waitEnd, it.dispatchEnd, it.timersEnd, it.readyEnd].map(us);
    slice('iteration', it.start, it.end, { completions: it.completions, steps: it.steps, submitted: it.submitted, phases });
    if (it.waitEnd > it.waitStart) slice('wait (kernel)', it.waitStart, it.waitEnd);
    if (it.dispatchEnd > it.waitEnd) slice('dispatch completions', it.waitEnd, it.dispatchEnd);
    if (it.timersEnd > it.dispatchEnd) slice('timers', it.dispatchEnd, it.timersEnd);
    if (it.readyEnd > it.timersEnd) slice('run ready tasks', it.timersEnd, it.readyEnd);
    if (it.end > it.readyEnd) slice('flush deferred', it.readyEnd, it.end);
  }
  const taskIds = [...recording.tasks.keys()].sort((a, b) => a - b);
  for (const id of taskIds) events.push(...thread(TASK_TID_BASE + id, `task ${recording.tasks.get(id)}`, 10 + id));
  for (const s of recording.steps) {
    events.push({
      name: recording.tasks.get(s.task) ?? `task-${s.task}`, ph: 'X', ts: us(s.start), dur: us(s.end - s.start),
      pid: PID, tid: TASK_TID_BASE + s.task, cat: 'step', args: { then: s.then },
    });
  }
  const workers = new Set<number>();
  let inline = false;
  for (const op of recording.operations) {
    const args = {
      kind: op.kind, bytes: op.bytes, target: op.target, task: op.task, result: op.result, ranOn: op.ranOn,
      worker: op.worker, runStart: op.runStart, runEnd: op.runEnd,
    };
    events.push({ name: op.kind, ph: 'b', ts: us(op.submit), pid: PID, tid: LOOP_TID, cat: 'operation', id: op.id, args });
    events.push({ name: op.kind, ph: 'e', ts: us(op.complete), pid: PID, tid: LOOP_TID, cat: 'operation', id: op.id });
    if (op.runStart >= 0 && op.runEnd >= op.runStart) {
      const tid = op.ranOn === 'pool thread' ? POOL_TID_BASE + op.worker : INLINE_TID;
      if (op.ranOn === 'pool thread') workers.add(op.worker);
      else inline = true;
      events.push({
        name: op.kind, ph: 'X', ts: us(op.runStart), dur: us(op.runEnd - op.runStart), pid: PID, tid, cat: 'run',
        args: { operation: op.id, bytes: op.bytes, result: op.result },
      });
    }
  }
  if (inline) events.push(...thread(INLINE_TID, 'loop thread: inline operations', 1));
  for (const w of [...workers].sort((a, b) => a - b)) events.push(...thread(POOL_TID_BASE + w, `pool thread ${w}`, 5000 + w));
  return {
    traceEvents: events,
    displayTimeUnit: 'ms',
    otherData: { producer: 'corio', backend: recording.backend, dropped: recording.dropped },
  };
}

/** Problems that make `value` not a trace-event file corio can read (empty when it is one). */
export function checkTraceFile(value: unknown): string[] {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null) return ['not an object'];
  const events = (value as { traceEvents?: unknown }).traceEvents;
  if (!Array.isArray(events)) return ['traceEvents is not an array'];
  const open = new Map<string, number>();
  events.forEach((e: Record<string, unknown>, i) => {
    const where = `traceEvents[${i}]`;
    if (typeof e !== 'object' || e === null) return problems.push(`${where} is not an object`);
    if (typeof e.name !== 'string') problems.push(`${where}.name is not a string`);
    if (!['X', 'b', 'e', 'M', 'C'].includes(e.ph as string)) problems.push(`${where}.ph ${String(e.ph)} is not a phase corio writes`);
    for (const k of ['ts', 'pid', 'tid']) {
      if (typeof e[k] !== 'number' || !Number.isFinite(e[k])) problems.push(`${where}.${k} is not a finite number`);
    }
    if (e.ph === 'X' && !(typeof e.dur === 'number' && e.dur >= 0)) problems.push(`${where}.dur is not a non-negative number`);
    if (e.ph === 'b' || e.ph === 'e') {
      if (typeof e.id !== 'number' || typeof e.cat !== 'string') problems.push(`${where} (async) needs a numeric id and a cat`);
      const key = `${String(e.cat)}:${String(e.id)}`;
      if (e.ph === 'b') open.set(key, e.ts as number);
      else if (!open.has(key)) problems.push(`${where} ends async slice ${key} that never began`);
      else if ((e.ts as number) < open.get(key)!) problems.push(`${where} ends async slice ${key} before it began`);
      else open.delete(key);
    }
  });
  for (const key of open.keys()) problems.push(`async slice ${key} never ended`);
  return problems;
}

/** Reads a trace file corio wrote back into a recording (for `corio trace <file>`). */
export function fromTraceFile(file: TraceFile): Recording {
  const problems = checkTraceFile(file);
  if (problems.length > 0) throw new TypeError(`not a corio trace: ${problems.slice(0, 3).join('; ')}`);
  const iterations: IterationRecord[] = [];
  const steps: StepRecord[] = [];
  const operations: OperationRecord[] = [];
  const tasks = new Map<number, string>();
  const ends = new Map<number, number>();
  const ms = (t: number) => t / 1000;
  for (const e of file.traceEvents) {
    if (e.ph === 'M' && e.name === 'thread_name' && e.tid >= TASK_TID_BASE) {
      tasks.set(e.tid - TASK_TID_BASE, String(e.args?.name ?? '').replace(/^task /, ''));
    } else if (e.ph === 'X' && e.cat === 'loop') {
      if (e.name === 'iteration') {
        const a = e.args ?? {};
        const p = (Array.isArray(a.phases) ? a.phases : []).map((t: unknown) => ms(Number(t)));
        iterations.push({
          start: ms(e.ts), waitStart: p[0] ?? ms(e.ts), waitEnd: p[1] ?? ms(e.ts), dispatchEnd: p[2] ?? ms(e.ts),
          timersEnd: p[3] ?? ms(e.ts), readyEnd: p[4] ?? ms(e.ts), end: ms(e.ts + e.dur!),
          completions: Number(a.completions), steps: Number(a.steps), submitted: Number(a.submitted),
        });
      }
    } else if (e.ph === 'X' && e.cat === 'step') {
      steps.push({ task: e.tid - TASK_TID_BASE, start: ms(e.ts), end: ms(e.ts + e.dur!), then: String(e.args?.then ?? '') });
    } else if (e.ph === 'e' && e.cat === 'operation') {
      ends.set(e.id!, ms(e.ts));
    }
  }
  for (const e of file.traceEvents) {
    if (e.ph !== 'b' || e.cat !== 'operation') continue;
    const a = e.args ?? {};
    operations.push({
      id: e.id!, kind: String(a.kind), bytes: Number(a.bytes), target: String(a.target), task: Number(a.task),
      submit: ms(e.ts), complete: ends.get(e.id!) ?? ms(e.ts), result: Number(a.result), ranOn: a.ranOn as RanOn,
      worker: Number(a.worker), runStart: Number(a.runStart), runEnd: Number(a.runEnd),
    });
  }
  return { backend: file.otherData?.backend ?? '', iterations, steps, operations, tasks, dropped: file.otherData?.dropped ?? 0 };
}
