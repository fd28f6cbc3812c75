// W2 sequential: one file of `bytes` written in `chunk`-sized writes at increasing offsets, `inflight` at a time.
// One operation = one chunk. Each writer owns one chunk buffer and stamps the chunk number into it before each
// write (a producer refilling its buffer), so a chunk written twice or at the wrong offset fails verification.
// The file is opened before and closed after the timed region; it is deleted once verified.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { open } from '../../src/index.js';
import { Checksum, pattern, sampleIndices, stamp } from '../data.js';
import {
  callbackWorkers, check, corioWorkers, promiseWorkers, wrote, type Factory, type Instance, type Mark,
} from '../workload.js';

export interface SequentialParams {
  bytes: number;
  chunk: number;
  inflight: number;
}

export const sequential: Factory<SequentialParams> = ({ bytes, chunk, inflight }, dir): Instance => {
  fs.mkdirSync(dir, { recursive: true });
  const chunks = Math.max(1, Math.floor(bytes / chunk));
  const base = pattern(chunk, 2);
  const buffers = Array.from({ length: inflight }, () => Buffer.from(base));
  const path = join(dir, 'sequential.dat');
  // Worker w writes chunks from the shared counter into its own buffer; the buffer is reused only after the
  // write that used it has completed.
  const fill = (w: number, k: number) => {
    stamp(buffers[w], 0, chunk, k);
    return buffers[w];
  };

  return {
    ops: chunks,

    *corio(mark: Mark) {
      const f = yield* open(path, 'w');
      try {
        mark.start();
        let next = 0;
        yield* corioWorkers(inflight, inflight, function* (w) {
          while (next < chunks) {
            const k = next++;
            wrote(yield* f.writeFrom(fill(w, k), 0, chunk, k * chunk), chunk, path);
          }
        });
        mark.stop();
      } finally {
        yield* f.close();
      }
    },

    async promises(mark: Mark) {
      const f = await fsp.open(path, 'w');
      try {
        mark.start();
        let next = 0;
        await promiseWorkers(inflight, inflight, async (w) => {
          while (next < chunks) {
            const k = next++;
            wrote((await f.write(fill(w, k), 0, chunk, k * chunk)).bytesWritten, chunk, path);
          }
        });
        mark.stop();
      } finally {
        await f.close();
      }
    },

    callbacks(mark: Mark, done) {
      fs.open(path, 'w', (err, fd) => {
        if (err) return done(err);
        mark.start();
        let next = 0;
        callbackWorkers(inflight, inflight, (w, cb) => {
          const step = (): void => {
            if (next >= chunks) return cb(null);
            const k = next++;
            fs.write(fd, fill(w, k), 0, chunk, k * chunk, (werr, n) => {
              if (werr) return cb(werr);
              if (n !== chunk) return cb(new Error(`${path}: short write ${n}`));
              step();
            });
          };
          step();
        }, (error) => {
          mark.stop();
          fs.close(fd, (cerr) => done(error ?? cerr));
        });
      });
    },

    sync(mark: Mark) {
      const fd = fs.openSync(path, 'w');
      try {
        mark.start();
        for (let k = 0; k < chunks; k++) wrote(fs.writeSync(fd, fill(0, k), 0, chunk, k * chunk), chunk, path);
        mark.stop();
      } finally {
        fs.closeSync(fd);
      }
    },

    verify() {
      const size = fs.statSync(path).size;
      check(size === chunks * chunk, `${path}: size ${size}, expected ${chunks * chunk}`);
      const fd = fs.openSync(path, 'r');
      const sum = new Checksum();
      const got = Buffer.alloc(chunk);
      const want = Buffer.from(base);
      const sample = sampleIndices(chunks, 32, 12);
      try {
        for (const k of sample) {
          check(fs.readSync(fd, got, 0, chunk, k * chunk) === chunk, `${path}: chunk ${k} short read`);
          stamp(want, 0, chunk, k);
          check(got.equals(want), `${path}: chunk ${k} differs from what was written`);
          sum.add(got);
        }
      } finally {
        fs.closeSync(fd);
      }
      return {
        checksum: sum.hex(),
        sampledBytes: sum.bytes,
        detail: `size ${size} B; ${sample.length} chunks compared byte for byte`,
      };
    },

    cleanup() {
      fs.rmSync(path, { force: true });
    },
  };
};
