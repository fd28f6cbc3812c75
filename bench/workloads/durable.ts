// W4 durable writes: `count` operations of (write `size` bytes, then fdatasync) by `writers` concurrent writers,
// each appending records to a file of its own (a log per writer, at explicit offsets). One operation = one
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
}

export const durableWrites: Factory<DurableParams> = ({ count, size, writers }, dir): Instance => {
  fs.mkdirSync(dir, { recursive: true });
  const payload = records(count, size, 4);
  const path = (w: number) => join(dir, `log${w}`);
  const slot = (k: number) => Math.floor(k / writers) * size;
  /** The records of writer w, in order. */
  const mine = (w: number) => {
    const out: number[] = [];
    for (let k = w; k < count; k += writers) out.push(k);
    return out;
  };

  return {
    ops: count,

    *corio(mark: Mark) {
      const files: FileHandle[] = [];
      try {
        for (let w = 0; w < writers; w++) files.push(yield* open(path(w), 'w'));
        mark.start();
        const tasks = files.map((f, w) =>
          spawn(function* () {
            for (const k of mine(w)) {
              wrote(yield* f.writeFrom(payload, k * size, size, slot(k)), size, path(w));
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
        for (let w = 0; w < writers; w++) files.push(await fsp.open(path(w), 'w'));
        mark.start();
        await Promise.all(files.map(async (f, w) => {
          for (const k of mine(w)) {
            wrote((await f.write(payload, k * size, size, slot(k))).bytesWritten, size, path(w));
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
        for (let w = 0; w < writers; w++) fds.push(fs.openSync(path(w), 'w'));  // setup, not timed
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
      fds.forEach((fd, w) => {
        const list = mine(w);
        let j = 0;
        const step = (): void => {
          if (failed || j >= list.length) return finish(null);
          const k = list[j++];
          fs.write(fd, payload, k * size, size, slot(k), (err, n) => {
            if (err) return finish(err);
            if (n !== size) return finish(new Error(`${path(w)}: short write ${n}`));
            fs.fdatasync(fd, (serr) => (serr ? finish(serr) : step()));
          });
        };
        step();
      });
    },

    sync(mark: Mark) {
      const fds = Array.from({ length: writers }, (_, w) => fs.openSync(path(w), 'w'));
      try {
        mark.start();
        for (let k = 0; k < count; k++) {
          const fd = fds[k % writers];
          wrote(fs.writeSync(fd, payload, k * size, size, slot(k)), size, path(k % writers));
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
      for (let w = 0; w < writers; w++) {
        const list = mine(w);
        const st = fs.statSync(path(w));
        check(st.size === list.length * size, `${path(w)}: size ${st.size}, expected ${list.length * size}`);
        const fd = fs.openSync(path(w), 'r');
        try {
          for (const j of sampleIndices(list.length, Math.ceil(128 / writers), 14 + w)) {
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
        detail: `${writers} file(s) with ${count} records of ${size} B in all; ${sampled} records compared byte for byte`,
      };
    },

    cleanup() {
      for (let w = 0; w < writers; w++) fs.rmSync(path(w), { force: true });
    },
  };
};
