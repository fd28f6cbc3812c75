// The typed face of the addon: the only module that touches the binding (DESIGN.md). It loads the addon once
// through node-gyp-build (a local build in build/Release, else a prebuild for this platform), and declares
// exactly what native/addon.cc exports so nothing typed `any` crosses into the rest of corio.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options the native backend accepts; see BackendOptions in native/core/backend.h. */
export interface NativeBackendOptions {
  queueDepth?: number;
  maxInFlight?: number;
  poolThreads?: number;
  /** Test-only: make the io_uring probe fail as if setup returned this errno. */
  forceUringErrno?: number;
  /**
   * The backend will be watched by Node's loop (hosted mode): io_uring then avoids DEFER_TASKRUN, whose ring
   * never wakes an epoll that watches it (BackendOptions::pollable in native/core/backend.h).
   */
  pollable?: boolean;
}

/**
 * Hosted mode's libuv watcher (native/binding/hosted_uv.cc): a uv_poll_t on the backend's descriptor and a
 * uv_timer_t, each holding a reference on Node's loop only while started.
 */
export interface HostedWatcher {
  /**
   * Timer: -1 stopped, else once after timeoutMs (rounded up). The descriptor is always polled (wake()
   * must get through); holdLoop: whether that poll keeps Node's loop alive (I/O in flight).
   */
  arm(timeoutMs: number, holdLoop: boolean): void;
  close(): void;
}

export interface NativeStats {
  submitted: number;
  completed: number;
  enters: number;
  inlineOps: number;
  workerOps: number;
  cancelRequests: number;
  inFlight: number;
  queued: number;
}

/**
 * One backend instance (io_uring ring, or epoll + pool). Every submission takes a token the caller chose; the
 * result arrives through wait() as a (token, result) pair in the completions array, result = -errno on failure.
 * `position` -1 means the file's current position (its end for O_APPEND).
 */
export interface NativeBackend {
  readonly name: string;
  readonly reason: string;
  open(token: number, path: string, flags: number, mode: number): void;
  close(token: number, fd: number): void;
  read(token: number, fd: number, buffer: ArrayBufferView, offset: number, length: number, position: number): void;
  write(token: number, fd: number, buffer: ArrayBufferView, offset: number, length: number, position: number): void;
  readv(token: number, fd: number, buffers: readonly ArrayBufferView[], position: number): void;
  writev(token: number, fd: number, buffers: readonly ArrayBufferView[], position: number): void;
  fsync(token: number, fd: number): void;
  fdatasync(token: number, fd: number): void;
  ftruncate(token: number, fd: number, length: number): void;
  fstat(token: number, fd: number, out: BigInt64Array): void;
  unlink(token: number, path: string): void;
  rename(token: number, from: string, to: string): void;
  mkdir(token: number, path: string, mode: number): void;
  rmdir(token: number, path: string): void;
  stat(token: number, path: string, out: BigInt64Array, noFollow: boolean): void;
  fallocate(token: number, fd: number, offset: number, length: number, keepSize: boolean): void;
  /** Entries packed as [uint8 type][name][NUL]…; -ENOBUFS when they do not fit (retry larger). */
  readdir(token: number, path: string, buffer: ArrayBufferView, offset: number, length: number): void;
  cancel(token: number): boolean;
  wait(timeoutMs: number): number;
  wake(): void;
  stats(): NativeStats;
  destroy(): void;
  /**
   * Tracing (native/core/trace.h): the backend records where each operation ran. Optional because a
   * backend written in TypeScript (a simulation) has no threads to report.
   */
  setTrace?(on: boolean): void;
  /** Moves up to out.length / 5 records (token, ran-on code, worker, start ms, end ms) into `out`. */
  takeTrace?(out: Float64Array): number;
}

interface Binding {
  NativeBackend: new (kind: string, completions: Int32Array, options?: NativeBackendOptions) => NativeBackend;
  compiledBackends: string[];
  statFields: number;
  /**
   * Destructor drain rounds in this process that ran out their timeout before everything in flight had
   * completed (native/core/backend.h). 0 after ordinary runs; each round delayed a backend's destroy().
   */
  slowDrainRounds(): number;
  /** CPU time of the calling thread in ms (-1 if the platform cannot say). */
  threadCpuMs(): number;
  /**
   * Starts the process-wide stop-request watcher (native/core/signals.h): SIGINT/SIGTERM set bits in `flags`
   * (an Int32Array over a SharedArrayBuffer; 1 SIGINT, 2 SIGTERM) and wake `backend`. false: one runs already.
   */
  signalWatch(backend: NativeBackend, flags: Int32Array): boolean;
  /** Stops the watcher and puts back the handlers it replaced (unless someone replaced them meanwhile). */
  signalUnwatch(): void;
  /** The next request ends the process at once, as Node's default handling would. */
  signalExitOnNext(): void;
  /** null where no backend has a pollable descriptor (Windows: native/binding/hosted_win.cc says why). */
  HostedWatcher: (new (backend: NativeBackend, onReady: () => void) => HostedWatcher) | null;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const require = createRequire(import.meta.url);

/** Which addon file was loaded and what kind it is: a prebuild shipped in the package, or a local build. */
export interface LoadedAddon {
  path: string;
  kind: 'prebuild' | 'local build';
}

function load(): { binding: Binding; addon: LoadedAddon } {
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  // resolve() applies node-gyp-build's own order (build/Release, then prebuilds/<platform>-<arch>); requiring
  // that path ourselves is what node-gyp-build(dir) does, and it lets `corio info` say which file it was.
  const path = nodeGypBuild.resolve(findRoot());
  const binding = require(path) as Binding;
  if (typeof binding?.NativeBackend !== 'function') throw new Error(`corio: the native addon ${path} did not load`);
  return { binding, addon: { path, kind: /[\\/]prebuilds[\\/]/.test(path) ? 'prebuild' : 'local build' } };
}

// dist/src/native.js and src/native.ts (under vitest) sit at different depths; find the folder with binding.gyp.
function findRoot(): string {
  const fs = require('node:fs') as typeof import('node:fs');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = dirname(dir);
  }
  return packageRoot;
}

const loaded = load();
export const binding: Binding = loaded.binding;
export const loadedAddon: LoadedAddon = loaded.addon;

/** The worker pool's size when run() is not given native.poolThreads (BackendOptions in native/core/backend.h). */
export const DEFAULT_POOL_THREADS = 4;
