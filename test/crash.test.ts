// Crash safety of writeFileAtomic: a child replaces a file in a loop and is killed with SIGKILL at random
// moments; after every kill the file holds one complete version (never a mix, never empty).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendMatrix, backendTitle, scratch } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'src', 'index.js');

function isWholeVersion(text: string): boolean {
  const m = /^(\d+):/.exec(text);
  if (!m || text.length !== 8193 || !text.endsWith('\n')) return false;
  const digit = String(Number(m[1]) % 10);
  return text.slice(m[0].length, 8192) === digit.repeat(8192 - m[0].length);
}

function killAfter(ms: number, target: string, backend: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'test', 'fixtures', 'atomic-replace.mjs'), entry, target, backend], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), ms));
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

for (const b of backendMatrix) {
  describe.skipIf(!b.available || !existsSync(entry))(backendTitle(b), () => {
    it('SIGKILL at random points during atomic replaces: the file always holds one complete version', async () => {
      const dir = scratch();
      const target = join(dir, 'state.txt');
      writeFileSync(target, `0:`.padEnd(8192, '0') + '\n');
      const kills = 12;
      for (let i = 0; i < kills; i++) {
        await killAfter(5 + Math.floor(Math.random() * 60), target, b.name);
        const text = readFileSync(target, 'utf8');
        expect(isWholeVersion(text), `after kill ${i}: ${JSON.stringify(text.slice(0, 40))}…`).toBe(true);
      }
      // Temporary files of interrupted replaces may remain (they are hidden dot files); the target is whole.
      expect(readdirSync(dir).filter((n) => !n.startsWith('.'))).toEqual(['state.txt']);
    }, 120_000);
  });
}
