// A self-contained SVG timeline of a recording, in the spirit of the classic event-loop diagram: the loop
// thread on top (kernel waits shaded, JS phases in colour), then one row per task with its steps as blocks
// and, beneath, the operations it issued as bars from submission to completion, coloured by where they ran.
import type { Recording } from './perfetto.js';
import { summarize } from './summary.js';

/** toSvg()'s options: the picture's width, how many task rows, and which window of the recording. */
export interface SvgOptions {
  width?: number;
  /** At most this many task rows (the busiest tasks); the rest are counted in a note. Default 24. */
  maxTasks?: number;
  /** Only this window of the recording, in ms from its start. */
  from?: number;
  to?: number;
  title?: string;
}

const colours: Record<string, string> = {
  wait: '#d9d9d9',
  dispatch: '#9ecae1',
  timers: '#fdae6b',
  ready: '#3182bd',
  flush: '#74c476',
  step: '#6baed6',
  'kernel': '#e6550d',
  'pool thread': '#31a354',
  'loop thread': '#756bb1',
  'completion port': '#636363',
  unknown: '#969696',
};

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Draws a recording as an SVG timeline: loop iterations and their phases, then one row of steps per task. */
export function toSvg(recording: Recording, options: SvgOptions = {}): string {
  const width = options.width ?? 1200;
  const label = 170;
  const its = recording.iterations;
  const start = options.from ?? (its.length ? its[0].start : 0);
  let last = its.length ? its[its.length - 1].end : 0;
  for (const o of recording.operations) if (o.complete > last) last = o.complete;  // no spread: 100k ops
  const end = options.to ?? last;
  const span = Math.max(end - start, 1e-6);
  const x = (t: number) => label + ((Math.min(Math.max(t, start), end) - start) / span) * (width - label - 10);
  const w = (a: number, b: number) => Math.max(x(b) - x(a), 0.3);
  const inWindow = (a: number, b: number) => b >= start && a <= end;

  // Rows in order of first appearance. With more tasks than rows, an even sample across that order, so
  // every phase of the program is seen (the first 24 of a thousand would all be from its start); the loop's
  // own operations (flushed coalesced writes) always get a row when there are any.
  const active = new Set<number>();
  for (const s of recording.steps) active.add(s.task);
  for (const o of recording.operations) active.add(o.task);
  const order = [...active].sort((a, b) => a - b);
  const maxTasks = options.maxTasks ?? 24;
  let shown = order;
  if (order.length > maxTasks) {
    const own = order.filter((id) => id !== 0);
    const room = active.has(0) ? maxTasks - 1 : maxTasks;
    shown = Array.from({ length: room }, (_, i) => own[Math.floor((i * own.length) / room)]);
    if (active.has(0)) shown.unshift(0);
  }
  const rowOf = new Map(shown.map((id, i) => [id, i]));

  const rowHeight = 26;
  const top = 58;
  const loopRow = top;
  const taskTop = loopRow + 40;
  const height = taskTop + shown.length * rowHeight + 60;
  const parts: string[] = [];
  const rect = (x0: number, y: number, wd: number, h: number, fill: string, tip: string) =>
    parts.push(`<rect x="${x0.toFixed(2)}" y="${y}" width="${wd.toFixed(2)}" height="${h}" fill="${fill}"><title>${escape(tip)}</title></rect>`);
  const text = (x0: number, y: number, s: string, extra = '') =>
    parts.push(`<text x="${x0}" y="${y}" ${extra}>${escape(s)}</text>`);

  const s = summarize(recording);
  const title = options.title ?? `corio on ${recording.backend}: ${recording.tasks.size} tasks, ${recording.operations.length} operations, ${its.length} loop iterations`;
  text(10, 20, title, 'font-size="15" font-weight="bold"');
  text(10, 40, `${span.toFixed(2)} ms shown · kernel waits ${s.kernelWaitMs.toFixed(2)} ms · JS on the loop ${s.jsMs.toFixed(2)} ms · median ${s.batch.median} submissions per flush`, 'font-size="12" fill="#444"');

  // Loop thread: the iteration's phases side by side.
  text(10, loopRow + 17, 'loop thread', 'font-size="12" font-weight="bold"');
  for (const it of its) {
    if (!inWindow(it.start, it.end)) continue;
    const phases: [string, number, number][] = [
      ['wait', it.waitStart, it.waitEnd], ['dispatch', it.waitEnd, it.dispatchEnd], ['timers', it.dispatchEnd, it.timersEnd],
      ['ready', it.timersEnd, it.readyEnd], ['flush', it.readyEnd, it.end],
    ];
    for (const [name, a, b] of phases) {
      if (b - a <= 0) continue;
      rect(x(a), loopRow, w(a, b), 24, colours[name], `${name === 'wait' ? 'waiting in the kernel' : name}: ${((b - a) * 1000).toFixed(1)} µs`);
    }
  }
  // Task rows: steps on top, the task's operations as thin bars below.
  shown.forEach((id, i) => {
    const y = taskTop + i * rowHeight;
    text(10, y + 12, id === 0 ? '(loop: flushed writes)' : (recording.tasks.get(id) ?? `task-${id}`).slice(0, 24), 'font-size="11"');
  });
  for (const st of recording.steps) {
    const row = rowOf.get(st.task);
    if (row === undefined || !inWindow(st.start, st.end)) continue;
    rect(x(st.start), taskTop + row * rowHeight, w(st.start, st.end), 10, colours.step, `step ${((st.end - st.start) * 1000).toFixed(1)} µs, then ${st.then}`);
  }
  for (const op of recording.operations) {
    const row = rowOf.get(op.task);
    if (row === undefined || !inWindow(op.submit, op.complete)) continue;
    rect(x(op.submit), taskTop + row * rowHeight + 12, w(op.submit, op.complete), 8, colours[op.ranOn] ?? colours.unknown,
      `${op.kind} ${op.target} ${op.bytes ? op.bytes + ' B ' : ''}→ ${op.result} (${op.ranOn}), ${((op.complete - op.submit) * 1000).toFixed(1)} µs`);
  }
  // Legend.
  const legendY = height - 30;
  let lx = 10;
  for (const [name, fill] of [['kernel wait', colours.wait], ['dispatch', colours.dispatch], ['timers', colours.timers],
    ['ready tasks', colours.ready], ['flush', colours.flush], ['task step', colours.step], ['op: kernel', colours.kernel],
    ['op: pool thread', colours['pool thread']], ['op: loop thread', colours['loop thread']], ['op: IOCP', colours['completion port']]] as const) {
    parts.push(`<rect x="${lx}" y="${legendY}" width="12" height="12" fill="${fill}"/>`);
    text(lx + 16, legendY + 10, name, 'font-size="11"');
    lx += 16 + name.length * 6.5 + 14;
  }
  const hidden = active.size - shown.length;
  if (hidden > 0) text(10, height - 6, `${shown.length} of ${active.size} tasks drawn, evenly sampled in the order they started`, 'font-size="11" fill="#666"');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    '</svg>',
  ].join('\n');
}
