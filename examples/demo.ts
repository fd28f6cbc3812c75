// corio's main demo: many files written concurrently by coroutine tasks, read back and verified byte for byte,
// then the same work done with node:fs/promises in the same process for comparison.
//
//   npm run demo -- [--files 2000] [--size 16384] [--tasks 64] [--backend auto|uring|epoll] [--dir PATH] [--help]
//
// One run of each is a demonstration, not a benchmark: the machine is shared and noisy. `npm run bench`
// (the benchmark suite) interleaves systems over many runs and reports medians.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { backend, open, readFile, run, spawn, type Operation } from '../src/index.js';

const USAGE = `usage: npm run demo -- [options]      (or: node dist/examples/demo.js [options])

Writes many files concurrently from corio tasks, reads them back and verifies every byte, then does the same
with node:fs/promises in the same process and prints files per second for both.

  --files N        how many files (default 2000)
  --size BYTES     bytes per file (default 16384)
  --tasks N        concurrent tasks (default 64)
  --backend NAME   auto, uring or epoll (default: CORIO_BACKEND, else auto)
  --dir PATH       where the scratch folder is made (default: the OS temp dir)
  -h, --help       this text`;

function parseDemoArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        files: { type: 'string', default: '2000' },
        size: { type: 'string', default: '16384' },
        tasks: { type: 'string', default: '64' },
        backend: { type: 'string' },
        dir: { type: 'string' },
      },
    }).values;
  } catch (error) {
    // parseArgs throws TypeErrors with a code for unknown options or missing values: a usage error, not a crash.
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(2);
  }
}

const args = parseDemoArgs(process.argv.slice(2));
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`demo: --${name} must be a positive integer, got '${text}'`);
    process.exit(2);
  }
  return n;
}

const files = positive('files', args.files!);
const size = positive('size', args.size!);
const tasks = positive('tasks', args.tasks!);
const root = mkdtempSync(join(args.dir ?? tmpdir(), 'corio-demo-'));
mkdirSync(join(root, 'corio'));
mkdirSync(join(root, 'node'));

/** Deterministic content per file, so a verification failure points at the file and offset. */
function content(i: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  let x = (i + 1) * 2654435761;
  for (let o = 0; o < size; o++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    buf[o] = x & 0xff;
  }
  return buf;
}
const payloads = Array.from({ length: files }, (_, i) => content(i));

function progress(label: string, done: number): void {
  if (process.stdout.isTTY) process.stdout.write(`\r  ${label}: ${done}/${files} files`);
}

interface Result {
  writeMs: number;
  readMs: number;
  bad: number;
}

function corioRound(dir: string): { result: Result; backendName: string; reason: string } {
  return run(function* () {
    const info = backend();
    // 64 worker tasks pull file numbers from a shared counter: the loop interleaves them at each yield*.
    function* pool(work: (i: number) => Operation<void>): Operation<void> {
      let next = 0;
      const workers = Array.from({ length: tasks }, (_, w) =>
        spawn(function* () {
          while (next < files) {
            const i = next++;
            yield* work(i);
            if (i % 256 === 0) progress('corio', i);
          }
        }, { name: `worker-${w}` }),
      );
      for (const w of workers) yield* w;
    }
    const t0 = performance.now();
    yield* pool(function* (i) {
      const f = yield* open(join(dir, `file-${i}`), 'w');
      try {
        yield* f.write(payloads[i]);
      } finally {
        yield* f.close();
      }
    });
    const t1 = performance.now();
    let bad = 0;
    yield* pool(function* (i) {
      const data = yield* readFile(join(dir, `file-${i}`));
      if (!data.equals(payloads[i])) bad++;
    });
    const t2 = performance.now();
    return { result: { writeMs: t1 - t0, readMs: t2 - t1, bad }, backendName: info.name, reason: info.reason };
  }, { backend: args.backend });
}

async function nodeRound(dir: string): Promise<Result> {
  async function pool(work: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: tasks }, async () => {
        while (next < files) {
          const i = next++;
          await work(i);
          if (i % 256 === 0) progress('node:fs/promises', i);
        }
      }),
    );
  }
  const t0 = performance.now();
  await pool(async (i) => {
    const f = await fsp.open(join(dir, `file-${i}`), 'w');
    try {
      await f.write(payloads[i]);
    } finally {
      await f.close();
    }
  });
  const t1 = performance.now();
  let bad = 0;
  await pool(async (i) => {
    const data = await fsp.readFile(join(dir, `file-${i}`));
    if (!data.equals(payloads[i])) bad++;
  });
  return { writeMs: t1 - t0, readMs: performance.now() - t1, bad };
}

const rate = (ms: number) => Math.round((files / ms) * 1000).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(`corio demo: ${files} files × ${size} bytes from ${tasks} tasks, in ${root}`);
  const corio = corioRound(join(root, 'corio'));
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');
  console.log(`backend: ${corio.backendName} (${corio.reason})`);
  const node = await nodeRound(join(root, 'node'));
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[K');

  const rows = [
    ['', 'write files/s', 'read+verify files/s', 'verified'],
    [`corio (${corio.backendName})`, rate(corio.result.writeMs), rate(corio.result.readMs), `${files - corio.result.bad}/${files}`],
    ['node:fs/promises', rate(node.writeMs), rate(node.readMs), `${files - node.bad}/${files}`],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log('  ' + r.map((cell, c) => cell.padStart(widths[c])).join('   '));
  console.log(
    `  write ratio corio/node: ${(node.writeMs / corio.result.writeMs).toFixed(2)}×, ` +
      `read ratio: ${(node.readMs / corio.result.readMs).toFixed(2)}× (one run each; see npm run bench for medians)`,
  );
  // Old files are removed after the measurements: deleting many inodes right before creating many makes
  // creates far slower on this kind of ext4 (NOTES.md).
  rmSync(root, { recursive: true, force: true });
  if (corio.result.bad > 0 || node.bad > 0) {
    console.error(`verification FAILED: corio ${corio.result.bad} bad files, node ${node.bad} bad files`);
    process.exit(1);
  }
  console.log(`verified ${files} files written by corio, every byte`);
}

main().catch((error) => {
  rmSync(root, { recursive: true, force: true });
  console.error(error);
  process.exit(1);
});
