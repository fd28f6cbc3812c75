// W1 many files: `files` files of `size` bytes, each opened (created), written in one call and closed, by
// `concurrency` workers. One operation = one whole file (open + write + close).
//
// Create-heavy: the parent gives every run a fresh, empty directory and deletes old ones only after all runs
// (NOTES.md: creating files right after deleting many is 12–18× slower on this journal-less ext4).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { open } from '../../src/index.js';
import { Checksum, records, sampleIndices } from '../data.js';
import {
  callbackWorkers, check, corioWorkers, promiseWorkers, wrote, type Factory, type Instance, type Mark, type Verified,
} from '../workload.js';

export interface FilesParams {
  files: number;
  size: number;
  concurrency: number;
}

export const manyFiles: Factory<FilesParams> = ({ files, size, concurrency }, dir): Instance => {
  fs.mkdirSync(dir, { recursive: true });
  const payload = records(files, size, 1);
  const name = (i: number) => join(dir, `f${i}`);

  return {
    ops: files,

    *corio(mark: Mark) {
      mark.start();
      yield* corioWorkers(concurrency, files, function* (i) {
        const f = yield* open(name(i), 'w');
        try {
          wrote(yield* f.writeFrom(payload, i * size, size, 0), size, name(i));
        } finally {
          yield* f.close();
        }
      });
      mark.stop();
    },

    async promises(mark: Mark) {
      mark.start();
      await promiseWorkers(concurrency, files, async (i) => {
        const f = await fsp.open(name(i), 'w');
        try {
          wrote((await f.write(payload, i * size, size, 0)).bytesWritten, size, name(i));
        } finally {
          await f.close();
        }
      });
      mark.stop();
    },

    callbacks(mark: Mark, done) {
      mark.start();
      callbackWorkers(concurrency, files, (i, cb) => {
        fs.open(name(i), 'w', (err, fd) => {
          if (err) return cb(err);
          fs.write(fd, payload, i * size, size, 0, (werr, n) => {
            fs.close(fd, (cerr) => cb(werr ?? cerr ?? (n === size ? null : new Error(`${name(i)}: short write ${n}`))));
          });
        });
      }, (error) => {
        mark.stop();
        done(error);
      });
    },

    sync(mark: Mark) {
      mark.start();
      for (let i = 0; i < files; i++) {
        const fd = fs.openSync(name(i), 'w');
        try {
          wrote(fs.writeSync(fd, payload, i * size, size, 0), size, name(i));
        } finally {
          fs.closeSync(fd);
        }
      }
      mark.stop();
    },

    verify: () => verifyFiles(dir, files, size, payload),
  };
};

/** Every file exists with the right size; a sample of 64 is compared byte for byte. */
export function verifyFiles(dir: string, files: number, size: number, payload: Buffer): Verified {
  const names = fs.readdirSync(dir);
  check(names.length === files, `${dir}: ${names.length} files, expected ${files}`);
  for (let i = 0; i < files; i++) {
    const st = fs.statSync(join(dir, `f${i}`));
    check(st.size === size, `f${i}: size ${st.size}, expected ${size}`);
  }
  const sum = new Checksum();
  const sample = sampleIndices(files, 64, 11);
  for (const i of sample) {
    const data = fs.readFileSync(join(dir, `f${i}`));
    check(data.equals(payload.subarray(i * size, (i + 1) * size)), `f${i}: content differs from what was written`);
    sum.add(data);
  }
  return {
    checksum: sum.hex(),
    sampledBytes: sum.bytes,
    detail: `${files} files of ${size} B present; ${sample.length} compared byte for byte`,
  };
}
