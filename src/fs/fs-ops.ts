// Path operations shaped like node:fs/promises: unlink, rename, mkdir, rmdir, rm, readdir, stat, lstat,
// copyFile, and writeFileAtomic. Single system calls go through the backend (io_uring opcodes where the kernel
// has them, the pool otherwise); the recursive ones are compositions of those, written here once.
import { dirname, basename, join, resolve, toNamespacedPath } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { constants as fsConstants } from 'node:fs';
import { invalidArgType, systemError, type SystemError } from '../core/errors.js';
import { FileStats, open, toPath, writeAll, type Data, type PathLike, type WriteFileOptions } from './file.js';
import { parseMode } from './flags.js';
import type { Op as Operation } from '../core/instruction.js';
import { IoRequest, Op } from '../core/io.js';
import { binding } from '../drivers/native.js';
import { currentLoop } from '../core/context.js';

function isCode(error: unknown, code: string): boolean {
  return (error as SystemError | undefined)?.code === code;
}

/** Removes a file (or a symbolic link). */
export function* unlink(path: PathLike): Operation<void> {
  yield* new IoRequest(Op.unlink, { path: toPath(path) });
}

/** Renames `from` to `to`, replacing `to` atomically if it exists. */
export function* rename(from: PathLike, to: PathLike): Operation<void> {
  yield* new IoRequest(Op.rename, { path: toPath(from), path2: toPath(to) });
}

/** Removes an empty directory. */
export function* rmdir(path: PathLike): Operation<void> {
  yield* new IoRequest(Op.rmdir, { path: toPath(path) });
}

/** mkdir()'s options, as node:fs's: `recursive` creates parents (and an existing directory is fine); `mode`. */
export interface MkdirOptions {
  recursive?: boolean;
  mode?: number | string;
}

/**
 * Creates a directory. With `recursive`, creates missing parents too and returns the first directory it
 * created (undefined if all existed), as node:fs does.
 */
export function* mkdir(path: PathLike, options: MkdirOptions | number = {}): Operation<string | undefined> {
  const opts = typeof options === 'number' ? { mode: options } : options;
  const p = toPath(path);
  const mode = parseMode(opts.mode, 0o777);
  if (!opts.recursive) {
    yield* new IoRequest(Op.mkdir, { path: p, mode });
    return undefined;
  }
  // Walk up until a directory exists, then create downwards; EEXIST on the way means someone else created
  // it concurrently, which is fine as long as it is a directory.
  const missing: string[] = [];
  let at = resolve(p);
  for (;;) {
    try {
      const st = yield* stat(at);
      if (!st.isDirectory()) throw systemError(20, 'mkdir', p);  // ENOTDIR: a file is in the way
      break;
    } catch (error) {
      if (!isCode(error, 'ENOENT')) throw error;
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  let first: string | undefined;
  for (const dir of missing.reverse()) {
    try {
      yield* new IoRequest(Op.mkdir, { path: dir, mode });
      first ??= dir;
    } catch (error) {
      if (!isCode(error, 'EEXIST') || !(yield* stat(dir)).isDirectory()) throw error;
    }
  }
  return first;
}

/** A directory entry with its type, like node:fs's Dirent. */
export class Dirent {
  constructor(
    readonly name: string,
    readonly parentPath: string,
    private readonly type: number,
  ) {}
  isFile(): boolean { return this.type === 1; }
  isDirectory(): boolean { return this.type === 2; }
  isSymbolicLink(): boolean { return this.type === 3; }
  isFIFO(): boolean { return this.type === 4; }
  isSocket(): boolean { return this.type === 5; }
  isCharacterDevice(): boolean { return this.type === 6; }
  isBlockDevice(): boolean { return this.type === 7; }
}

const direntTypeOfMode = (mode: number): number =>
  ({ 0o100000: 1, 0o040000: 2, 0o120000: 3, 0o010000: 4, 0o140000: 5, 0o020000: 6, 0o060000: 7 })[mode & 0o170000] ?? 0;

/** Lists a directory: names, or Dirents with `withFileTypes` ("." and ".." are never included). */
export function readdir(path: PathLike, options: { withFileTypes: true }): Operation<Dirent[]>;
export function readdir(path: PathLike, options?: { withFileTypes?: false }): Operation<string[]>;
export function* readdir(path: PathLike, options: { withFileTypes?: boolean } = {}): Operation<string[] | Dirent[]> {
  const p = toPath(path);
  // One call fills a buffer with packed entries; ENOBUFS asks for a bigger one (no state is kept between
  // calls, so a directory is always listed whole by one system call sequence). Matched by code: its number
  // is 105 on Linux, 55 on macOS and 119 in the Windows C runtime (libuv's -4060 by the time it is thrown).
  let size = 64 * 1024;
  let buffer: Buffer;
  let used: number;
  for (;;) {
    buffer = Buffer.allocUnsafe(size);
    try {
      used = yield* new IoRequest(Op.readdir, { path: p, buffer, offset: 0, length: size });
      break;
    } catch (error) {
      if (!isCode(error, 'ENOBUFS') || size >= 1 << 30) throw error;
      size *= 4;
    }
  }
  const entries: { name: string; type: number }[] = [];
  for (let at = 0; at < used; ) {
    const type = buffer[at];
    const end = buffer.indexOf(0, at + 1);
    entries.push({ name: buffer.toString('utf8', at + 1, end), type });
    at = end + 1;
  }
  if (!options.withFileTypes) return entries.map((e) => e.name);
  const result: Dirent[] = [];
  for (const e of entries) {
    // Some file systems do not report types in directory entries: ask lstat, as node:fs does.
    const type = e.type !== 0 ? e.type : direntTypeOfMode((yield* lstat(join(p, e.name))).mode);
    result.push(new Dirent(e.name, p, type));
  }
  return result;
}

function* statPath(path: PathLike, noFollow: boolean): Operation<FileStats> {
  const raw = new BigInt64Array(binding.statFields);
  yield* new IoRequest(Op.stat, { path: toPath(path), stat: raw, noFollow });
  return FileStats.from(raw);
}

/** stat(2): follows symbolic links. */
export function stat(path: PathLike): Operation<FileStats> {
  return statPath(path, false);
}

/** lstat(2): describes a symbolic link itself. */
export function lstat(path: PathLike): Operation<FileStats> {
  return statPath(path, true);
}

/** rm()'s options, as node:fs's: `recursive` removes a directory tree; `force` ignores a missing path. */
export interface RmOptions {
  recursive?: boolean;
  /** Ignore a path that does not exist. */
  force?: boolean;
}

/** Removes a file, or a directory tree with `recursive` (symbolic links are removed, never followed). */
export function* rm(path: PathLike, options: RmOptions = {}): Operation<void> {
  const p = toPath(path);
  let st: FileStats;
  try {
    st = yield* lstat(p);
  } catch (error) {
    if (options.force && isCode(error, 'ENOENT')) return;
    throw error;
  }
  if (!st.isDirectory()) {
    try {
      yield* unlink(p);
    } catch (error) {
      if (!(options.force && isCode(error, 'ENOENT'))) throw error;
    }
    return;
  }
  if (!options.recursive) {
    // node:fs reports this case with its own code and message; match them so callers' checks carry over.
    // On Windows node:fs names the path in its \\?\ form here (toNamespacedPath; the same path elsewhere).
    const named = toNamespacedPath(p);
    const err = systemError(21, 'rm', named);
    err.code = 'ERR_FS_EISDIR';
    err.errno = 21;  // node:fs gives this one error a positive errno; kept so comparisons carry over
    err.message = `Path is a directory: rm returned EISDIR (is a directory) ${named}`;
    throw err;
  }
  for (const entry of yield* readdir(p)) yield* rm(join(p, entry), { recursive: true, force: options.force });
  try {
    yield* rmdir(p);
  } catch (error) {
    if (!(options.force && isCode(error, 'ENOENT'))) throw error;
  }
}

/** Copies a file's bytes (and its permission bits). `COPYFILE_EXCL` fails if the target exists. */
export function* copyFile(src: PathLike, dest: PathLike, mode = 0): Operation<void> {
  if (typeof mode !== 'number' || !Number.isInteger(mode)) throw invalidArgType('mode', 'an integer', mode);
  const from = yield* open(src, 'r');
  try {
    const st = yield* from.stat();
    const to = yield* open(dest, mode & fsConstants.COPYFILE_EXCL ? 'wx' : 'w', st.mode & 0o7777);
    try {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(st.size, 4096), 1 << 20));
      for (let pos = 0; ; ) {
        const n = yield* from.read(chunk, 0, chunk.length, pos);
        if (n === 0) break;
        yield* to.writeFrom(chunk, 0, n, pos);
        pos += n;
      }
    } finally {
      yield* to.close();
    }
  } finally {
    yield* from.close();
  }
}

/** writeFileAtomic()'s options: writeFile()'s, and which sync makes the new content durable before the rename. */
export interface AtomicWriteOptions extends WriteFileOptions {
  /** fsync (default) or fdatasync the new content before the rename. */
  sync?: 'fsync' | 'fdatasync';
}

/**
 * Replaces `path` with `data` so that a reader — or the file system after a crash at any moment — sees the
 * old content or the new one, never a mix: write a temporary file in the same directory, sync it, rename it
 * over the target (atomic within a file system), then sync the directory so the rename itself is durable.
 * On failure the temporary file is removed and the target is untouched.
 */
export function* writeFileAtomic(path: PathLike, data: Data, options: BufferEncoding | AtomicWriteOptions = {}): Operation<number> {
  const opts = typeof options === 'string' ? { encoding: options } : options;
  const target = toPath(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, opts.encoding ?? 'utf8') : data;
  if (!ArrayBuffer.isView(bytes)) throw invalidArgType('data', 'a string, Buffer, TypedArray or DataView', data);
  const dir = dirname(resolve(target));
  // Under a simulation the name comes from its seed, so the same seed replays the same names.
  const random = currentLoop().driver.random?.(6) ?? randomBytes(6);
  const temp = join(dir, `.${basename(target)}.${Buffer.from(random).toString('hex')}.tmp`);
  let written = 0;
  let renamed = false;
  try {
    const file = yield* open(temp, 'wx', opts.mode ?? 0o666);
    try {
      written = yield* writeAll(file, bytes, 0);  // whole, in calls the kernel takes (over 2 GiB too)
      if (written !== bytes.byteLength) throw systemError(28, 'write', temp);  // a short write: ENOSPC
      if (opts.sync === 'fdatasync') yield* file.datasync();
      else yield* file.sync();
    } finally {
      yield* file.close();
    }
    yield* rename(temp, target);
    renamed = true;
    const d = yield* open(dir, 'r');
    try {
      yield* d.sync();
    } finally {
      yield* d.close();
    }
  } finally {
    if (!renamed) {
      try {
        yield* unlink(temp);
      } catch {
        /* it may never have been created; the original error is what matters */
      }
    }
  }
  return written;
}

