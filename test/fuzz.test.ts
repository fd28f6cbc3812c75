// Boundary fuzzing: the raw binding (NativeBackend) driven with hostile arguments — wrong types, NaN, ±Infinity,
// negative/fractional/huge numbers, -0, zero-length, detached and SharedArrayBuffer-backed views, out-of-range
// ranges, tokens in use, closed and foreign descriptors, double close, accessors that re-enter the binding,
// calls after destroy(). Only typed errors or -errno completions are allowed, each submission completes exactly
// once, and nothing crashes. Runs in a child process so a crash fails this test instead of killing the runner.
// Size and seed: CORIO_FUZZ_ITERATIONS (default 5000 per backend), CORIO_FUZZ_SEED (default: random, printed).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendMatrix, backendTitle, scratch } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = join(root, 'dist', 'src', 'drivers', 'native.js');
const iterations = Number(process.env.CORIO_FUZZ_ITERATIONS ?? 5000);
const seed = process.env.CORIO_FUZZ_SEED !== undefined ? Number(process.env.CORIO_FUZZ_SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
console.log(`[corio fuzz] ${iterations} iterations per backend, seed ${seed} (CORIO_FUZZ_SEED=${seed} CORIO_FUZZ_ITERATIONS=${iterations} to repeat)`);

for (const b of backendMatrix) {
  describe.skipIf(!b.available)(backendTitle(b), () => {
    it(`hostile arguments to every binding method give typed errors or -errno, never a crash`, () => {
      if (!existsSync(native)) throw new Error('dist/ is not built: run npm install (or npx tsc)');
      const res = spawnSync(process.execPath, ['--expose-gc', join(root, 'test', 'fixtures', 'fuzz-child.mjs'), b.name, String(iterations), String(seed), native], {
        cwd: scratch('corio-fuzz-'),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
        maxBuffer: 64 << 20,
      });
      const why = `seed ${seed}, backend ${b.name}: signal ${res.signal}, status ${res.status}\n${res.stderr.slice(-4000)}`;
      expect(res.error?.message ?? '', why).toBe('');
      expect(res.signal, why).toBe(null);
      expect(res.status, why).toBe(0);
      const summary = JSON.parse(res.stdout.trim().split('\n').pop()!);
      console.log(`[corio fuzz] ${b.name}: ${JSON.stringify(summary)}`);
      expect(summary.iterations).toBe(iterations);
      expect(summary.completions).toBe(summary.submitted);  // every accepted submission completed exactly once
      expect(summary.closedErrors).toBe(23);  // every method after destroy(): ERR_CORIO_CLOSED
      if (iterations >= 1000) {
        expect(summary.typedErrors).toBeGreaterThan(0);
        expect(summary.errnoResults).toBeGreaterThan(0);
      }
    }, 320_000);
  });
}
