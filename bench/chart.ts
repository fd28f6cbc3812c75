// The SVG chart, written by hand (no dependency): one panel per case, one horizontal bar per system at its
// median throughput with a min–max whisker, labelled with the value and its ratio to fs.promises. Each panel has
// its own linear scale (the cases differ by orders of magnitude). W6's panel shows p99 lateness instead —
// shorter is better there, and the panel says so. Each panel names what its ratios divide by: fs.promises for
// file workloads, an `await` or a `setImmediate` round trip for W5 (the case's label for that Node system).
// Titles and notes wrap onto as many lines as they need instead of being cut.
import { BASELINE } from './cases.js';
import { ms, si, times } from './format.js';
import type { CaseSummary, SystemSummary, TargetResult } from './summary.js';

const COLORS: Record<string, string> = {
  'corio-uring': '#1f6feb',
  'corio-epoll': '#54aeff',
  'node-promises': '#d1242f',
  'node-promises-uring': '#ff8182',
  'node-callbacks': '#9a6700',
  'node-callbacks-uring': '#d4a72c',
  'node-sync': '#6e7781',
};

export function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const PANEL_W = 540;
const LABEL_W = 150;
const BAR_W = 250;
const ROW_H = 20;
const HEAD_H = 44;
const GAP = 18;
const COLUMNS = 2;

interface Bar {
  label: string;
  color: string;
  value: number;
  min: number;
  max: number;
  text: string;
}

/**
 * The name of what a case's ratios are taken against: the label the system has in that case ("fs.promises",
 * or "Node await" in W5 where node-promises awaits a resolved promise).
 */
export function referenceLabel(c: Pick<CaseSummary, 'systems'>, systemId: string = BASELINE): string {
  return c.systems.find((s) => s.systemId === systemId)?.label ?? (systemId === BASELINE ? 'fs.promises' : systemId);
}

/** Splits `text` at spaces into lines of at most `max` characters (a longer word gets a line of its own). */
export function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

// Characters per line inside a panel, from the average glyph width of the fonts (Helvetica/Arial): bold 13 px
// titles about 7.6 px a character, 11 px notes about 6 px, over PANEL_W less 10 px margins each side.
const TITLE_CHARS = 68;
const NOTE_CHARS = 84;

function bars(c: CaseSummary): { bars: Bar[]; metric: string } {
  const latency = c.systems.some((s) => s.lateness);
  const list = c.systems.map((s: SystemSummary): Bar => {
    const color = COLORS[s.systemId] ?? '#8250df';
    if (latency) {
      const l = s.lateness;
      const ratio = s.systemId === BASELINE || !s.p99Ratio ? '' : ` · ${times(s.p99Ratio.median)}`;
      return { label: s.label, color, value: l?.p99.median ?? NaN, min: l?.p99.min ?? NaN, max: l?.p99.max ?? NaN,
        text: l ? `${ms(l.p99.median)}${ratio}` : 'failed' };
    }
    const t = s.throughput;
    const ratio = s.systemId === BASELINE ? ' · 1×' : ` · ${times(s.ratio.median)}`;
    return { label: s.label, color, value: t.median, min: t.min, max: t.max, text: t.n ? `${si(t.median)}/s${ratio}` : 'failed' };
  });
  const reference = referenceLabel(c);
  return {
    bars: list,
    metric: latency
      ? `p99 lateness of a 1 ms ticker (shorter is better) · ÷ ${reference}`
      : `ops/s, median, min–max whisker · × ${reference}`,
  };
}

/** "target ≥ 1.5× vs fs.promises: uring 1.05× missed · epoll 0.90× missed" (one entry per target text). */
function targetLines(c: CaseSummary, targets: readonly TargetResult[]): string[] {
  const byText = new Map<string, TargetResult[]>();
  for (const t of targets) byText.set(t.text, [...(byText.get(t.text) ?? []), t]);
  return [...byText.values()].map((ts) =>
    `target ${ts[0].needs} vs ${referenceLabel(c, ts[0].against)}: ` +
      ts.map((t) => `${t.systemId.replace(/^corio-/, '')} ${times(t.ratio.median)} ${t.met === null ? '?' : t.met ? 'met' : 'missed'}`).join(' · '));
}

function panel(c: CaseSummary, targets: readonly TargetResult[], x: number, y: number): { svg: string; height: number } {
  const { bars: list, metric: metricText } = bars(c);
  const titleLines = wrap(c.title, TITLE_CHARS);
  const metric = wrap(metricText, NOTE_CHARS);
  // A target's colour is its own: wrapped, each of its lines keeps it.
  const notes = targetLines(c, targets).flatMap((n) => wrap(n, NOTE_CHARS).map((line) => ({ line, missed: / missed/.test(n) })));
  const titleH = (titleLines.length - 1) * 16;
  const metricH = (metric.length - 1) * 14;
  const head = HEAD_H + titleH + metricH + notes.length * 14;
  const height = head + list.length * ROW_H + 6;
  const top = Math.max(...list.map((b) => (Number.isFinite(b.max) ? b.max : b.value)).filter(Number.isFinite), 0);
  const scale = top > 0 ? BAR_W / top : 0;
  const o: string[] = [];
  o.push(`<g transform="translate(${x},${y})">`);
  o.push(`<rect x="0" y="0" width="${PANEL_W}" height="${height}" rx="6" fill="#f6f8fa" stroke="#d0d7de"/>`);
  titleLines.forEach((t, i) => o.push(`<text x="10" y="${18 + i * 16}" class="t">${xml(t)}</text>`));
  metric.forEach((m, i) => o.push(`<text x="10" y="${34 + titleH + i * 14}" class="s">${xml(m)}</text>`));
  notes.forEach((n, i) => {
    o.push(`<text x="10" y="${48 + titleH + metricH + i * 14}" class="s" style="fill:${n.missed ? '#cf222e' : '#1a7f37'}">${xml(n.line)}</text>`);
  });
  list.forEach((b, i) => {
    const ry = head + i * ROW_H;
    const w = Number.isFinite(b.value) ? Math.max(1, b.value * scale) : 0;
    o.push(`<text x="${LABEL_W - 6}" y="${ry + 13}" class="l" text-anchor="end">${xml(b.label)}</text>`);
    o.push(`<rect x="${LABEL_W}" y="${ry + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" fill="${b.color}"/>`);
    if (Number.isFinite(b.min) && Number.isFinite(b.max) && b.max > b.min) {
      const x1 = LABEL_W + b.min * scale;
      const x2 = LABEL_W + b.max * scale;
      const cy = ry + ROW_H / 2;
      o.push(`<path d="M${x1.toFixed(1)} ${cy}H${x2.toFixed(1)}M${x1.toFixed(1)} ${cy - 4}V${cy + 4}M${x2.toFixed(1)} ${cy - 4}V${cy + 4}" stroke="#24292f" stroke-width="1"/>`);
    }
    const tx = LABEL_W + Math.max(w, Number.isFinite(b.max) ? b.max * scale : 0) + 6;
    o.push(`<text x="${tx.toFixed(1)}" y="${ry + 13}" class="v">${xml(b.text)}</text>`);
  });
  o.push('</g>');
  return { svg: o.join(''), height };
}

/** The whole chart: a header with the machine, then the panels in two columns. */
export function renderChart(
  cases: readonly CaseSummary[],
  heading: string,
  machine: string,
  targets: readonly TargetResult[] = [],
): string {
  const top = 58;
  const colY = Array.from({ length: COLUMNS }, () => top);
  const parts: string[] = [];
  for (const c of cases) {
    const col = colY.indexOf(Math.min(...colY));
    const { svg, height } = panel(c, targets.filter((t) => t.caseId === c.caseId), GAP + col * (PANEL_W + GAP), colY[col]);
    parts.push(svg);
    colY[col] += height + GAP;
  }
  const width = GAP + COLUMNS * (PANEL_W + GAP);
  const height = Math.max(...colY) + 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.h{font-size:17px;font-weight:bold;fill:#24292f}.m{font-size:12px;fill:#57606a}.t{font-size:13px;font-weight:bold;fill:#24292f}' +
      '.s{font-size:11px;fill:#57606a}.l{font-size:12px;fill:#24292f}.v{font-size:11px;fill:#24292f}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${GAP}" y="26" class="h">${xml(heading)}</text>`,
    `<text x="${GAP}" y="44" class="m">${xml(machine)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
