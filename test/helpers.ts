// Shared test setup: the backend matrix and scratch directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { afterAll } from 'vitest';
import { compiledBackends, probeBackends, type BackendProbe } from '../src/index.js';

/** Every compiled backend with whether this machine permits it; tests run on each available one. */
export const backendMatrix: BackendProbe[] = probeBackends();

for (const b of backendMatrix) {
  if (!b.available) console.log(`[corio tests] backend '${b.name}' skipped: ${b.reason}`);
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

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

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
