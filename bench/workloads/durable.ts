// W4 durable writes: `count` operations of (write `size` bytes, then fdatasync) by `writers` concurrent writers,
// each appending records to a file of its own (a log per writer, at explicit offsets) — or, with `shared`,
// all writing records into one file through one handle (a shared log: where corio's group commit applies). One operation = one
// write + fdatasync pair. Global record k belongs to writer k % writers, at slot floor(k / writers) of its file.
// The synchronous reference does the same records one after another. Files are opened before the timed region.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { open, spawn, type FileHandle } from '../../src/index.js';
import { Checksum, records, sampleIndices } from '../data.js';
import { check, wrote, type Factory, type Instance, type Mark } from '../workload.js';

export interface DurableParams {
  count: number;
  size: number;
  writers: number;
  /** All writers write one file through one handle (record k at offset k * size). */
  shared?: boolean;
}

export const durableWrites: Factory<DurableParams> = ({ count, size, writers, shared = false }, dir): Instance => {
  fs.mkdirSync(dir, { recursive: true });
  const payload = records(count, size, 4);
  const fileCount = shared ? 1 : writers;
  /** The file writer w writes (its own, or the one shared log). */
  const fileOf = (w: number) => (shared ? 0 : w);
  const path = (f: number) => join(dir, `log${f}`);
  const slot = (k: number) => (shared ? k * size : Math.floor(k / writers) * size);
  /** The records of writer w, in order. */
  const mine = (w: number) => {
    const out: number[] = [];
    for (let k = w; k < count; k += writers) out.push(k);
    return out;
  };
  /** The records in file f. */
  const inFile = (f: number) => (shared ? Array.from({ length: count }, (_, k) => k) : mine(f));

  return {
    ops: count,

    *corio(mark: Mark) {
      const files: FileHandle[] = [];
      try {
        for (let f = 0; f < fileCount; f++) files.push(yield* open(path(f), 'w'));
        mark.start();
        const tasks = Array.from({ length: writers }, (_, w) =>
          spawn(function* () {
            const f = files[fileOf(w)];
            for (const k of mine(w)) {
              wrote(yield* f.writeFrom(payload, k * size, size, slot(k)), size, path(fileOf(w)));
              yield* f.datasync();
            }
          }, { name: `writer-${w}` }),
        );
        for (const t of tasks) yield* t;
        mark.stop();
      } finally {
        for (const f of files) yield* f.close();
      }
    },

    async promises(mark: Mark) {
      const files: fsp.FileHandle[] = [];
      try {
        for (let f = 0; f < fileCount; f++) files.push(await fsp.open(path(f), 'w'));
        mark.start();
        await Promise.all(Array.from({ length: writers }, async (_, w) => {
          const f = files[fileOf(w)];
          for (const k of mine(w)) {
            wrote((await f.write(payload, k * size, size, slot(k))).bytesWritten, size, path(fileOf(w)));
            await f.datasync();
          }
        }));
        mark.stop();
      } finally {
        for (const f of files) await f.close();
      }
    },

    callbacks(mark: Mark, done) {
      const fds: number[] = [];
      try {
        for (let f = 0; f < fileCount; f++) fds.push(fs.openSync(path(f), 'w'));  // setup, not timed
      } catch (error) {
        return done(error as Error);
      }
      mark.start();
      let active = writers;
      let failed: Error | null = null;
      const finish = (error?: Error | null) => {
        if (error && !failed) failed = error;
        if (--active > 0) return;
        mark.stop();
        for (const fd of fds) fs.closeSync(fd);
        done(failed);
      };
      Array.from({ length: writers }, (_, w) => w).forEach((w) => {
        const fd = fds[fileOf(w)];
        const list = mine(w);
        let j = 0;
        const step = (): void => {
          if (failed || j >= list.length) return finish(null);
          const k = list[j++];
          fs.write(fd, payload, k * size, size, slot(k), (err, n) => {
            if (err) return finish(err);
            if (n !== size) return finish(new Error(`${path(fileOf(w))}: short write ${n}`));
            fs.fdatasync(fd, (serr) => (serr ? finish(serr) : step()));
          });
        };
        step();
      });
    },

    sync(mark: Mark) {
      const fds = Array.from({ length: fileCount }, (_, f) => fs.openSync(path(f), 'w'));
      try {
        mark.start();
        for (let k = 0; k < count; k++) {
          const fd = fds[fileOf(k % writers)];
          wrote(fs.writeSync(fd, payload, k * size, size, slot(k)), size, path(fileOf(k % writers)));
          fs.fdatasyncSync(fd);
        }
        mark.stop();
      } finally {
        for (const fd of fds) fs.closeSync(fd);
      }
    },

    verify() {
      const sum = new Checksum();
      const got = Buffer.alloc(size);
      let sampled = 0;
      for (let w = 0; w < fileCount; w++) {
        const list = inFile(w);
        const st = fs.statSync(path(w));
        check(st.size === list.length * size, `${path(w)}: size ${st.size}, expected ${list.length * size}`);
        const fd = fs.openSync(path(w), 'r');
        try {
          for (const j of sampleIndices(list.length, Math.ceil(128 / fileCount), 14 + w)) {
            const k = list[j];
            check(fs.readSync(fd, got, 0, size, slot(k)) === size, `${path(w)}: record ${k} short read`);
            check(got.equals(payload.subarray(k * size, (k + 1) * size)), `${path(w)}: record ${k} differs`);
            sum.add(got);
            sampled++;
          }
        } finally {
          fs.closeSync(fd);
        }
      }
      return {
        checksum: sum.hex(),
        sampledBytes: sum.bytes,
        detail: `${fileCount} file(s) with ${count} records of ${size} B in all; ${sampled} records compared byte for byte`,
      };
    },

    cleanup() {
      for (let f = 0; f < fileCount; f++) fs.rmSync(path(f), { force: true });
    },
  };
};
