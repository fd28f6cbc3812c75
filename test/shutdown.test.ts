// Shutdown: destroying a backend at the end of run() drains in one round. A round that runs out its timeout
// (counted natively, process-wide: binding.slowDrainRounds) means the program's exit was delayed; io_uring
// once waited out a full second at the end of every run because the readdir helper's eventfd read, armed
// with the ring, was only cancelled when the helper threads had been started.
import { describe, expect, it } from 'vitest';
import { binding } from '../src/drivers/native.js';
import { mkdir, open, readFile, readdir, run, sleep, spawn, stat, writeFile } from '../src/index.js';
import { backendMatrix, backendTitle, scratch } from './helpers.js';

function slowRoundsDuring(body: () => void): number {
  const before = binding.slowDrainRounds();
  body();
  return binding.slowDrainRounds() - before;
}

for (const b of backendMatrix) {
  describe.skipIf(!b.available)(backendTitle(b), () => {
    const backend = b.name;

    it('an empty run() drains without a timed-out round', () => {
      expect(slowRoundsDuring(() => run(function* () {}, { backend }))).toBe(0);
    });

    it('runs that did file I/O, readdir, sleeps and a cancelled task drain without a timed-out round', () => {
      const dir = scratch();
      const rounds = slowRoundsDuring(() => {
        run(function* () {
          yield* writeFile(`${dir}/a.txt`, 'hello');
          expect(yield* readFile(`${dir}/a.txt`, 'utf8')).toBe('hello');
          yield* mkdir(`${dir}/sub`);
          expect((yield* readdir(dir)).sort()).toEqual(['a.txt', 'sub']);
          expect((yield* stat(`${dir}/a.txt`)).size).toBe(5);
        }, { backend });
        run(function* () {
          const sleeper = spawn(function* () { yield* sleep(60_000); });
          yield* sleep(1);
          sleeper.cancel();
        }, { backend });
        // A 1 MiB write still in flight while main syncs and closes: close waits for it, nothing is left.
        run(function* () {
          const file = yield* open(`${dir}/b.txt`, 'w');
          spawn(function* () { yield* file.write(Buffer.alloc(1 << 20)); });
          yield* file.sync();
          yield* file.close();
        }, { backend });
      });
      expect(rounds).toBe(0);
    });
  });
}
