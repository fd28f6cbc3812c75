// Workload factories by name: what the child process looks up from its spec.
import { durableWrites } from './workloads/durable.js';
import { manyFiles } from './workloads/files.js';
import { responsiveness } from './workloads/latency.js';
import { spawnJoin, taskSwitch } from './workloads/scheduler.js';
import { sequential } from './workloads/sequential.js';
import { smallWrites } from './workloads/small.js';
import type { Factory, Instance } from './workload.js';

/** Does nothing in every style: the baseline that start-up system calls are subtracted against. */
const noop: Factory<Record<string, never>> = (): Instance => ({
  ops: 0,
  *corio(mark) {
    mark.start();
    mark.stop();
  },
  async promises(mark) {
    mark.start();
    mark.stop();
  },
  callbacks(mark, done) {
    mark.start();
    mark.stop();
    done(null);
  },
  sync(mark) {
    mark.start();
    mark.stop();
  },
  verify: () => ({ checksum: '-', sampledBytes: 0, detail: 'nothing to check' }),
});

/** Parameters arrive as JSON from the parent, built by cases.ts for the factory they name. */
export const factories: Record<string, Factory<never>> = {
  files: manyFiles,
  sequential,
  small: smallWrites,
  durable: durableWrites,
  switch: taskSwitch,
  spawn: spawnJoin,
  latency: responsiveness,
  noop,
};
