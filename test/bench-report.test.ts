// Summaries, targets, the terminal table, the markdown report and the SVG chart, from made-up runs (the
// figures here are invented inputs; nothing is timed).
import { describe, expect, it } from 'vitest';
import { buildCases, corioSystem, nodeSystems, QUICK_SIZES, type CaseDef, type SystemDef } from '../bench/cases.js';
import type { RunResult } from '../bench/child.js';
import { renderChart, wrap } from '../bench/chart.js';
import { parseCommand } from '../bench/args.js';
import type { Machine } from '../bench/machine.js';
import { markdownReport, terminalTable, type BenchReport } from '../bench/report.js';
import { evaluateTargets, summarizeCase } from '../bench/summary.js';
import { parseStraceSummary } from '../bench/syscalls.js';
import { breakdowns, compactBreakdown, mainThreadParts } from '../bench/breakdown.js';
import { foldProfile, frameKind, type CpuProfile } from '../bench/profile.js';

/** The sizes of a full `corio bench` run (no --quick), whose titles are the longest. */
function fullSizes() {
  const parsed = parseCommand([]);
  if (parsed.command !== 'bench') throw new Error('unreachable');
  return parsed.options.sizes;
}

const systems: SystemDef[] = [corioSystem('uring'), corioSystem('epoll'), ...nodeSystems(true)];
const cases: CaseDef[] = buildCases(QUICK_SIZES);
const w1 = cases.find((c) => c.id === 'w1')!;
const w6 = cases.find((c) => c.id === 'w6')!;

/** A made-up run: `rate` ops per second over 1000 ops. */
function fake(c: CaseDef, systemId: string, round: number, rate: number, extra: Partial<RunResult> = {}): RunResult {
  const wallMs = (1000 / rate) * 1000;
  return {
    caseId: c.id, systemId, round, ok: true, ops: 1000,
    region: { wallMs, userMs: wallMs / 2, sysMs: wallMs / 4,
      threads: { mainMs: wallMs / 2, iouWorkerMs: 0, iouSqpollMs: 0, otherMs: wallMs / 4, exitedMs: 0, iouWorkers: 0 } },
    verified: { checksum: 'abcd0123', sampledBytes: 100, detail: 'checked' },
    ...(systemId.startsWith('corio')
      ? { corio: { backend: systemId.slice(6), reason: 'test', loopCpuMs: wallMs / 4, iterations: 500,
          native: { submitted: 3000, completed: 3000, enters: 400, inlineOps: 0, workerOps: systemId === 'corio-epoll' ? 3000 : 0,
            cancelRequests: 0, inFlight: 0, queued: 0 } } }
      : {}),
    ...extra,
  };
}

function results(): RunResult[] {
  const out: RunResult[] = [];
  const rates: Record<string, number[]> = {
    'corio-uring': [2000, 1800, 2200], 'corio-epoll': [1500, 1400, 1300], 'node-promises': [1000, 1000, 1100],
    'node-promises-uring': [500, 600, 700], 'node-callbacks': [1200, 1100, 1000], 'node-callbacks-uring': [900, 800, 700],
    'node-sync': [5000, 5100, 4900],
  };
  for (let round = 0; round < 3; round++) {
    for (const [id, r] of Object.entries(rates)) out.push(fake(w1, id, round, r[round]));
    for (const id of ['corio-uring', 'corio-epoll', 'node-promises', 'node-promises-uring', 'node-callbacks', 'node-callbacks-uring']) {
      const p99 = id === 'corio-uring' ? 0.5 : id === 'corio-epoll' ? 3 : 2;
      out.push(fake(w6, id, round, 1000, { lateness: { p50: 0.1, p99, max: p99 * 2, ticks: 100 } }));
    }
  }
  out.push({ caseId: 'w1', systemId: 'node-sync', round: 3, ok: false, ops: 0, error: 'VerifyError: f3: size 0, expected 4096' });
  return out;
}

const machine: Machine = {
  hostname: 'test', kernel: '6.18.0', os: 'Linux x64', cpuModel: 'Test CPU <fast>', cpus: 2, cpuAffinity: '0-1', memoryGiB: 8,
  node: 'v20.20.2', libuv: '1.46.0', targetDir: '/tmp', statFsType: 'ext2/ext3', mount: { point: '/', type: 'ext4', options: 'rw' },
  ioUringDisabled: '0', backends: [{ name: 'uring', available: true, reason: 'ok' }], autoBackend: { name: 'uring', reason: 'ok' },
  source: { commit: 'abc1234', changedFiles: 0 },
};

function report(): BenchReport {
  const rs = results();
  const cs = [w1, w6];
  const parsed = parseCommand(['--quick']);
  if (parsed.command !== 'bench') throw new Error('unreachable');
  return {
    version: 1, startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:10:00.000Z', durationS: 600, argv: ['--quick'],
    options: { ...parsed.options, runs: 3 }, machine, systems, cases: cs,
    rounds: [{ round: 1, loadavg: [0.5, 0.4, 0.3], busy: ['vitest run'] }],
    createProbeUs: 31.5,
    summary: cs.map((c) => summarizeCase(c, systems, rs)),
    targets: cs.flatMap((c) => evaluateTargets(c, systems, rs)),
    syscalls: [{ caseId: 'w1', systemId: 'corio-uring', ops: 100, perOp: 1.5, top: [{ name: 'io_uring_enter', perOp: 0.2 }] }],
    results: rs,
  };
}

describe('bench summaries and targets', () => {
  it('takes medians, min–max and ratios paired by round', () => {
    const s = summarizeCase(w1, systems, results());
    const uring = s.systems.find((x) => x.systemId === 'corio-uring')!;
    expect(uring.throughput.median).toBeCloseTo(2000);
    expect(uring.throughput.min).toBeCloseTo(1800);
    expect(uring.throughput.max).toBeCloseTo(2200);
    // Per-round ratios 2.0, 1.8, 2.0 → median 2.0 (not 2000/1000 by accident: round 3 of the baseline is 1100).
    expect(uring.ratio.median).toBeCloseTo(2);
    expect(uring.ratio.min).toBeCloseTo(1.8);
    expect(uring.loopShare!.median).toBeCloseTo(1 / 3);
    expect(uring.native!.enters).toBeCloseTo(0.4);
    expect(uring.cpuPerOpUs.median).toBeCloseTo(375);
    const sync = s.systems.find((x) => x.systemId === 'node-sync')!;
    expect(sync.failures).toHaveLength(1);
    expect(s.checksumsAgree).toBe(true);
  });

  it('notices when systems wrote different bytes', () => {
    const rs = results();
    rs[0].verified = { checksum: 'ffffffff', sampledBytes: 100, detail: 'checked' };
    expect(summarizeCase(w1, systems, rs).checksumsAgree).toBe(false);
  });

  it('marks each target met or missed per corio backend', () => {
    const rs = results();
    const t1 = evaluateTargets(w1, systems, rs);
    // W1 has two targets (issue 1's against fs.promises, issue 16's against fs sync), each per corio backend.
    expect(t1.filter((t) => t.against === 'node-promises').map((t) => [t.systemId, t.met])).toEqual([['corio-uring', true], ['corio-epoll', false]]);
    expect(t1.filter((t) => t.against === 'node-sync').map((t) => [t.systemId, t.needs])).toEqual([['corio-uring', '≥ 1×'], ['corio-epoll', '≥ 1×']]);
    const t6 = evaluateTargets(w6, systems, rs);
    expect(t6.map((t) => [t.systemId, t.met, t.needs])).toEqual([['corio-uring', true, '≤ 1×'], ['corio-epoll', false, '≤ 1×']]);
    const none = evaluateTargets(w1, systems, []);
    expect(none.every((t) => t.met === null)).toBe(true);
  });
});

describe('bench report outputs', () => {
  it('writes a markdown report with the machine, method, targets, results and system calls', () => {
    const md = markdownReport(report(), 'chart.svg');
    expect(md).toContain('![throughput per system and workload](chart.svg)');
    expect(md).toContain('Linux 6.18.0');
    expect(md).toContain('ext4 on /');
    expect(md).toContain('fresh directory per run');
    expect(md).toContain('took 31.5 µs per file.');
    expect(md).toMatch(/\| W1 ≥ 1\.5× fs\.promises \| corio-uring \| fs\.promises \| ≥ 1\.5× \| 2\.00× \(1\.80×–2\.00×\) \| \*\*met\*\* \|/);
    expect(md).toMatch(/corio-epoll .*\*\*missed\*\*/);
    expect(md).toContain('1 of 4 runs failed');
    expect(md).toContain('VerifyError');
    expect(md).toContain('io_uring_enter 0.2');
    expect(md).toContain('`vitest run`');
    expect(md).not.toContain('NaN');
  });

  it('prints a terminal table with every system and the targets', () => {
    const t = terminalTable(report());
    for (const s of ['corio uring', 'fs.promises +uring', 'fs sync', '✓ W1', '✗ W1', 'late p50']) expect(t).toContain(s);
  });

  it('draws a well-formed SVG with a panel per case, every system labelled and text escaped', () => {
    const r = report();
    const svg = renderChart(r.summary, 'corio <vs> Node & co', 'machine line', r.targets);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('corio &lt;vs&gt; Node &amp; co');
    expect(svg.match(/<g /g)?.length).toBe(2);
    expect(svg.match(/<g /g)?.length).toBe(svg.match(/<\/g>/g)?.length);
    for (const label of ['corio uring', 'corio epoll', 'fs.promises', 'fs callbacks +uring', 'fs sync']) expect(svg).toContain(`>${label}<`);
    expect(svg).toContain('2.00×');
    expect(svg).toContain('p99 lateness');
    expect(svg).toContain('missed');
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    // Every element that opens also closes (a cheap well-formedness check without an XML parser).
    const opened = (svg.match(/<(text|g|svg|style)[ >]/g) ?? []).length;
    const closed = (svg.match(/<\/(text|g|svg|style)>/g) ?? []).length;
    expect(opened).toBe(closed);
  });

  it('reads strace -c summaries', () => {
    const text = [
      '% time     seconds  usecs/call     calls    errors syscall',
      '------ ----------- ----------- --------- --------- ----------------',
      ' 60.00    0.000300           3       100           pwrite64',
      ' 30.00    0.000150          15        10         2 openat',
      '  0.00    0.000000           0         1           io_uring_enter',
      '------ ----------- ----------- --------- --------- ----------------',
      '100.00    0.000450           4       111         2 total',
    ].join('\n');
    const counts = parseStraceSummary(text);
    expect([...counts]).toEqual([['pwrite64', 100], ['openat', 10], ['io_uring_enter', 1]]);
  });

  it('W5 panels, tables and targets name what they divide by (an await, a setImmediate round trip), not fs.promises', () => {
    const w5 = cases.find((c) => c.id === 'w5-switch')!;
    const rs: RunResult[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [id, rate] of [['corio-uring', 3000], ['corio-epoll', 2800], ['node-promises', 10_000], ['node-callbacks', 500]] as const) {
        rs.push(fake(w5, id, round, rate));
      }
    }
    const r: BenchReport = { ...report(), cases: [w5], summary: [summarizeCase(w5, systems, rs)], targets: evaluateTargets(w5, systems, rs), results: rs };
    const svg = renderChart(r.summary, 'h', 'm', r.targets);
    expect(svg).toContain('ops/s, median, min–max whisker · × Node await');
    expect(svg).toContain('vs Node await:');
    expect(svg).toContain('vs Node setImmediate:');
    expect(svg).not.toContain('fs.promises');
    const md = markdownReport(r, 'c.svg');
    expect(md).toContain('| system | ops/s | × Node await |');
    expect(md).toMatch(/\| W5 switch ≤ 2× the cost of a Node await \| corio-uring \| Node await \|/);
    expect(md).toMatch(/\| W5 switch ≥ 5× faster than a setImmediate round trip \| corio-uring \| Node setImmediate \|/);
    expect(md).not.toMatch(/\| node-promises \||\| node-callbacks \||× fs\.promises/);
    const t = terminalTable(r);
    expect(t).toContain('× Node await');
    expect(t).toMatch(/of Node setImmediate/);
    expect(t).not.toContain('× fs.promises');
  });

  it('no title is cut off in the SVG: long titles and notes wrap onto further lines', () => {
    // The full-size titles, the longest the bench makes (W6's is about 90 characters).
    const full = buildCases(fullSizes());
    const r = report();
    const long = { ...r.summary[1], title: full.find((c) => c.id === 'w6')!.title };
    expect(long.title.length).toBeGreaterThan(80);
    const svg = renderChart([r.summary[0], long], 'h', 'm', r.targets);
    expect(svg).not.toContain('…');
    const texts = [...svg.matchAll(/<text [^>]*class="t"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    // Both titles, whole, once their lines are joined again.
    expect(texts.join(' ')).toContain(long.title);
    expect(texts.join(' ')).toContain(r.summary[0].title);
    expect(texts.length).toBeGreaterThanOrEqual(3);
    for (const line of texts) expect(line.length).toBeLessThanOrEqual(68);
    expect(wrap('aa bb cc', 5)).toEqual(['aa bb', 'cc']);
    expect(wrap('averyveryverylongword x', 5)).toEqual(['averyveryverylongword', 'x']);
  });
});

describe('the per-operation breakdown', () => {
  it('sorts frames into loop, task, Node and native work by where their code lives', () => {
    expect(frameKind('(garbage collector)', '')).toBe('gc');
    expect(frameKind('(idle)', '')).toBe('native');
    expect(frameKind('wait', '')).toBe('native');
    expect(frameKind('writeSync', 'node:fs')).toBe('nodeJs');
    expect(frameKind('runOnce', 'file:///x/corio/dist/src/core/loop.js')).toBe('loopJs');
    expect(frameKind('fireDueTimers', 'file:///x/corio/src/core/timers.ts')).toBe('loopJs');
    expect(frameKind('wait', 'file:///x/corio/dist/src/drivers/native.js')).toBe('loopJs');
    expect(frameKind('step', 'file:///x/corio/dist/src/core/task.js')).toBe('taskJs');
    expect(frameKind('write', 'file:///x/corio/dist/src/fs/file.js')).toBe('taskJs');
    expect(frameKind('', 'file:///x/corio/dist/bench/workloads/small.js')).toBe('taskJs');
    // A user's file named like a loop is not corio's loop.
    expect(frameKind('f', 'file:///app/myloop.js')).toBe('taskJs');
  });

  it('weights each sample by the time until the next one', () => {
    const p: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' } },
        { id: 2, callFrame: { functionName: 'runOnce', url: 'file:///c/dist/src/core/loop.js' } },
        { id: 3, callFrame: { functionName: '(garbage collector)', url: '' } },
        { id: 4, callFrame: { functionName: 'main', url: 'file:///c/dist/bench/workloads/small.js' } },
      ],
      startTime: 1000, endTime: 11_000,
      samples: [2, 3, 4, 2],
      timeDeltas: [0, 2000, 3000, 1000],  // samples at 1000, 3000, 6000, 7000 µs; the profile ends at 11000
    };
    const f = foldProfile(p);
    expect(f).toEqual({ loopJs: 2 + 4, gc: 3, taskJs: 1, nodeJs: 0, native: 0, samples: 4 });
  });

  const profiled = (extra: Partial<RunResult> = {}): RunResult => ({
    caseId: 'w1', systemId: 'corio-uring', round: 3, ok: true, ops: 1000,
    // 100 ms of wall: 40 ms of JS by the samples, 60 ms native; the thread ran 50 ms (10 of them in the
    // kernel) and waited 10 ms for a CPU, so it was blocked for 40.
    region: { wallMs: 100, userMs: 50, sysMs: 10,
      threads: { mainMs: 50, mainSysMs: 10, mainRunqueueMs: 10, iouWorkerMs: 0, iouSqpollMs: 0, otherMs: 0, exitedMs: 0, iouWorkers: 0 } },
    profile: { loopJs: 10, taskJs: 20, nodeJs: 0, gc: 10, native: 60, samples: 1000 },
    ...extra,
  });

  it('splits the native samples with the thread\'s clocks into native code, system calls, waiting and preemption', () => {
    const parts = mainThreadParts(profiled())!;
    // µs per op = ms × 1000 / 1000 ops.
    expect(parts.loopJs).toBeCloseTo(10);
    expect(parts.taskJs).toBeCloseTo(20);
    expect(parts.gc).toBeCloseTo(10);
    expect(parts.waiting).toBeCloseTo(40);
    expect(parts.preempted).toBeCloseTo(10);
    expect(parts.syscalls).toBeCloseTo(10);
    expect(parts.native).toBeCloseTo(0);
    // Samples that cover 90 ms of a 100 ms region are scaled onto it.
    const scaled = mainThreadParts(profiled({ profile: { loopJs: 9, taskJs: 18, nodeJs: 0, gc: 9, native: 54, samples: 900 } }))!;
    expect(scaled.taskJs).toBeCloseTo(20);
    expect(mainThreadParts(profiled({ profile: undefined }))).toBeNull();
  });

  it('puts a breakdown next to each target, and every row in its own section', () => {
    const rs = results();
    const prof = [profiled(), profiled({ systemId: 'node-promises', profile: { loopJs: 0, taskJs: 5, nodeJs: 30, gc: 5, native: 60, samples: 1000 } })];
    const base = report();
    const bd = breakdowns([w1], systems, prof, base.summary);
    expect(bd.map((b) => b.systemId)).toEqual(['corio-uring', 'node-promises']);
    // Other threads come from the measured runs (fake(): otherMs = wall/4 → 125 µs per op at 2000 ops/s).
    expect(bd[0].parts.otherThreads).toBeCloseTo(125, 0);
    expect(compactBreakdown(bd[0])).toMatch(/^100 µs\/op: waiting 40 · task JS 20 · loop JS 10 · GC 10 · system calls 10 · preempted 10 \(\+ pool threads 1\d\d CPU\)$/);
    const r: BenchReport = { ...base, breakdown: bd, results: rs };
    const md = markdownReport(r, 'c.svg');
    expect(md).toContain('## Where the time goes');
    expect(md).toMatch(/\| W1 ≥ 1\.5× fs\.promises \| corio-uring \|.*\*\*met\*\* \| 100 µs\/op: waiting 40 .* \/ 100 µs\/op: waiting 40 · Node JS 30/);
    expect(md).toMatch(/\| w1 \| corio uring \| 100 \| 500 \| 10 \| 20 \| 0 \| 10 \| 0 \| 10 \| 40 \| 10 \| 0 \| 125 \|/);
    expect(md).not.toContain('NaN');
    // The terminal shows the breakdown under a missed target only.
    const t = terminalTable(r);
    expect(t).not.toMatch(/✓ W1 ≥ 1\.5×.*\n\s+corio-uring\s+100 µs\/op/);
    const noProfile = markdownReport(base, 'c.svg');
    expect(noProfile).not.toContain('where the time goes');
  });
});
