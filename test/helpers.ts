// Shared test setup: the backend matrix and scratch directories.
import * as nodeFs from 'node:fs';
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { afterAll } from 'vitest';
import { compiledBackends, probeBackends, run, start, SimFs, type BackendProbe, type Main, type RunOptions, type SimFaults } from '../src/index.js';
import { SimHostFs, type HostFs } from './sim-host.js';

/** Every compiled backend with whether this machine permits it; tests run on each available one. */
export const backendMatrix: BackendProbe[] = probeBackends();

for (const b of backendMatrix) {
  if (!b.available) console.log(`[corio tests] backend '${b.name}' skipped: ${b.reason}`);
}

/**
 * The two entry points (issue 13): 'standalone' is run(), which owns the thread; 'hosted' is start(), a
 * guest in Node's loop. Behavioural suites run under both, on every backend, through runOn().
 */
export type LoopKind = 'standalone' | 'hosted';
export const loopKinds: readonly LoopKind[] = ['standalone', 'hosted'];

/**
 * Why the hosted loop is not tested in this run ('' where it is): CORIO_TEST_NO_HOSTED, for a run on a
 * platform whose backend cannot be hosted. No run sets it today; test:kqueue did until the kqueue backend's
 * hosted mode got a descriptor libuv can poll (native/core/mac/kqueue.cc says why libkqueue's is not one).
 */
export const hostedSkip: string = process.env.CORIO_TEST_NO_HOSTED ?? '';

/** Runs main with run() or start(), as a Promise either way (run()'s throw becomes a rejection). */
export function runOn<T>(kind: LoopKind, main: Main<T>, options: RunOptions = {}): Promise<T> {
  if (kind === 'hosted') return start(main, options);
  try {
    return Promise.resolve(run(main, options));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Title for a per-backend describe block; an unavailable backend's block is skipped and says why. */
export function backendTitle(b: BackendProbe): string {
  return b.available ? `backend ${b.name}` : `backend ${b.name} (skipped: ${b.reason})`;
}

/**
 * Why a test that needs the compiled backend `name` cannot run in this build, or '' when it can: for
 * `skipIf(reason !== '')` and a title that names the reason (see `skipTitle`). Builds differ by platform
 * (Linux: uring, epoll; macOS and the libkqueue build: kqueue; Windows: iocp).
 */
export function missingBackend(name: string): string {
  const have = compiledBackends();
  return have.includes(name) ? '' : `this build has no ${name} backend (it has ${have.join(', ')})`;
}

/** A test or block title that says why it is skipped when `skipReason` is not empty. */
export function skipTitle(title: string, skipReason: string): string {
  return skipReason ? `${title} (skipped: ${skipReason})` : title;
}

const errnoByCode = new Map([...getSystemErrorMap()].map(([errno, [code]]) => [code, errno]));
/** The negative errno Node reports for a code on this platform (libuv's numbers on Windows, e.g. ENOENT -4058). */
export function uvErrno(code: string): number {
  const errno = errnoByCode.get(code);
  if (errno === undefined) throw new Error(`no errno for ${code} on this platform`);
  return errno;
}

/**
 * Why this machine cannot test symbolic links, or '' when it can: node:fs must make one and then follow it.
 * Under Wine 8, symlinkSync succeeds but leaves a link that neither node:fs nor corio can follow.
 */
export const noSymlinks: string = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'corio-symlink-probe-'));
  try {
    writeFileSync(join(dir, 'target'), 'x');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    return statSync(join(dir, 'link')).isFile() ? '' : 'a symbolic link here does not lead to its target';
  } catch (error) {
    return `node:fs cannot make and follow a symbolic link here (${(error as NodeJS.ErrnoException).code ?? error})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** Windows emulated by Wine: it maps the Unix root to drive Z:, so a Linux /proc shows through there. */
export const underWine: boolean = process.platform === 'win32' && existsSync('Z:\\proc\\self\\status');

const roots: string[] = [];
// Deleting tens of thousands of files takes a while on this kind of ext4 (NOTES.md), longer than vitest's
// default hook timeout when other work shares the machine.
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
}, 300_000);

/** A fresh empty directory, removed after the file's tests. */
export function scratch(prefix = 'corio-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}

/** Runs fn and returns what it threw (fails the test if it threw nothing). */
export function caught(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected an error, none was thrown');
}

/**
 * The simulation backend (src/drivers/sim), which every build has: behavioural tests run on it too.
 * noSimPaths says why the simulation cannot stand in for a disk here, or '': its file system speaks POSIX
 * paths, and on Windows corio's path handling (node:path's resolve and dirname, e.g. in writeFileAtomic)
 * turns them into drive paths (Z:\\d\\…) it has never heard of.
 */
export const noSimPaths: string =
  process.platform === 'win32' ? "the simulation's file system has POSIX paths, which node:path on Windows makes drive paths" : '';

export const simBackend: BackendProbe = noSimPaths
  ? { name: 'sim', available: false, reason: noSimPaths }
  : { name: 'sim', available: true, reason: 'the simulation: in-memory file system, seeded scheduling' };

/**
 * Why the simulation runs under run() only: start() has libuv watch the backend's descriptor (uv_poll_t) to
 * wake the guest, and the simulation is TypeScript with no descriptor. A sim guest would need a second hosted
 * driver paced by setImmediate, whose tests would check that driver rather than the one users run.
 */
const simStandaloneOnly = "standalone only: start() has libuv poll a native backend's descriptor, the simulation has none";

/** One cell of the loop matrix: an entry point on a backend, and why the cell is skipped ('' when it runs). */
export interface LoopCase {
  kind: LoopKind;
  backend: BackendProbe;
  skip: string;
}

/**
 * Every (entry point, backend) pair the behavioural suites run on: each compiled backend under run() and
 * under start() (issue 13), plus the simulation under run() (issue 18). A cell this machine cannot run is
 * still listed, skipped, with the reason in its title.
 */
export const loopMatrix: LoopCase[] = [
  ...backendMatrix.flatMap((backend) => loopKinds.map((kind): LoopCase => ({
    kind,
    backend,
    skip: !backend.available ? backend.reason : kind === 'hosted' ? hostedSkip : '',
  }))),
  { kind: 'standalone', backend: simBackend, skip: simBackend.available ? '' : simBackend.reason },
];

/** A describe title that says the loop and the backend ("hosted loop, backend uring"), and why it is skipped. */
export function loopTitle(c: LoopCase): string {
  const base = `${c.kind} loop, backend ${c.backend.name}`;
  if (c.skip) return `${base} (skipped: ${c.skip})`;
  return c.backend.name === 'sim' ? `${base} (${simStandaloneOnly})` : base;
}

/** run()'s options for a backend of the matrix, for a test that reaches no files (the simulation: seed 1). */
export function backendOptions(b: BackendProbe): RunOptions {
  return b.name === 'sim' ? { backend: 'sim', seed: 1 } : { backend: b.name };
}

/** What a Promise rejected with (fails the test if it resolved): the async twin of caught(). */
export async function rejected(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection, the Promise resolved');
}

/** Where a file test's files live and how it reaches them, per backend. */
export interface FileTarget {
  /** run()'s options for the backend (on 'sim': one SimFs for the whole test file, seed 1). */
  options: RunOptions;
  /** node:fs on a native backend; on 'sim' the same calls over the simulation's file system. */
  fs: HostFs;
  /** A fresh empty directory (on 'sim', the same path created in its file system too). */
  scratch(prefix?: string): string;
  simulated: boolean;
  /** The simulation's file system on 'sim' (to check what is open in it), else null. */
  sim: SimFs | null;
  /** Why a test needs a real OS thing the simulation does not have ('' on a native backend). */
  needsOs(what: string): string;
}

/**
 * The target for backend `b`. A file test's describe block shadows `fs`, `scratch` and `opts` with these, so
 * one test body runs on the disk and on the simulation.
 */
export function fileTarget(b: BackendProbe, faults?: SimFaults): FileTarget {
  if (b.name !== 'sim') {
    return { options: { backend: b.name }, fs: nodeFs as unknown as HostFs, scratch, simulated: false, sim: null, needsOs: () => '' };
  }
  const sim = new SimFs();
  return {
    options: { backend: 'sim', seed: 1, sim: { fs: sim, faults } },
    fs: new SimHostFs(sim, nodeFs),
    scratch(prefix?: string) {
      const dir = scratch(prefix);
      sim.mkdirp(dir);
      return dir;
    },
    simulated: true,
    sim,
    needsOs: (what: string) => `the simulation has no ${what}`,
  };
}
