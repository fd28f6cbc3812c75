// What a workload is, and the pieces every workload shares: the timing mark, the worker pools for each
// programming style, and short-write checks.
//
// A workload is built by a factory from its parameters and a directory. It prepares its payload up front
// (outside the timed region), offers one implementation per style — corio, fs.promises, fs callbacks,
// synchronous fs — and verifies what landed on disk afterwards, so a run that is fast because it is wrong
// fails instead of winning.
import { spawn, type Operation } from '../src/index.js';

/** The programming styles a workload can be written in; a "system" is a style plus its environment. */
export type Flavor = 'corio' | 'promises' | 'callbacks' | 'sync';

/** The timed region: a workload calls start() once its setup is done and stop() when the work is. */
export interface Mark {
  start(): void;
  stop(): void;
}

export const noMark: Mark = { start() {}, stop() {} };

/** What verification found: a checksum over the sampled bytes (equal across systems of one case). */
export interface Verified {
  checksum: string;
  /** Bytes covered by the checksum sample. */
  sampledBytes: number;
  /** What was checked, in words, for the report. */
  detail: string;
}

export interface Instance {
  /** Operations in the timed region (throughput = ops / time). */
  readonly ops: number;
  corio?(mark: Mark): Operation<void>;
  promises?(mark: Mark): Promise<void>;
  callbacks?(mark: Mark, done: (error?: Error | null) => void): void;
  sync?(mark: Mark): void;
  /** Checks the output; throws a VerifyError when anything is wrong. */
  verify(): Verified;
  /** Removes large single files once verified (create-heavy directories are left to the parent). */
  cleanup?(): void;
  /** Filled by the responsiveness workload: how late each tick woke, in ms. */
  readonly lateness?: number[];
}

export type Factory<P> = (params: P, dir: string) => Instance;

export class VerifyError extends Error {
  override name = 'VerifyError';
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new VerifyError(message);
}

/** Throws when a write wrote fewer bytes than asked: none of these workloads expects a short write. */
export function wrote(n: number, expected: number, what: string): void {
  if (n !== expected) throw new Error(`${what}: wrote ${n} of ${expected} bytes`);
}

// ---- Worker pools: `width` workers pull item numbers 0..total-1 from one counter ---------------------------

export function* corioWorkers(width: number, total: number, work: (i: number) => Operation<void>): Operation<void> {
  let next = 0;
  const workers = [];
  for (let w = 0; w < Math.min(width, total); w++) {
    workers.push(
      spawn(function* () {
        while (next < total) yield* work(next++);
      }, { name: `worker-${w}` }),
    );
  }
  for (const worker of workers) yield* worker;
}

export async function promiseWorkers(width: number, total: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = [];
  for (let w = 0; w < Math.min(width, total); w++) {
    workers.push(
      (async () => {
        while (next < total) await work(next++);
      })(),
    );
  }
  await Promise.all(workers);
}

/** Callback style: each worker chains its next item from the previous one's callback. */
export function callbackWorkers(
  width: number,
  total: number,
  work: (i: number, cb: (error?: Error | null) => void) => void,
  done: (error?: Error | null) => void,
): void {
  let next = 0;
  let active = Math.min(width, total);
  let failed = false;
  if (active === 0) {
    done(null);
    return;
  }
  const pump = (): void => {
    if (failed) return;
    if (next >= total) {
      if (--active === 0) done(null);
      return;
    }
    work(next++, (error) => {
      if (error) {
        if (!failed) {
          failed = true;
          done(error);
        }
        return;
      }
      pump();
    });
  };
  for (let w = 0, n = active; w < n; w++) pump();
}

/** Adapts a callback-style run to a promise (one promise per run, not per operation). */
export function callbackRun(instance: Instance, mark: Mark): Promise<void> {
  return new Promise((resolve, reject) => {
    instance.callbacks!(mark, (error) => (error ? reject(error) : resolve()));
  });
}
