// The synchronous node:fs calls file tests use to set up and inspect files, over a simulated file system, so
// the same test body runs on a native backend (against node:fs and the disk) and on the simulation (against
// its SimFs). Errors are node:fs-shaped (systemError), from the simulation's own -errno results.
import { Buffer } from 'node:buffer';
import { constants } from 'node:fs';
import { systemError } from '../src/core/errors.js';
import { SimFs } from '../src/index.js';
import type { OpenFile } from '../src/drivers/sim/fs.js';

const STAT_FIELDS = 14;

/** The part of node:fs's Stats the tests read. */
export interface HostStats {
  size: number;
  dev: number;
  mtimeMs: number;
  mode: number;
  nlink: number;
  ino: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

/** What a file test calls on "the host": node:fs itself on a native backend, this over a SimFs on 'sim'. */
export interface HostFs {
  readonly constants: typeof constants;
  readFileSync(path: string): Buffer;
  readFileSync(path: string, encoding: BufferEncoding | { encoding: BufferEncoding }): string;
  writeFileSync(path: string, data: string | Uint8Array, options?: unknown): void;
  appendFileSync(path: string, data: string | Uint8Array): void;
  existsSync(path: string): boolean;
  mkdirSync(path: string, options?: { recursive?: boolean; mode?: number } | number): void;
  statSync(path: string): HostStats;
  readdirSync(path: string): string[];
  unlinkSync(path: string): void;
  rmdirSync(path: string): void;
  renameSync(from: string, to: string): void;
  chmodSync(path: string, mode: number): void;
  openSync(path: string, flags?: string | number, mode?: number): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  writeSync(fd: number, buffer: Uint8Array | string): number;
  closeSync(fd: number): void;
}

const flagTable: Record<string, number> = {
  r: constants.O_RDONLY,
  'r+': constants.O_RDWR,
  w: constants.O_TRUNC | constants.O_CREAT | constants.O_WRONLY,
  wx: constants.O_TRUNC | constants.O_CREAT | constants.O_WRONLY | constants.O_EXCL,
  'w+': constants.O_TRUNC | constants.O_CREAT | constants.O_RDWR,
  a: constants.O_APPEND | constants.O_CREAT | constants.O_WRONLY,
};

export class SimHostFs implements HostFs {
  readonly constants = constants;
  private fds = new Map<number, OpenFile>();
  private nextFd = 1000;

  /**
   * `mirror`: set-up calls (writes, mkdir, unlink, rename, chmod) also go to the real disk at the same paths,
   * so a test that compares an error with what node:fs does there compares the simulation with the kernel.
   */
  constructor(
    readonly sim: SimFs,
    private readonly mirror: typeof import('node:fs') | null = null,
  ) {}

  private check<T>(result: T | number, syscall: string, path?: string, dest?: string): T {
    if (typeof result === 'number' && result < 0) throw systemError(-result, syscall, path, dest);
    return result as T;
  }

  private openFile(path: string, flags: number, mode = 0o666, syscall = 'open'): OpenFile {
    return this.check(this.sim.open(path, flags, mode), syscall, path).file;
  }

  readFileSync(path: string): Buffer;
  readFileSync(path: string, encoding: BufferEncoding | { encoding: BufferEncoding }): string;
  readFileSync(path: string, encoding?: BufferEncoding | { encoding: BufferEncoding }): Buffer | string {
    const file = this.openFile(path, constants.O_RDONLY);
    try {
      if (this.sim.isDirectory(file)) throw systemError(21, 'read');
      const out = new Uint8Array(this.sim.fstatSize(file));
      this.sim.read(file, out, 0);
      const b = Buffer.from(out);
      const enc = typeof encoding === 'string' ? encoding : encoding?.encoding;
      return enc ? b.toString(enc) : b;
    } finally {
      this.sim.close(file);
    }
  }

  writeFileSync(path: string, data: string | Uint8Array, options?: unknown): void {
    this.mirror?.writeFileSync(path, data, options as never);
    const opts = (options ?? {}) as { flag?: string; mode?: number };
    const flag = opts.flag ?? 'w';
    const file = this.openFile(path, flagTable[flag] ?? flagTable.w, opts.mode ?? 0o666);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      this.check(this.sim.write(file, bytes, file.append ? -1 : 0), 'write');
      this.sim.sync(file);  // set-up state: durable, as if it had been there before the test
    } finally {
      this.sim.close(file);
    }
  }

  appendFileSync(path: string, data: string | Uint8Array): void {
    this.writeFileSync(path, data, { flag: 'a' });
  }

  existsSync(path: string): boolean {
    return typeof this.sim.lookup(path) !== 'number';
  }

  mkdirSync(path: string, options?: { recursive?: boolean; mode?: number } | number): void {
    this.mirror?.mkdirSync(path, options);
    const opts = typeof options === 'number' ? { mode: options } : (options ?? {});
    if (opts.recursive) return this.sim.mkdirp(path);
    this.check(this.sim.mkdir(path, opts.mode ?? 0o777), 'mkdir', path);
  }

  statSync(path: string): HostStats {
    const raw = new BigInt64Array(STAT_FIELDS);
    this.check(this.sim.stat(path, raw), 'stat', path);
    const mode = Number(raw[1]);
    return {
      size: Number(raw[8]), dev: Number(raw[0]), mtimeMs: Number(raw[11]) / 1e6, mode, nlink: Number(raw[2]), ino: Number(raw[7]),
      isFile: () => (mode & 0o170000) === 0o100000,
      isDirectory: () => (mode & 0o170000) === 0o040000,
    };
  }

  readdirSync(path: string): string[] {
    const buf = new Uint8Array(1 << 20);
    const used = this.check(this.sim.readdir(path, buf), 'scandir', path);
    const names: string[] = [];
    const b = Buffer.from(buf.buffer, 0, used);
    for (let at = 0; at < used; ) {
      const end = b.indexOf(0, at + 1);
      names.push(b.toString('utf8', at + 1, end));
      at = end + 1;
    }
    return names;
  }

  unlinkSync(path: string): void {
    this.mirror?.rmSync(path, { force: true });
    this.check(this.sim.unlink(path), 'unlink', path);
  }

  rmdirSync(path: string): void {
    this.mirror?.rmSync(path, { recursive: true, force: true });
    this.check(this.sim.rmdir(path), 'rmdir', path);
  }

  renameSync(from: string, to: string): void {
    try { this.mirror?.renameSync(from, to); } catch { /* the simulation's own answer is what counts */ }
    this.check(this.sim.rename(from, to), 'rename', from, to);
  }

  chmodSync(path: string, mode: number): void {
    try { this.mirror?.chmodSync(path, mode); } catch { /* as above */ }
    this.check(this.sim.chmod(path, mode), 'chmod', path);
  }

  openSync(path: string, flags: string | number = 'r', mode?: number): number {
    const numeric = typeof flags === 'number' ? flags : flagTable[flags];
    const file = this.openFile(path, numeric, mode);
    const fd = this.nextFd++;
    this.fds.set(fd, file);
    return fd;
  }

  private fd(fd: number, syscall: string): OpenFile {
    const f = this.fds.get(fd);
    if (f === undefined) throw systemError(9, syscall);
    return f;
  }

  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
    const f = this.fd(fd, 'read');
    return this.check(this.sim.read(f, buffer.subarray(offset, offset + length), position ?? -1), 'read');
  }

  writeSync(fd: number, buffer: Uint8Array | string): number {
    const f = this.fd(fd, 'write');
    return this.check(this.sim.write(f, typeof buffer === 'string' ? Buffer.from(buffer) : buffer, -1), 'write');
  }

  closeSync(fd: number): void {
    const f = this.fd(fd, 'close');
    this.fds.delete(fd);
    this.sim.close(f);
  }
}
