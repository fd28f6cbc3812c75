#!/usr/bin/env node
// npm run soak — 1,000,000 writes through one corio loop (plain JS over dist/). Prints resident memory after
// warm-up, at intervals and at the end, and the loop's internal tables (ioInFlight, liveTasks; the native
// backend's inFlight/queued), which must be back to empty. Exits 1 if they are not, or if RSS grew by more than
// --max-growth-mb (default 64) after warm-up. Last line: one JSON summary.
// Options: --writes N (1000000) --tasks N (16) --backend auto|uring|epoll --size BYTES (128).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const writes = Number(opt('writes', 1_000_000));
const tasks = Number(opt('tasks', 16));
const size = Number(opt('size', 128));
const backendName = opt('backend', process.env.CORIO_BACKEND ?? 'auto');
const maxGrowthMb = Number(opt('max-growth-mb', 64));
const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'src', 'index.js');
const { run, spawn, open, stats, backend } = await import(pathToFileURL(entry).href);

const dir = mkdtempSync(join(tmpdir(), 'corio-soak-'));
const mb = (n) => Math.round((n / 1048576) * 10) / 10;
const rss = () => mb(process.memoryUsage().rss);
const warmup = Math.min(50_000, Math.floor(writes / 10));
const every = Math.max(1, Math.floor(writes / 10));
const samples = [];
const started = performance.now();

const result = run(function* () {
  const file = yield* open(join(dir, 'soak.bin'), 'w');
  const slots = 8192;  // writes cycle over 1 MiB of the file, so the disk is not the subject
  let issued = 0;
  let done = 0;
  let warm = 0;
  const workers = [];
  for (let t = 0; t < tasks; t++) {
    workers.push(spawn(function* () {
      const buf = Buffer.alloc(size, 0x61 + t);
      while (issued < writes) {
        const i = issued++;
        const n = yield* file.write(buf, (i % slots) * size);
        if (n !== size) throw new Error(`write ${i}: ${n} of ${size} bytes`);
        done++;
        if (done === warmup) {
          warm = rss();
          samples.push({ writes: done, rssMb: warm });
          console.log(`after warm-up (${done} writes): rss ${warm} MB, backend ${backend().name}`);
        } else if (done % every === 0) {
          const s = stats();
          samples.push({ writes: done, rssMb: rss() });
          console.log(`${done} writes: rss ${rss()} MB, ioInFlight ${s.ioInFlight}, liveTasks ${s.liveTasks}, native inFlight ${s.native.inFlight}`);
        }
      }
    }, { name: `writer-${t}` }));
  }
  for (const w of workers) yield* w;
  yield* file.close();
  const s = stats();
  return { backend: s.backend, warm, ioInFlight: s.ioInFlight, liveTasks: s.liveTasks, nativeInFlight: s.native.inFlight, nativeQueued: s.native.queued, submitted: s.native.submitted, completed: s.native.completed };
}, { backend: backendName });
rmSync(dir, { recursive: true, force: true });

globalThis.gc?.();
const end = rss();
const seconds = (performance.now() - started) / 1000;
const growth = Math.round((end - result.warm) * 10) / 10;
console.log(`end: rss ${end} MB (growth after warm-up ${growth} MB) after ${writes} writes in ${seconds.toFixed(1)} s`);
console.log(`tables at the end: ioInFlight ${result.ioInFlight}, liveTasks ${result.liveTasks} (main), native inFlight ${result.nativeInFlight}, queued ${result.nativeQueued}; native submitted ${result.submitted}, completed ${result.completed}`);
const empty = result.ioInFlight === 0 && result.liveTasks <= 1 && result.nativeInFlight === 0 && result.nativeQueued === 0 && result.submitted === result.completed;
const ok = empty && growth <= maxGrowthMb;
console.log(JSON.stringify({ ok, writes, backend: result.backend, warmRssMb: result.warm, endRssMb: end, growthMb: growth, seconds: Math.round(seconds * 10) / 10, samples, tables: { ioInFlight: result.ioInFlight, liveTasks: result.liveTasks, nativeInFlight: result.nativeInFlight, nativeQueued: result.nativeQueued } }));
process.exit(ok ? 0 : 1);
