// Where the system calls happen, checked with strace in a child process (the foundation's acceptance check):
// on io_uring the loop thread sets up a ring and enters it; small positional writes with nothing else in
// flight on their descriptor run inline on the loop thread (issue 16: InlineWrites in uring.cc), and with
// CORIO_INLINE_WRITES=0 no file data is written by a userspace thread at all; on epoll and kqueue the data
// writes happen on pool threads while the loop thread waits, but for the small positional writes the pool's
// inline path may run on the loop thread (native/core/inline_writes.h).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendMatrix, missingBackend, scratch, skipTitle } from './helpers.js';

const hasStrace = spawnSync('strace', ['-V']).status === 0;
const entry = resolve(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'src', 'index.js');
const built = existsSync(entry);
const skipReason = !hasStrace ? 'strace is not installed' : !built ? 'dist/ is not built (npm install builds it)' : '';
if (skipReason) console.log(`[corio tests] syscall placement skipped: ${skipReason}`);

interface Trace {
  loopPid: number;
  calls: { pid: number; name: string; line: string }[];
}

function traceWrites(backendName: string, env: Record<string, string> = {}): Trace {
  const dir = scratch();
  const script = join(dir, 'probe.mjs');
  const out = join(dir, 'strace.txt');
  // A marker byte pattern that only the file data contains, so file writes are told apart from Node's own.
  writeFileSync(script, `
    import { run, open, spawn } from ${JSON.stringify(entry)};
    console.log(process.pid);
    run(function* () {
      const f = yield* open(${JSON.stringify(join(dir, 'data'))}, 'w');
      const writers = Array.from({ length: 8 }, (_, t) => spawn(function* () {
        for (let i = 0; i < 25; i++) yield* f.write('QZQZ'.repeat(64), (t * 25 + i) * 256);
      }));
      for (const w of writers) yield* w;
      yield* f.close();
    }, { backend: ${JSON.stringify(backendName)} });
  `);
  const res = spawnSync('strace', ['-f', '-qq', '-s', '8', '-o', out, '-e',
    'trace=io_uring_enter,io_uring_setup,epoll_wait,epoll_pwait,epoll_pwait2,pwrite64,pwritev,pwritev2,write,writev',
    process.execPath, script], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(res.status, res.stderr).toBe(0);
  const loopPid = Number(res.stdout.trim().split('\n')[0]);
  const calls = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((line) => {
    const m = /^(\d+)\s+(\w+)\(/.exec(line);
    return { pid: Number(m?.[1]), name: m?.[2] ?? '', line };
  });
  return { loopPid, calls };
}

const dataWrite = (c: { name: string; line: string }) => /write/.test(c.name) && c.line.includes('"QZQZ');

describe.skipIf(skipReason !== '')(`syscall placement${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const uring = backendMatrix.find((b) => b.name === 'uring');
  const noUring = missingBackend('uring') || (uring?.available ? '' : uring?.reason ?? '');
  it.skipIf(noUring !== '')(skipTitle('io_uring: setup and enter on the loop thread; with inline writes off, no data writes from userspace', noUring), () => {
    const t = traceWrites('uring', { CORIO_INLINE_WRITES: '0' });
    const onLoop = t.calls.filter((c) => c.pid === t.loopPid);
    expect(onLoop.some((c) => c.name === 'io_uring_setup')).toBe(true);
    expect(onLoop.filter((c) => c.name === 'io_uring_enter').length).toBeGreaterThan(0);
    expect(t.calls.filter(dataWrite)).toEqual([]);
  });

  it.skipIf(noUring !== '')(skipTitle('io_uring: small positional writes run inline, as pwrite on the loop thread only', noUring), () => {
    const t = traceWrites('uring');
    const writes = t.calls.filter(dataWrite);
    // 8 writers × 25 writes of 256 B. Coalescing may merge adjacent ones into a pwritev; whatever ran in
    // userspace ran on the loop thread, and some did (the writers' first writes are not adjacent).
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((c) => c.pid !== t.loopPid)).toEqual([]);
    expect(writes.every((c) => c.name === 'pwrite64' || c.name === 'pwritev')).toBe(true);
  });

  // The pool backends: with inline writes off every data write is a pool thread's; on, the 8 writers' first
  // writes (nothing else in flight on the descriptor) may run on the loop thread, as positional writes only.
  for (const name of ['epoll', 'kqueue']) {
    const missing = missingBackend(name);
    it.skipIf(missing !== '')(skipTitle(`${name}: with inline writes off, data writes on pool threads only`, missing), () => {
      const t = traceWrites(name, { CORIO_INLINE_WRITES: '0' });
      const writes = t.calls.filter(dataWrite);
      expect(writes.length).toBe(200);
      expect(writes.filter((c) => c.pid === t.loopPid)).toEqual([]);
      // On Linux strace sees the kqueue backend only in the libkqueue build (npm run test:kqueue), whose
      // kevent waits in epoll itself, so only epoll's wait is epoll's own claim.
      if (name === 'epoll') expect(t.calls.some((c) => c.pid === t.loopPid && c.name.startsWith('epoll_'))).toBe(true);
    });

    it.skipIf(missing !== '')(skipTitle(`${name}: with inline writes on, every data write once; on the loop thread only as positional writes`, missing), () => {
      const t = traceWrites(name);
      const writes = t.calls.filter(dataWrite);
      expect(writes.length).toBe(200);
      const onLoop = writes.filter((c) => c.pid === t.loopPid);
      expect(onLoop.every((c) => c.name === 'pwrite64' || c.name === 'pwritev')).toBe(true);
    });
  }
});
