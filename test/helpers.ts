// Shared test setup: the backend matrix and scratch directories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { probeBackends, type BackendProbe } from '../src/index.js';

/** Every compiled backend with whether this machine permits it; tests run on each available one. */
export const backendMatrix: BackendProbe[] = probeBackends();

for (const b of backendMatrix) {
  if (!b.available) console.log(`[corio tests] backend '${b.name}' skipped: ${b.reason}`);
}

/** Title for a per-backend describe block; an unavailable backend's block is skipped and says why. */
export function backendTitle(b: BackendProbe): string {
  return b.available ? `backend ${b.name}` : `backend ${b.name} (skipped: ${b.reason})`;
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
