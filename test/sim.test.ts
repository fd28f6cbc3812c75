// The simulation backend (issue 18): determinism, POSIX semantics and errors as the real backends give them,
// faults, the durability model at crash points, and simulate() on corio's own durable writes and on two
// wrong programs.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  open, readFile, readdir, rename, mkdir, rmdir, stat, unlink, writeFile, writeFileAtomic, run, start, spawn, taskGroup, sleep, now, yieldNow,
  simulate, SimFs, SimCrash, TraceRecorder, BLOCK_SIZE, type SimContext,
} from '../src/index.js';
import { SeededRandom } from '../src/drivers/sim/random.js';
import { backendMatrix, noSimPaths, rejected, scratch, skipTitle } from './helpers.js';

type Shape = { code?: unknown; errno?: unknown; syscall?: unknown; path?: unknown; dest?: unknown } | null;
function* shapeOf(body: () => Generator<unknown, unknown, unknown>): Generator<unknown, Shape, unknown> {
  try {
    yield* body() as never;
    return null;
  } catch (e) {
    const err = e as Record<string, unknown>;
    return { code: err.code, errno: err.errno, syscall: err.syscall, path: err.path, dest: err.dest };
  }
}

/** Eight files written concurrently; the order their writes completed in, from a loop-clock trace. */
function completionOrder(seed: number): { order: string[]; trace: string } {
  const recorder = new TraceRecorder({ clock: 'loop' });
  run(function* () {
    yield* mkdir('/d');
    yield* taskGroup(function* (g) {
      for (let i = 0; i < 8; i++) g.spawn(function* () { yield* writeFile(`/d/f${i}`, `file ${i}`); });
    });
    yield* writeFileAtomic('/d/atomic', 'x');
  }, { backend: 'sim', seed, trace: recorder });
  const writes = recorder.operations.filter((o) => o.kind === 'write').sort((a, b) => a.complete - b.complete || a.id - b.id);
  const trace = JSON.stringify({ i: recorder.iterations, s: recorder.steps, o: recorder.operations, t: [...recorder.tasks] });
  return { order: writes.map((w) => w.target), trace };
}

describe('simulation: determinism', () => {
  it.skipIf(noSimPaths !== '')(skipTitle('one seed gives an identical trace, bit for bit; other seeds reorder completions', noSimPaths), () => {
    const a = completionOrder(7);
    const b = completionOrder(7);
    expect(b.trace).toBe(a.trace);
    expect(a.trace).toContain('.atomic.');  // the temporary name is in it, drawn from the seed
    const orders = new Set([3, 4, 5, 6, 8, 9].map((s) => completionOrder(s).order.join(',')));
    orders.add(a.order.join(','));
    expect(orders.size).toBeGreaterThan(1);
  });

  it('time is virtual: sleeps and I/O latencies add up without waiting', () => {
    const t = run(function* () {
      yield* sleep(60_000);
      yield* writeFile('/x', 'y');
      return now();
    }, { backend: 'sim', seed: 1 });
    expect(t).toBeGreaterThanOrEqual(60_000);
    expect(t).toBeLessThan(60_010);
  });
});

describe('simulation: the clock', () => {
  it('I/O in flight completes while a task keeps yielding without waiting (a poll costs virtual time)', () => {
    const polls = run(function* () {
      let done = false;
      spawn(function* () { yield* writeFile('/f', 'x'); done = true; });
      let n = 0;
      while (!done) { yield* yieldNow(); n++; }
      return n;
    }, { backend: 'sim', seed: 2 });
    expect(polls).toBeGreaterThan(0);
  });

  it('timers at fractional deadlines after fractional I/O latencies all fire (the clock always moves forward)', () => {
    const t = run(function* () {
      yield* writeFile('/f', 'x');  // the clock is now at a fractional latency
      for (let i = 0; i < 50; i++) yield* sleep(0.1 + i / 7);
      return now();
    }, { backend: 'sim', seed: 4 });
    expect(t).toBeGreaterThan(5 + 50 * 0.1);
  });
});

describe('simulation: POSIX semantics', () => {
  it('open flags, positions, append, truncate, rename, unlink, mkdir, rmdir, readdir, stat', () => {
    const sim = new SimFs();
    const out = run(function* () {
      yield* mkdir('/a');
      const f = yield* open('/a/f', 'w+');
      yield* f.write('hello world');
      yield* f.write('HELLO', 0);
      const buf = Buffer.alloc(5);
      yield* f.read(buf, 0, 5, 6);
      yield* f.truncate(5);
      const size = (yield* f.stat()).size;
      yield* f.close();
      const g = yield* open('/a/f', 'a');
      yield* g.write('!', 0);  // O_APPEND: position ignored, at the end
      yield* g.close();
      const excl = yield* shapeOf(() => open('/a/f', 'wx'));
      yield* rename('/a/f', '/a/g');
      const names = yield* readdir('/a');
      const gone = yield* shapeOf(() => stat('/a/f'));
      const notEmpty = yield* shapeOf(() => rmdir('/a'));
      const content = yield* readFile('/a/g', 'utf8');
      yield* unlink('/a/g');
      yield* rmdir('/a');
      return { read: buf.toString(), size, content, names, excl: excl?.code, gone: gone?.code, notEmpty: notEmpty?.code };
    }, { backend: 'sim', sim: { fs: sim } });
    expect(out).toEqual({ read: 'world', size: 5, content: 'HELLO!', names: ['g'], excl: 'EEXIST', gone: 'ENOENT', notEmpty: 'ENOTEMPTY' });
    expect(sim.snapshot()).toEqual({});
  });

  it('an unlinked file stays readable through its open descriptor until closed', () => {
    const text = run(function* () {
      yield* writeFile('/f', 'still here');
      const f = yield* open('/f', 'r');
      yield* unlink('/f');
      const b = Buffer.alloc(10);
      const n = yield* f.read(b, 0, 10, 0);
      yield* f.close();
      return b.toString('utf8', 0, n);
    }, { backend: 'sim' });
    expect(text).toBe('still here');
  });

  // The same failing calls on a real backend (in a scratch directory) and on the simulation (in the same path
  // of its own namespace): the errors must be the same, field for field.
  const real = backendMatrix.find((b) => b.available);
  it.skipIf(real === undefined || noSimPaths !== '')(`errors have the codes, errno, syscall and path of ${real?.name ?? 'a real backend'}${real ? (noSimPaths ? ` (skipped: ${noSimPaths})` : '') : ' (skipped: no backend available)'}`, () => {
    const dir = scratch();
    const sim = new SimFs();
    sim.mkdirp(dir);
    const cases = function* () {
      yield* writeFile(join(dir, 'file'), 'x');
      yield* mkdir(join(dir, 'sub'));
      yield* writeFile(join(dir, 'sub', 'inner'), 'y');
      const shapes: Shape[] = [];
      shapes.push(yield* shapeOf(() => open(join(dir, 'missing'), 'r')));
      shapes.push(yield* shapeOf(() => open(join(dir, 'file'), 'wx')));
      shapes.push(yield* shapeOf(() => open(join(dir, 'sub'), 'w')));
      shapes.push(yield* shapeOf(() => open(join(dir, 'file', 'x'), 'r')));
      shapes.push(yield* shapeOf(() => readFile(join(dir, 'sub'))));
      shapes.push(yield* shapeOf(() => unlink(join(dir, 'sub'))));
      shapes.push(yield* shapeOf(() => unlink(join(dir, 'missing'))));
      shapes.push(yield* shapeOf(() => rmdir(join(dir, 'file'))));
      shapes.push(yield* shapeOf(() => rmdir(join(dir, 'sub'))));
      shapes.push(yield* shapeOf(() => mkdir(join(dir, 'file'))));
      shapes.push(yield* shapeOf(() => mkdir(join(dir, 'no', 'such'))));
      shapes.push(yield* shapeOf(() => rename(join(dir, 'missing'), join(dir, 'x'))));
      shapes.push(yield* shapeOf(() => rename(join(dir, 'file'), join(dir, 'sub'))));
      shapes.push(yield* shapeOf(() => rename(join(dir, 'sub'), join(dir, 'file'))));
      shapes.push(yield* shapeOf(() => rename(join(dir, 'sub'), join(dir, 'sub', 'deeper'))));
      shapes.push(yield* shapeOf(() => readdir(join(dir, 'file'))));
      shapes.push(yield* shapeOf(() => stat(join(dir, 'file', 'x'))));
      shapes.push(yield* shapeOf(function* () {
        const f = yield* open(join(dir, 'file'), 'r');
        try { yield* f.write('no'); } finally { yield* f.close(); }
      }));
      shapes.push(yield* shapeOf(function* () {
        const f = yield* open(join(dir, 'file'), 'r');
        try { yield* f.truncate(0); } finally { yield* f.close(); }
      }));
      return shapes;
    };
    const expected = run(cases, { backend: real!.name });
    const got = run(cases, { backend: 'sim', sim: { fs: sim } });
    expect(expected.every((s) => s !== null)).toBe(true);
    expect(got).toEqual(expected);
  });
});

describe('simulation: faults', () => {
  it('ENOSPC by bytes: a write is short, then fails; writeFile reports ENOSPC and the file holds what was written', () => {
    const sim = new SimFs();
    const r = run(function* () {
      const f = yield* open('/f', 'w');
      const n = yield* f.write(Buffer.alloc(300, 1));
      const second = yield* shapeOf(() => f.write(Buffer.alloc(10)));
      yield* f.close();
      const whole = yield* shapeOf(() => writeFile('/g', Buffer.alloc(200)));
      return { n, second, whole, size: (yield* stat('/f')).size };
    }, { backend: 'sim', sim: { fs: sim, faults: { space: { bytes: 256 } } } });
    expect(r.n).toBe(256);
    expect(r.second).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    expect(r.whole).toMatchObject({ code: 'ENOSPC', syscall: 'write' });
    expect(r.size).toBe(256);
  });

  it('ENOSPC by inodes: creating one more file or directory fails, at open and at mkdir', () => {
    const r = run(function* () {
      yield* writeFile('/a', '');
      return [yield* shapeOf(() => writeFile('/b', '')), yield* shapeOf(() => mkdir('/c'))];
    }, { backend: 'sim', sim: { faults: { space: { inodes: 2 } } } });  // the root and /a
    expect(r[0]).toMatchObject({ code: 'ENOSPC', syscall: 'open', path: '/b' });
    expect(r[1]).toMatchObject({ code: 'ENOSPC', syscall: 'mkdir', path: '/c' });
  });

  it('EIO on write by rule: nothing written; the next write works', () => {
    const r = run(function* () {
      const f = yield* open('/f', 'w');
      const first = yield* shapeOf(() => f.write('lost'));
      const n = yield* f.write('kept');
      yield* f.close();
      return { first, n, text: yield* readFile('/f', 'utf8') };
    }, { backend: 'sim', sim: { faults: { writeEIO: (op) => op.nth === 1 } } });
    expect(r.first).toMatchObject({ code: 'EIO', syscall: 'write' });
    expect(r).toMatchObject({ n: 4, text: 'kept' });
  });

  it('EIO on fsync, the Linux rule: reported once, the next fsync succeeds, and the dirty data is gone at a crash', () => {
    const sim = new SimFs();
    let errors: Shape[] = [];
    try {
      run(function* () {
        const f = yield* open('/f', 'w');
        yield* f.write('data that never reaches the disk');
        errors = [yield* shapeOf(() => f.sync()), yield* shapeOf(() => f.sync())];
        yield* f.write('!', 40);
        yield* f.sync();
        const d = yield* open('/', 'r');
        yield* d.sync();
        yield* d.close();
        yield* f.close();
        yield* writeFile('/after', 'z');  // operation 8: the crash point, after everything above
      }, { backend: 'sim', sim: { fs: sim, faults: { syncEIO: (op) => op.nth === 1 }, crashAt: 8 } });
    } catch (e) {
      expect(e).toBeInstanceOf(SimCrash);
    }
    expect(errors[0]).toMatchObject({ code: 'EIO', syscall: 'fsync' });
    expect(errors[1]).toBe(null);
    expect(sim.snapshot()['/f']).toContain('data that never');  // still in the page cache
    const image = sim.crashImage(new SeededRandom(1), 'nothing');
    const after = image.snapshot()['/f']!;
    expect(after.length).toBe(41);
    expect(after.slice(0, 40)).toBe('\0'.repeat(40));  // the dropped writeback left a hole, not the data
    expect(after[40]).toBe('!');
  });

  it('short writes: write() returns what moved; writeFile still writes everything', () => {
    const r = run(function* () {
      const f = yield* open('/f', 'w');
      const n = yield* f.write(Buffer.alloc(1000, 7));
      yield* f.close();
      yield* writeFile('/g', Buffer.alloc(5000, 8));
      return { n, g: (yield* stat('/g')).size };
    }, { backend: 'sim', seed: 3, sim: { faults: { shortWrite: 1 } } });
    expect(r.n).toBeGreaterThan(0);
    expect(r.n).toBeLessThan(1000);
    expect(r.g).toBe(5000);
  });

  it('EINTR as the backends surface it: transfers come back short, readFile and writeFile still move every byte', () => {
    const data = Buffer.alloc(20_000, 3);
    const r = run(function* () {
      yield* writeFile('/f', data);
      return yield* readFile('/f');
    }, { backend: 'sim', seed: 5, sim: { faults: { eintr: 0.5 } } });
    expect(r.equals(data)).toBe(true);
  });

  it('EMFILE: opening past the descriptor limit is a typed open error; closing one lets the next open work', () => {
    const r = run(function* () {
      const a = yield* open('/a', 'w');
      const b = yield* open('/b', 'w');
      const third = yield* shapeOf(() => open('/c', 'w'));
      yield* a.close();
      const c = yield* open('/c', 'w');
      yield* b.close();
      yield* c.close();
      return third;
    }, { backend: 'sim', sim: { faults: { maxOpenFiles: 2 } } });
    expect(r).toMatchObject({ code: 'EMFILE', syscall: 'open', path: '/c' });
  });
});

describe('simulation: crash points and the durability model', () => {
  function crashAfter(point: number, program: () => Generator<unknown, unknown, unknown>, fsys = new SimFs()): SimFs {
    try {
      run(program as never, { backend: 'sim', sim: { fs: fsys, crashAt: point } });
    } catch (e) {
      if (!(e instanceof SimCrash)) throw e;
      return e.fs;
    }
    throw new Error('the program ended before the crash point');
  }
  const keepAll = new SeededRandom(1);  // unused by 'nothing' and 'everything'

  it('unsynced data and names are lost with keep "nothing"; synced ones survive', () => {
    const at = crashAfter(7, function* () {
      const f = yield* open('/synced', 'w');  // 1
      yield* f.write('durable');  // 2
      yield* f.sync();  // 3
      const d = yield* open('/', 'r');
      yield* d.sync();  // 4: the name /synced is durable
      yield* d.close();
      yield* f.close();
      const g = yield* open('/unsynced', 'w');  // 5
      yield* g.write('volatile');  // 6
      yield* f.close();
      yield* writeFile('/synced-name-only', 'x');  // 7 (open), never synced
      yield* g.close();
    });
    expect(at.crashImage(keepAll, 'nothing').snapshot()).toEqual({ '/synced': 'durable' });
    expect(at.crashImage(keepAll, 'everything').snapshot()).toEqual({ '/synced': 'durable', '/unsynced': 'volatile', '/synced-name-only': '' });
  });

  it('a seeded crash keeps a prefix of block-sized pieces of unsynced data', () => {
    const initial = new SimFs({ f: '' });
    const at = crashAfter(2, function* () {
      const f = yield* open('/f', 'r+');
      yield* f.write(Buffer.alloc(3 * BLOCK_SIZE, 0x61), 0);  // 1 (open r+ changes nothing), then this: 1
      yield* f.write('tail', 3 * BLOCK_SIZE);  // 2
      yield* f.close();
    }, initial);
    const sizes = new Set<number>();
    for (let seed = 1; seed < 60; seed++) sizes.add(at.crashImage(new SeededRandom(seed), 'seeded').snapshot()['/f']!.length);
    expect([...sizes].every((s) => s % BLOCK_SIZE === 0 || s === 3 * BLOCK_SIZE + 4)).toBe(true);
    expect(sizes.has(0)).toBe(true);
    expect(sizes.has(3 * BLOCK_SIZE + 4)).toBe(true);
    expect([...sizes].some((s) => s > 0 && s < 3 * BLOCK_SIZE)).toBe(true);
  });

  it('an unsynced rename is done or not, never half: the old name or the new one holds the file', () => {
    const at = crashAfter(1, function* () {
      yield* rename('/old', '/new');
    }, new SimFs({ old: 'content' }));
    const seen = new Set<string>();
    for (let seed = 1; seed < 30; seed++) seen.add(JSON.stringify(at.crashImage(new SeededRandom(seed), 'seeded').snapshot()));
    expect(seen).toEqual(new Set([JSON.stringify({ '/old': 'content' }), JSON.stringify({ '/new': 'content' })]));
  });
});

describe('simulation: simulate() on corio\'s durable writes', () => {
  const opts = (extra: object = {}) => ({ seeds: 6, crashes: 'each' as const, initial: { data: { 'value.json': '{"v":0}' } }, ...extra });

  it.skipIf(noSimPaths !== '')(skipTitle('writeFileAtomic passes every crash point of its test program: the old content or the new, whole', noSimPaths), () => {
    const report = simulate(function* (sim: SimContext) {
      yield* writeFileAtomic('/data/value.json', '{"v":1}');
      sim.note(1);
      yield* writeFileAtomic('/data/value.json', '{"v":2}');
      sim.note(2);
    }, opts({
      *check({ notes }: { notes: readonly unknown[] }) {
        const v = JSON.parse(yield* readFile('/data/value.json', 'utf8')).v;
        const last = notes.length === 0 ? 0 : (notes[notes.length - 1] as number);
        // Once writeFileAtomic returned, the new value is durable; before, the old or the new one.
        if (v < last || v > last + 1) throw new Error(`value ${v} after acknowledging ${last}`);
      },
    }));
    expect(report.describe()).toBe(`simulate: ${report.runs} runs, ${report.crashPoints} crash points, no failure`);
    expect(report.crashPoints).toBeGreaterThan(6 * 10);
  });

  it('group commit: every record whose datasync returned survives every crash point', () => {
    const report = simulate(function* (sim: SimContext) {
      const f = yield* open('/data/log', 'r+');
      try {
        yield* taskGroup(function* (g) {
          for (let i = 0; i < 6; i++) g.spawn(function* () {
            yield* f.write(`rec${i};`, i * 5);
            yield* f.datasync();
            sim.note(i);
          });
        });
        if (f.batching.syncCalls >= 6) throw new Error('group commit shared no calls');
      } finally {
        yield* f.close();
      }
    }, opts({
      initial: { data: { log: '' } },
      *check({ notes }: { notes: readonly unknown[] }) {
        const text = yield* readFile('/data/log', 'utf8');
        for (const i of notes) if (text.slice((i as number) * 5, (i as number) * 5 + 5) !== `rec${i};`) throw new Error(`record ${i} lost: ${JSON.stringify(text)}`);
      },
    }));
    expect(report.failures).toEqual([]);
    expect(report.crashPoints).toBeGreaterThan(6 * 3);
  });

  it('write coalescing: merged writes followed by datasync survive; without the datasync a crash is caught losing them', () => {
    const program = (durable: boolean) => function* (sim: SimContext) {
      const f = yield* open('/data/log', 'a');
      try {
        yield* taskGroup(function* (g) {
          for (let i = 0; i < 5; i++) g.spawn(function* () { yield* f.write(`line ${i}\n`); });
        });
        if (f.batching.merged === 0) throw new Error('nothing was coalesced');
        if (durable) yield* f.datasync();
        sim.note('all');
      } finally {
        yield* f.close();
      }
    };
    const check = function* ({ notes }: { notes: readonly unknown[] }) {
      const lines = (yield* readFile('/data/log', 'utf8')).split('\n').filter(Boolean);
      if (notes.includes('all') && lines.length !== 5) throw new Error(`${lines.length} of 5 lines`);
      // Whatever survived is a prefix of whole lines in issue order (one vectored write, cut at blocks).
      lines.forEach((l, i) => { if (l !== `line ${i}`) throw new Error(`line ${i} is ${JSON.stringify(l)}`); });
    };
    expect(simulate(program(true), opts({ initial: { data: { log: '' } }, check })).failures).toEqual([]);
    const wrong = simulate(program(false), opts({ seeds: 12, initial: { data: { log: '' } }, check }));
    expect(wrong.ok).toBe(false);
    expect(wrong.failures[0]).toMatchObject({ stage: 'check', operation: 'the end of the program' });
  });

  it('a failure replays: its seed and crash point give the same failure again', () => {
    const program = function* () {
      const f = yield* open('/data/value.json.tmp', 'w');
      yield* f.write('{"v":1}');
      yield* f.close();
      yield* rename('/data/value.json.tmp', '/data/value.json');
    };
    const check = function* () { JSON.parse(yield* readFile('/data/value.json', 'utf8')); };
    const report = simulate(program, opts({ check }));
    expect(report.ok).toBe(false);
    const f = report.failures[0];
    expect(f.replay).toBe(`simulate(program, { ...options, seeds: [${f.seed}], crashes: [${f.crashPoint}] })`);
    const again = simulate(program, opts({ check, seeds: [f.seed], crashes: [f.crashPoint!] }));
    expect(again.failures.map((x) => [x.seed, x.crashPoint, String(x.error)])).toEqual([[f.seed, f.crashPoint, String(f.error)]]);
    expect(report.describe()).toContain(`seed ${f.seed}, crash after operation ${f.crashPoint}`);
  });

  it.skipIf(noSimPaths !== '')(skipTitle('faults by seed: writeFileAtomic under random EIO and ENOSPC never leaves a broken value', noSimPaths), () => {
    const report = simulate(function* () {
      for (let v = 1; v <= 3; v++) yield* writeFileAtomic('/data/value.json', JSON.stringify({ v }));
    }, opts({
      seeds: 12,
      crashes: 2,
      faults: { writeEIO: 0.2, syncEIO: 0.2, space: { bytes: 40 } },
      *check() {
        const v = JSON.parse(yield* readFile('/data/value.json', 'utf8')).v;
        if (![0, 1, 2, 3].includes(v)) throw new Error(`value ${v}`);
        const left = (yield* readdir('/data')).filter((n) => n.endsWith('.tmp'));
        if (left.length > 0 && !(yield* readdir('/data')).includes('value.json')) throw new Error('lost the value');
      },
    }));
    expect(report.failures).toEqual([]);
    expect(report.runs).toBe(12 * 3);
  });

  it('bad arguments are typed errors', () => {
    const p = function* () {};
    expect(() => simulate(p, { seeds: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => simulate(p, { crashes: 'all' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => simulate('x' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => run(p, { backend: 'sim', clock: 'real' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it("start() with backend 'sim' rejects with a typed error that names run(), and gives the loop slot back", async () => {
    // It used to reject with the binding's "unknown backend 'sim'", which run() contradicts.
    const err = await rejected(start(function* () { return 1; }, { backend: 'sim' }));
    expect(err.code).toBe('ERR_CORIO_BACKEND_UNAVAILABLE');
    expect(err.message).toContain('run() only');
    expect(run(function* () { return 'next run'; }, { backend: 'sim' })).toBe('next run');
  });
});
