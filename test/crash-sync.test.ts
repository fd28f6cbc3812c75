// Crash safety of write + datasync: a child appends numbered records (four concurrent writers per round, each
// followed by datasync, shared by group commit) and prints "durable N" once every datasync of the round has
// returned. The parent SIGKILLs it at random points; every record up to the last N printed must be intact and
// complete. A record being written at the kill may be partial or absent; a durable one never is.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendMatrix, backendTitle, scratch } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'src', 'index.js');
const SIZE = 128;

function record(i: number): Buffer {
  const b = Buffer.alloc(SIZE, 0x41 + (i % 26));
  b.write(`#${i}:`, 0);
  b[SIZE - 1] = 0x0a;
  return b;
}

/** Starts the writer, kills it `ms` after its first durable line, returns the last N it printed (-1: none). */
function killAfter(ms: number, target: string, backend: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'test', 'fixtures', 'sync-writer.mjs'), entry, target, backend], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let armed = false;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (!armed && out.includes('durable ')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), ms);
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited ${code} ${signal}: ${stderr}`));
      const lines = out.split('\n').filter((l) => l.startsWith('durable '));
      resolve(lines.length ? Number(lines[lines.length - 1].slice(8)) : -1);
    });
  });
}

for (const b of backendMatrix) {
  describe.skipIf(!b.available || !existsSync(entry))(backendTitle(b), () => {
    it('SIGKILL at random points: every record up to the last "durable N" is intact and complete', async () => {
      const dir = scratch();
      const kills = Number(process.env.CORIO_CRASH_KILLS ?? 8);
      let checked = 0;
      for (let k = 0; k < kills; k++) {
        const target = join(dir, `log-${k}`);
        const durable = await killAfter(Math.floor(Math.random() * 80), target, b.name);
        expect(durable, `kill ${k}: the writer never reported a durable record`).toBeGreaterThanOrEqual(3);
        const data = readFileSync(target);
        expect(data.length).toBeGreaterThanOrEqual((durable + 1) * SIZE);
        for (let i = 0; i <= durable; i++) {
          const got = data.subarray(i * SIZE, (i + 1) * SIZE);
          if (!got.equals(record(i))) expect.fail(`kill ${k}: durable record ${i} of ${durable} is damaged: ${JSON.stringify(got.toString('latin1').slice(0, 20))}`);
        }
        // Beyond the durable prefix: each record slot is whole, absent (zeros / past the end) or cut at the end.
        for (let i = durable + 1; i * SIZE < data.length; i++) {
          const got = data.subarray(i * SIZE, (i + 1) * SIZE);
          const whole = record(i).subarray(0, got.length);
          const zeros = got.every((x) => x === 0);
          expect(got.equals(whole) || zeros, `kill ${k}: record ${i} beyond the durable prefix is garbage`).toBe(true);
        }
        checked += durable + 1;
      }
      console.log(`[corio crash-sync] ${b.name}: ${kills} kills, ${checked} durable records verified`);
    }, 120_000);
  });
}
