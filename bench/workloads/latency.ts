// W6 responsiveness: W1 (many files) and W3 (small writes) run together on one loop while a ticker asks to wake
// every `tickMs`. Each tick records how late it woke: (time it resumed) − (time it went to sleep) − tickMs.
// corio: a task doing `yield* sleep(tickMs)`; Node: a `setTimeout(tickMs)` chain in Node's loop (libuv keeps
// timer time in whole milliseconds, which is part of what Node users get). One operation = one file or one
// write of the two workloads (throughput is reported too); the figure that matters is the lateness.
import { join } from 'node:path';
import { sleep, spawn } from '../../src/index.js';
import { manyFiles, type FilesParams } from './files.js';
import { smallWrites, type SmallParams } from './small.js';
import { callbackRun, noMark, type Factory, type Instance, type Mark } from '../workload.js';

export interface LatencyParams {
  files: FilesParams;
  small: SmallParams;
  tickMs: number;
}

export const responsiveness: Factory<LatencyParams> = ({ files, small, tickMs }, dir): Instance => {
  const a = manyFiles(files, join(dir, 'files'));
  const b = smallWrites(small, join(dir, 'small'));
  const lateness: number[] = [];

  /** Node's ticker: a setTimeout chain until stop() is called; resolves after its last tick. */
  function nodeTicker(): { stop(): void; done: Promise<void> } {
    let running = true;
    let finish: () => void = () => {};
    const done = new Promise<void>((resolve) => (finish = resolve));
    const tick = (): void => {
      const slept = performance.now();
      setTimeout(() => {
        lateness.push(performance.now() - slept - tickMs);
        if (running) tick();
        else finish();
      }, tickMs);
    };
    tick();
    return { stop: () => (running = false), done };
  }

  return {
    ops: a.ops + b.ops,
    lateness,

    *corio(mark: Mark) {
      let running = true;
      mark.start();
      const ticker = spawn(function* () {
        while (running) {
          const slept = performance.now();
          yield* sleep(tickMs);
          lateness.push(performance.now() - slept - tickMs);
        }
      }, { name: 'ticker' });
      const ta = spawn(a.corio!(noMark), { name: 'W1' });
      const tb = spawn(b.corio!(noMark), { name: 'W3' });
      yield* ta;
      yield* tb;
      mark.stop();
      running = false;
      yield* ticker;
    },

    async promises(mark: Mark) {
      mark.start();
      const ticker = nodeTicker();
      await Promise.all([a.promises!(noMark), b.promises!(noMark)]);
      mark.stop();
      ticker.stop();
      await ticker.done;
    },

    callbacks(mark: Mark, done) {
      mark.start();
      const ticker = nodeTicker();
      Promise.all([callbackRun(a, noMark), callbackRun(b, noMark)]).then(
        () => {
          mark.stop();
          ticker.stop();
          ticker.done.then(() => done(null), done);
        },
        (error: Error) => done(error),
      );
    },

    verify() {
      const va = a.verify();
      const vb = b.verify();
      return {
        checksum: `${va.checksum}+${vb.checksum}`,
        sampledBytes: va.sampledBytes + vb.sampledBytes,
        detail: `${va.detail}; ${vb.detail}; ${lateness.length} ticks`,
      };
    },

    cleanup() {
      b.cleanup?.();
    },
  };
};
