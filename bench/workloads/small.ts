// W3 small writes: `count` records of `size` bytes written to one file at consecutive offsets, `inflight` at a
// time. One operation = one write. Record i comes from its own slice of a prepared payload (stamped with i),
// so writes in flight never share bytes. The file is opened before and closed after the timed region.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { open, type Operation } from '../../src/index.js';
import { Checksum, records, sampleIndices } from '../data.js';
import {
  callbackWorkers, check, corioWorkers, promiseWorkers, wrote, type Factory, type Instance, type Mark, type Verified,
} from '../workload.js';

export interface SmallParams {
  count: number;
  size: number;
  inflight: number;
}

export const smallWrites: Factory<SmallParams> = ({ count, size, inflight }, dir): Instance => {
  fs.mkdirSync(dir, { recursive: true });
  const payload = records(count, size, 3);
  const path = join(dir, 'small.dat');

  return {
    ops: count,

    *corio(mark: Mark): Operation<void> {
      const f = yield* open(path, 'w');
      try {
        mark.start();
        yield* corioWorkers(inflight, count, function* (i) {
          wrote(yield* f.writeFrom(payload, i * size, size, i * size), size, path);
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
        await promiseWorkers(inflight, count, async (i) => {
          wrote((await f.write(payload, i * size, size, i * size)).bytesWritten, size, path);
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
        callbackWorkers(inflight, count, (i, cb) => {
          fs.write(fd, payload, i * size, size, i * size, (werr, n) => {
            cb(werr ?? (n === size ? null : new Error(`${path}: short write ${n}`)));
          });
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
        for (let i = 0; i < count; i++) wrote(fs.writeSync(fd, payload, i * size, size, i * size), size, path);
        mark.stop();
      } finally {
        fs.closeSync(fd);
      }
    },

    verify: () => verifyRecords(path, count, size, payload),

    cleanup() {
      fs.rmSync(path, { force: true });
    },
  };
};

/** The file holds exactly `count` records; 256 sampled records are compared byte for byte. */
export function verifyRecords(path: string, count: number, size: number, payload: Buffer): Verified {
  const st = fs.statSync(path);
  check(st.size === count * size, `${path}: size ${st.size}, expected ${count * size}`);
  const fd = fs.openSync(path, 'r');
  const sum = new Checksum();
  const got = Buffer.alloc(size);
  const sample = sampleIndices(count, 256, 13);
  try {
    for (const i of sample) {
      check(fs.readSync(fd, got, 0, size, i * size) === size, `${path}: record ${i} short read`);
      check(got.equals(payload.subarray(i * size, (i + 1) * size)), `${path}: record ${i} differs from what was written`);
      sum.add(got);
    }
  } finally {
    fs.closeSync(fd);
  }
  return {
    checksum: sum.hex(),
    sampledBytes: sum.bytes,
    detail: `size ${st.size} B; ${sample.length} records compared byte for byte`,
  };
}
