// The native boundary never frees what the kernel uses (issue 11), on every backend: a completions array in
// shared memory is refused, and a buffer detached (transferred) while its operation is in flight is reported
// when the operation completes — corio does no worse than node:fs/promises there, whose write and read
// carry on through the moved memory and say nothing.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binding } from '../src/drivers/native.js';
import { open, run, spawn, yieldNow, type RunOptions } from '../src/index.js';
import { backendMatrix, backendTitle, caught, scratch } from './helpers.js';

type Caught = Error & Record<string, unknown>;

/** Detaches `view`'s ArrayBuffer, returning the ArrayBuffer that now owns its memory (kept alive by the caller). */
function detach(view: Uint8Array): ArrayBuffer {
  return structuredClone(view.buffer, { transfer: [view.buffer] }) as ArrayBuffer;
}

const SIZE = 1 << 20;
const pattern = (): Uint8Array => {
  const bytes = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
};

for (const b of backendMatrix) {
  describe.skipIf(!b.available)(backendTitle(b), () => {
    const opts: RunOptions = { backend: b.name };

    it('refuses a completions array in shared memory with a typed error (a worker could rewrite its tokens)', () => {
      const e = caught(() => new binding.NativeBackend(b.name, new Int32Array(new SharedArrayBuffer(64))));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.code).toBe('ERR_INVALID_ARG_TYPE');
      expect(e.message).toMatch(/SharedArrayBuffer/);
      const plain = new binding.NativeBackend(b.name, new Int32Array(64));  // an ordinary array still works
      plain.destroy();
    });

    it('a write whose buffer is detached in flight: the file gets what node:fs/promises writes, and corio reports the detachment', async () => {
      const dir = scratch();
      // node:fs/promises: the write goes on through the moved memory and reports success.
      const nodePath = join(dir, 'node.bin');
      const fh = await fsp.open(nodePath, 'w');
      const nodeBytes = pattern();
      const pending = fh.write(nodeBytes, 0, SIZE, 0);
      const nodeKept = detach(nodeBytes);
      const nodeResult = await pending;
      await fh.close();

      const corioPath = join(dir, 'corio.bin');
      const r = run(function* () {
        const f = yield* open(corioPath, 'w');
        const bytes = pattern();
        const writer = spawn(function* () {
          return yield* f.write(bytes, 0);
        });
        yield* yieldNow();  // the writer has started its write: it is in the backend now
        const kept = detach(bytes);
        let error: Caught | undefined;
        try {
          yield* writer;
        } catch (e) {
          error = e as Caught;
        }
        yield* f.close();
        return { error, keptLength: kept.byteLength, viewLength: bytes.byteLength };
      }, opts);

      expect(nodeResult.bytesWritten).toBe(SIZE);
      expect(nodeKept.byteLength).toBe(SIZE);
      expect(r.viewLength).toBe(0);  // really detached
      expect(r.keptLength).toBe(SIZE);
      expect(r.error?.code).toBe('ERR_CORIO_BUFFER_DETACHED');
      expect(r.error?.bytesTransferred).toBe(SIZE);
      expect(r.error?.message).toMatch(/detached \(transferred\) while the operation was in flight/);
      // No worse than node:fs: the same bytes reached the file.
      expect(fs.readFileSync(corioPath).equals(fs.readFileSync(nodePath))).toBe(true);
      expect(fs.readFileSync(corioPath).equals(Buffer.from(pattern()))).toBe(true);
    });

    it('a read whose buffer is detached in flight: the bytes land where node:fs/promises puts them, and corio reports it', async () => {
      const dir = scratch();
      const path = join(dir, 'data.bin');
      fs.writeFileSync(path, pattern());

      const fh = await fsp.open(path, 'r');
      const nodeBuf = new Uint8Array(SIZE);
      const pending = fh.read(nodeBuf, 0, SIZE, 0);
      const nodeKept = detach(nodeBuf);
      const nodeResult = await pending;
      await fh.close();

      const r = run(function* () {
        const f = yield* open(path, 'r');
        const buf = new Uint8Array(SIZE);
        const reader = spawn(function* () {
          return yield* f.read(buf, 0, SIZE, 0);
        });
        yield* yieldNow();
        const kept = detach(buf);
        let error: Caught | undefined;
        try {
          yield* reader;
        } catch (e) {
          error = e as Caught;
        }
        yield* f.close();
        return { error, kept: new Uint8Array(kept) };
      }, opts);

      expect(nodeResult.bytesRead).toBe(SIZE);
      expect(Buffer.from(nodeKept).equals(fs.readFileSync(path))).toBe(true);
      expect(r.error?.code).toBe('ERR_CORIO_BUFFER_DETACHED');
      expect(r.error?.bytesTransferred).toBe(SIZE);
      expect(Buffer.from(r.kept).equals(fs.readFileSync(path))).toBe(true);
    });

    it('a coalesced small write whose buffer is detached before the flush is reported, not counted as written', () => {
      const path = join(scratch(), 'small.bin');
      const r = run(function* () {
        const f = yield* open(path, 'w');
        const bytes = new Uint8Array(64).fill(0x41);
        const writer = spawn(function* () {
          return yield* f.write(bytes);
        });
        yield* yieldNow();  // started and held for this iteration's flush
        detach(bytes);
        let error: Caught | undefined;
        let value: number | undefined;
        try {
          value = yield* writer;
        } catch (e) {
          error = e as Caught;
        }
        yield* f.close();
        return { error, value };
      }, { ...opts, files: { coalesceWrites: true } });
      expect(r.value).toBeUndefined();
      expect(r.error?.code).toBe('ERR_CORIO_BUFFER_DETACHED');
    });
  });
}
