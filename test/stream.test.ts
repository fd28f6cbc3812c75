// FileWriter: bounded in-flight window, chunks in order, errors surfaced by write()/end().
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWriter, open, openWriter, run } from '../src/index.js';
import { fileTarget, loopMatrix, loopTitle, runOn } from './helpers.js';

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    // The same bodies on the disk (node:fs) and on the simulation (its own file system): see fileTarget.
    const target = fileTarget(b);
    const fs = target.fs;
    const scratch = target.scratch;
    it('writes 32 MiB in 64 KiB chunks with at most the window in flight, in order', async () => {
      const path = join(scratch(), 'big.bin');
      const hash = createHash('sha256');
      const r = await runOn(kind, function* () {
        const out = yield* openWriter(path, { window: 1 << 20 });
        let peak = 0;
        for (let i = 0; i < 512; i++) {
          const chunk = Buffer.alloc(64 * 1024, i % 251);
          chunk.writeUInt32LE(i, 0);
          hash.update(chunk);
          yield* out.write(chunk);
          peak = Math.max(peak, out.bytesInFlight);
        }
        const total = yield* out.end();
        return { total, peak };
      }, target.options);
      expect(r.total).toBe(32 << 20);
      expect(r.peak).toBeLessThanOrEqual(1 << 20);
      expect(r.peak).toBeGreaterThan(64 * 1024);  // it really kept several chunks in flight
      expect(createHash('sha256').update(fs.readFileSync(path)).digest('hex')).toBe(hash.digest('hex'));
    });

    it('a failing chunk stops the writer: end() throws the error after draining', async () => {
      const path = join(scratch(), 'ro.bin');
      fs.writeFileSync(path, 'x');
      const r = await runOn(kind, function* () {
        const f = yield* open(path, 'r');  // read-only: every write fails with EBADF
        const out = createWriter(f, { window: 1024 });
        let thrownBy = '';
        try {
          for (let i = 0; i < 10; i++) yield* out.write(Buffer.alloc(512));
          yield* out.end();
        } catch (e) {
          thrownBy = (e as { code: string }).code;
        }
        yield* f.close();
        return { thrownBy, inFlight: out.bytesInFlight };
      }, target.options);
      expect(r).toEqual({ thrownBy: 'EBADF', inFlight: 0 });
    });

    it('string chunks with an encoding; write after end is refused', async () => {
      const path = join(scratch(), 's.txt');
      const code = await runOn(kind, function* () {
        const out = yield* openWriter(path, { encoding: 'latin1' });
        yield* out.write('caf\u00e9 ');
        yield* out.write('ol\u00e9');
        yield* out.end();
        try {
          yield* out.write('late');
        } catch (e) {
          return (e as { code: string }).code;
        }
        return 'none';
      }, target.options);
      expect(code).toBe('ERR_STREAM_WRITE_AFTER_END');
      expect(fs.readFileSync(path, 'latin1')).toBe('caf\u00e9 ol\u00e9');
    });
  });
}
