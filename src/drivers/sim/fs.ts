// The simulation's file system: an in-memory POSIX namespace with exactly the operations the native backends
// offer, and a durability model beside it. Every mutation changes the live state at once (what a reader sees)
// and is also logged as not yet durable; fsync/fdatasync of a file makes its data durable, fsync of a directory
// makes the names in it durable. crashImage() builds the file system a crash may leave behind: the durable
// state plus a seed-chosen prefix of what was not yet durable (data cut into block-sized pieces, name changes
// whole). Errors are returned as -errno with the host's numbers (os.constants.errno), as the kernel returns them.
import { constants as osConstants } from 'node:os';
import { constants as fsConstants } from 'node:fs';
import type { SeededRandom } from './random.js';

const E = osConstants.errno;
const { O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND } = fsConstants;
const O_DIRECTORY = fsConstants.O_DIRECTORY ?? 0;
const O_ACCMODE = 3;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** Size of the pieces a crash keeps or loses independently (a page, a typical file system block). */
export const BLOCK_SIZE = 4096;
/** A fixed epoch for timestamps (2026-01-01T00:00:00Z), so the same seed gives the same stat(). */
const EPOCH_NS = 1_767_225_600_000_000_000n;
const NAME_MAX = 255;

/** Data changes of a file since it was last synced, in the order they happened. */
type DataOp = { kind: 'write'; at: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };

interface Inode {
  ino: number;
  dir: boolean;
  mode: number;
  /** Names that link to it (live). */
  nlink: number;
  /** Open descriptors on it: an unlinked file lives until its last close. */
  opens: number;
  freed: boolean;
  /** Live content (files). */
  data: Uint8Array;
  size: number;
  /** Bytes reserved by fallocate, which may reach past the size (keepSize): stat's blocks count them. */
  reserved: number;
  /** Live entries (directories): name → ino, in creation order (what readdir reports). */
  entries: Map<string, number>;
  /** The parent directory (directories), for '..' checks on rename. */
  parent: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthNs: bigint;
  // Durable state.
  durableData: Uint8Array;
  durableSize: number;
  pending: DataOp[];
}

/** One name change: `dir`'s entry `name` now links `ino` (null: removed). A rename is two, made durable together. */
interface NameChange {
  dir: number;
  name: string;
  ino: number | null;
}

/** An open file description. */
export interface OpenFile {
  ino: number;
  readable: boolean;
  writable: boolean;
  append: boolean;
  position: number;
  path: string;
}

/** The size of a simulated disk: total bytes and inodes (ENOSPC beyond either). */
export interface SimFsLimits {
  /** Bytes all files together may hold; beyond it writes are short, then fail with ENOSPC. */
  bytes?: number;
  /** Files and directories (the root included) that may exist; beyond it creating one fails with ENOSPC. */
  inodes?: number;
}

/** What a crash keeps of the data and names that were not durable yet. */
export type CrashKeep = 'seeded' | 'nothing' | 'everything';

/** A file that exists in an image (for building a file system with content). */
export type SimTree = { [name: string]: string | Uint8Array | SimTree };

/** An in-memory POSIX file system with a durability model: what fsync made durable survives a crash image. */
export class SimFs {
  private inodes = new Map<number, Inode>();
  private nextIno = 2;
  /** Durable entries of each directory (by ino). */
  private durableEntries = new Map<number, Map<string, number>>();
  /** Name changes not yet durable, in order; each group becomes durable (or is lost) as a whole. */
  private journal: NameChange[][] = [];
  private usedBytes = 0;
  private liveInodes = 0;
  limits: SimFsLimits = {};
  /** The clock timestamps come from (ms), set by the backend to its virtual clock. */
  clock: () => number = () => 0;
  /** Owner checks as a non-root user would meet them (off when the process runs as root, as the kernel's). */
  readonly enforcePermissions = typeof process.getuid === 'function' && process.getuid() !== 0;
  readonly uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  readonly gid = typeof process.getgid === 'function' ? process.getgid() : 0;
  /** The process's umask when the file system was made, applied to created files as the kernel applies it. */
  umask = typeof process.umask === 'function' ? process.umask() : 0o022;
  static readonly ROOT = 1;

  constructor(tree: SimTree = {}) {
    const root = this.newInode(true, 0o755);
    root.parent = root.ino;
    root.nlink = 1;  // the root has no name in a parent, but its own '.' and '..' count as in the kernel
    this.durableEntries.set(root.ino, new Map());
    this.populate(root, tree);
  }

  private populate(dir: Inode, tree: SimTree): void {
    for (const [name, value] of Object.entries(tree)) {
      if (typeof value === 'string' || value instanceof Uint8Array) {
        const file = this.newInode(false, 0o644);
        const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
        file.data = bytes.slice();
        file.size = bytes.length;
        file.durableData = bytes.slice();
        file.durableSize = bytes.length;
        this.usedBytes += bytes.length;
        this.link(dir, name, file, true);
      } else {
        const sub = this.newInode(true, 0o755);
        sub.parent = dir.ino;
        this.durableEntries.set(sub.ino, new Map());
        this.link(dir, name, sub, true);
        this.populate(sub, value);
      }
    }
  }

  private nowNs(): bigint {
    return EPOCH_NS + BigInt(Math.round(this.clock() * 1e6));
  }

  private newInode(dir: boolean, mode: number): Inode {
    const t = this.nowNs();
    const inode: Inode = {
      ino: this.nextIno === 2 && this.inodes.size === 0 ? SimFs.ROOT : this.nextIno++,
      dir, mode: (dir ? S_IFDIR : S_IFREG) | (mode & 0o7777), nlink: 0, opens: 0, freed: false,
      data: new Uint8Array(0), size: 0, reserved: 0, entries: new Map(), parent: 0,
      mtimeNs: t, ctimeNs: t, birthNs: t, durableData: new Uint8Array(0), durableSize: 0, pending: [],
    };
    this.inodes.set(inode.ino, inode);
    this.liveInodes++;
    return inode;
  }

  private link(dir: Inode, name: string, inode: Inode, durable = false): void {
    dir.entries.set(name, inode.ino);
    inode.nlink++;
    if (inode.dir) dir.nlink++;  // its '..'
    dir.mtimeNs = dir.ctimeNs = this.nowNs();
    if (durable) this.durableEntries.get(dir.ino)!.set(name, inode.ino);
  }

  private unlinkEntry(dir: Inode, name: string): void {
    const inode = this.inodes.get(dir.entries.get(name)!)!;
    dir.entries.delete(name);
    inode.nlink--;
    if (inode.dir) {
      dir.nlink--;
      inode.nlink = 0;
    }
    dir.mtimeNs = dir.ctimeNs = this.nowNs();
    this.maybeFree(inode);
  }

  private maybeFree(inode: Inode): void {
    if (inode.nlink > 0 || inode.opens > 0 || inode.freed) return;
    // Kept in the table: a crash may bring its name back if the unlink was not durable yet.
    inode.freed = true;
    this.usedBytes -= inode.size;
    this.liveInodes--;
  }

  // ---- paths --------------------------------------------------------------------------------------------------

  /** Splits an absolute path; relative paths resolve against the process's working directory, as the kernel's. */
  static components(path: string): string[] {
    const abs = path.startsWith('/') ? path : `${process.cwd().replace(/\\/g, '/')}/${path}`;
    return abs.split('/').filter((c) => c !== '' && c !== '.');
  }

  /** Walks to the directory holding the last component. -errno on failure. */
  private walk(path: string): { parent: Inode; name: string; trailingSlash: boolean } | number {
    const parts = SimFs.components(path);
    let dir = this.inodes.get(SimFs.ROOT)!;
    // '..' is resolved on the way, as the kernel does; a '..' at the root stays at the root.
    const stack: Inode[] = [dir];
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i];
      if (part.length > NAME_MAX) return -E.ENAMETOOLONG;
      if (part === '..') {
        if (stack.length > 1) stack.pop();
        dir = stack[stack.length - 1];
        continue;
      }
      const ino = dir.entries.get(part);
      if (ino === undefined) return -E.ENOENT;
      const next = this.inodes.get(ino)!;
      if (!next.dir) return -E.ENOTDIR;
      if (this.enforcePermissions && (dir.mode & 0o100) === 0) return -E.EACCES;
      stack.push(next);
      dir = next;
    }
    const name = parts.length === 0 ? '' : parts[parts.length - 1];
    if (name.length > NAME_MAX) return -E.ENAMETOOLONG;
    if (name === '..') {
      const up = stack.length > 1 ? stack[stack.length - 2] : stack[0];
      return { parent: up, name: '', trailingSlash: true };
    }
    return { parent: dir, name, trailingSlash: /[\\/]\.?$/.test(path) };
  }

  /** The inode a path names, or -errno. */
  lookup(path: string): Inode | number {
    const w = this.walk(path);
    if (typeof w === 'number') return w;
    if (w.name === '') return w.parent;  // the root, or a path ending in '..'
    const ino = w.parent.entries.get(w.name);
    if (ino === undefined) return -E.ENOENT;
    const inode = this.inodes.get(ino)!;
    if (w.trailingSlash && !inode.dir) return -E.ENOTDIR;
    return inode;
  }

  private mayWriteDir(dir: Inode): boolean {
    return !this.enforcePermissions || (dir.mode & 0o300) === 0o300;
  }

  // ---- operations (results as the kernel returns them: ≥ 0, or -errno) -------------------------------------

  open(path: string, flags: number, mode: number): { file: OpenFile } | number {
    const w = this.walk(path);
    if (typeof w === 'number') return w;
    const access = flags & O_ACCMODE;
    const writable = access === O_WRONLY || access === O_RDWR;
    let inode: Inode;
    const existing = w.name === '' ? w.parent.ino : w.parent.entries.get(w.name);
    if (existing !== undefined) {
      inode = this.inodes.get(existing)!;
      if ((flags & O_CREAT) && (flags & O_EXCL)) return -E.EEXIST;
      if (inode.dir) {
        if (writable || (flags & O_CREAT)) return -E.EISDIR;
      } else {
        if (w.trailingSlash || (flags & O_DIRECTORY)) return -E.ENOTDIR;
        if (this.enforcePermissions) {
          if ((access !== O_WRONLY && (inode.mode & 0o400) === 0) || (writable && (inode.mode & 0o200) === 0)) return -E.EACCES;
        }
        if ((flags & O_TRUNC) && writable) this.truncateInode(inode, 0);
      }
    } else {
      if (!(flags & O_CREAT)) return -E.ENOENT;
      if (w.trailingSlash) return -E.EISDIR;
      if (!this.mayWriteDir(w.parent)) return -E.EACCES;
      if (this.limits.inodes !== undefined && this.liveInodes >= this.limits.inodes) return -E.ENOSPC;
      inode = this.newInode(false, mode & ~this.umask);
      this.link(w.parent, w.name, inode);
      this.journal.push([{ dir: w.parent.ino, name: w.name, ino: inode.ino }]);
    }
    inode.opens++;
    return {
      file: { ino: inode.ino, readable: access !== O_WRONLY, writable, append: (flags & O_APPEND) !== 0, position: 0, path },
    };
  }

  close(file: OpenFile): void {
    const inode = this.inodes.get(file.ino)!;
    inode.opens--;
    this.maybeFree(inode);
  }

  read(file: OpenFile, into: Uint8Array, position: number): number {
    const inode = this.inodes.get(file.ino)!;
    if (inode.dir) return -E.EISDIR;
    if (!file.readable) return -E.EBADF;
    const at = position < 0 ? file.position : position;
    const n = Math.max(0, Math.min(into.length, inode.size - at));
    if (n > 0) into.set(inode.data.subarray(at, at + n));
    if (position < 0) file.position += n;
    return n;
  }

  /** Writes `bytes`, or as many as the space left allows (a short write), or -ENOSPC when none fit. */
  write(file: OpenFile, bytes: Uint8Array, position: number): number {
    const inode = this.inodes.get(file.ino)!;
    if (inode.dir) return -E.EISDIR;
    if (!file.writable) return -E.EBADF;
    const at = file.append ? inode.size : position < 0 ? file.position : position;
    let n = bytes.length;
    const growth = Math.max(0, at + n - inode.size);
    if (this.limits.bytes !== undefined && growth > 0) {
      const room = Math.max(0, this.limits.bytes - this.usedBytes);
      if (growth > room) n = Math.max(0, inode.size + room - at);
      if (n <= 0) return bytes.length === 0 ? 0 : -E.ENOSPC;
    }
    if (n === 0) return 0;
    const piece = bytes.slice(0, n);
    this.ensure(inode, at + n);
    inode.data.set(piece, at);
    if (at + n > inode.size) {
      this.usedBytes += at + n - inode.size;
      inode.size = at + n;
    }
    inode.pending.push({ kind: 'write', at, bytes: piece });
    inode.mtimeNs = inode.ctimeNs = this.nowNs();
    if (position < 0 && !file.append) file.position += n;
    else if (file.append && position < 0) file.position = inode.size;
    return n;
  }

  private ensure(inode: Inode, size: number): void {
    if (inode.data.length >= size) return;
    const grown = new Uint8Array(Math.max(size, inode.data.length * 2, 64));
    grown.set(inode.data.subarray(0, inode.size));
    inode.data = grown;
  }

  private truncateInode(inode: Inode, length: number): void {
    if (length < inode.size) inode.data.fill(0, length, inode.size);
    else this.ensure(inode, length);
    this.usedBytes += length - inode.size;
    inode.size = length;
    inode.pending.push({ kind: 'truncate', length });
    inode.mtimeNs = inode.ctimeNs = this.nowNs();
  }

  ftruncate(file: OpenFile, length: number): number {
    const inode = this.inodes.get(file.ino)!;
    if (inode.dir || !file.writable) return -E.EINVAL;  // Linux: EINVAL for a descriptor not open for writing
    if (length > inode.size && this.limits.bytes !== undefined && length - inode.size > this.limits.bytes - this.usedBytes) return -E.ENOSPC;
    this.truncateInode(inode, length);
    return 0;
  }

  fallocate(file: OpenFile, offset: number, length: number, keepSize: boolean): number {
    const inode = this.inodes.get(file.ino)!;
    if (!file.writable) return -E.EBADF;
    if (inode.dir) return -E.ENODEV;
    const end = offset + length;
    if (end > inode.size && this.limits.bytes !== undefined && end - inode.size > this.limits.bytes - this.usedBytes) return -E.ENOSPC;
    if (!keepSize && end > inode.size) this.truncateInode(inode, end);
    inode.reserved = Math.max(inode.reserved, end);
    return 0;
  }

  /** fsync/fdatasync: a file's data becomes durable; a directory's names do. */
  sync(file: OpenFile): number {
    const inode = this.inodes.get(file.ino)!;
    if (inode.dir) {
      const kept: NameChange[][] = [];
      for (const group of this.journal) {
        if (group.some((c) => c.dir === inode.ino)) this.applyNames(this.durableEntries, group);
        else kept.push(group);
      }
      this.journal = kept;
      return 0;
    }
    // What reaches the disk is the pending changes applied to what was there: after a failed writeback
    // (dropDirty) the live content may hold bytes that no sync will ever write.
    let data = inode.durableData;
    let size = inode.durableSize;
    for (const piece of pieceList(inode.pending)) [data, size] = applyPiece(data, size, piece);
    // Kept with its spare room, not copied to size: a sync per write of a growing log would otherwise copy
    // the whole file each time (nothing else holds this array; a crash image copies it).
    inode.durableData = data;
    inode.durableSize = size;
    inode.pending = [];
    return 0;
  }

  /** The Linux rule after a failed writeback: the error is reported once and the dirty data is never written. */
  dropDirty(file: OpenFile): void {
    const inode = this.inodes.get(file.ino)!;
    inode.pending = [];
  }

  fstat(file: OpenFile, out: BigInt64Array): number {
    this.fillStat(this.inodes.get(file.ino)!, out);
    return 0;
  }

  stat(path: string, out: BigInt64Array): number {
    const inode = this.lookup(path);
    if (typeof inode === 'number') return inode;
    this.fillStat(inode, out);
    return 0;
  }

  private fillStat(inode: Inode, out: BigInt64Array): void {
    const values = [
      1n, BigInt(inode.mode), BigInt(inode.dir ? inode.nlink + 1 : inode.nlink), BigInt(this.uid), BigInt(this.gid), 0n,
      BigInt(BLOCK_SIZE), BigInt(inode.ino), BigInt(inode.dir ? BLOCK_SIZE : inode.size),
      BigInt(Math.ceil((inode.dir ? BLOCK_SIZE : Math.max(inode.size, inode.reserved)) / 512)),
      inode.mtimeNs, inode.mtimeNs, inode.ctimeNs, inode.birthNs,
    ];
    for (let i = 0; i < values.length && i < out.length; i++) out[i] = values[i];
  }

  unlink(path: string): number {
    const w = this.walk(path);
    if (typeof w === 'number') return w;
    if (w.name === '') return -E.EISDIR;
    const ino = w.parent.entries.get(w.name);
    if (ino === undefined) return -E.ENOENT;
    const inode = this.inodes.get(ino)!;
    if (inode.dir) return -E.EISDIR;
    if (w.trailingSlash) return -E.ENOTDIR;
    if (!this.mayWriteDir(w.parent)) return -E.EACCES;
    this.unlinkEntry(w.parent, w.name);
    this.journal.push([{ dir: w.parent.ino, name: w.name, ino: null }]);
    return 0;
  }

  mkdir(path: string, mode: number): number {
    const w = this.walk(path);
    if (typeof w === 'number') return w;
    if (w.name === '' || w.parent.entries.has(w.name)) return -E.EEXIST;
    if (!this.mayWriteDir(w.parent)) return -E.EACCES;
    if (this.limits.inodes !== undefined && this.liveInodes >= this.limits.inodes) return -E.ENOSPC;
    const dir = this.newInode(true, mode & ~this.umask);
    dir.parent = w.parent.ino;
    this.durableEntries.set(dir.ino, new Map());
    this.link(w.parent, w.name, dir);
    this.journal.push([{ dir: w.parent.ino, name: w.name, ino: dir.ino }]);
    return 0;
  }

  rmdir(path: string): number {
    if (/(^|[\\/])\.[\\/]?$/.test(path)) return -E.EINVAL;
    const w = this.walk(path);
    if (typeof w === 'number') return w;
    if (w.name === '') return w.parent.ino === SimFs.ROOT ? -E.EBUSY : -E.ENOTEMPTY;
    const ino = w.parent.entries.get(w.name);
    if (ino === undefined) return -E.ENOENT;
    const inode = this.inodes.get(ino)!;
    if (!inode.dir) return -E.ENOTDIR;
    if (inode.entries.size > 0) return -E.ENOTEMPTY;
    if (!this.mayWriteDir(w.parent)) return -E.EACCES;
    this.unlinkEntry(w.parent, w.name);
    this.journal.push([{ dir: w.parent.ino, name: w.name, ino: null }]);
    return 0;
  }

  rename(from: string, to: string): number {
    const a = this.walk(from);
    if (typeof a === 'number') return a;
    if (a.name === '') return -E.EBUSY;
    const ino = a.parent.entries.get(a.name);
    if (ino === undefined) return -E.ENOENT;
    const b = this.walk(to);
    if (typeof b === 'number') return b;
    if (b.name === '') return -E.EBUSY;
    const moving = this.inodes.get(ino)!;
    if ((a.trailingSlash || b.trailingSlash) && !moving.dir) return -E.ENOTDIR;
    const targetIno = b.parent.entries.get(b.name);
    if (targetIno === ino) return 0;  // the same file: POSIX says do nothing
    if (moving.dir) {
      // Not into itself or a directory below it.
      for (let d = b.parent; ; d = this.inodes.get(d.parent)!) {
        if (d.ino === ino) return -E.EINVAL;
        if (d.ino === SimFs.ROOT) break;
      }
    }
    if (targetIno !== undefined) {
      const target = this.inodes.get(targetIno)!;
      if (moving.dir && !target.dir) return -E.ENOTDIR;
      if (!moving.dir && target.dir) return -E.EISDIR;
      if (target.dir && target.entries.size > 0) return -E.ENOTEMPTY;
    }
    if (!this.mayWriteDir(a.parent) || !this.mayWriteDir(b.parent)) return -E.EACCES;
    if (targetIno !== undefined) this.unlinkEntry(b.parent, b.name);
    a.parent.entries.delete(a.name);
    if (moving.dir) {
      a.parent.nlink--;
      moving.parent = b.parent.ino;
    }
    moving.nlink--;
    this.link(b.parent, b.name, moving);
    a.parent.mtimeNs = a.parent.ctimeNs = this.nowNs();
    this.journal.push([{ dir: b.parent.ino, name: b.name, ino }, { dir: a.parent.ino, name: a.name, ino: null }]);
    return 0;
  }

  /** Entries packed as [uint8 type][name][NUL]… (the native layout); -ENOBUFS when they do not fit. */
  readdir(path: string, into: Uint8Array): number {
    const dir = this.lookup(path);
    if (typeof dir === 'number') return dir;
    if (!dir.dir) return -E.ENOTDIR;
    if (this.enforcePermissions && (dir.mode & 0o400) === 0) return -E.EACCES;
    const encoder = new TextEncoder();
    let at = 0;
    for (const [name, ino] of dir.entries) {
      const bytes = encoder.encode(name);
      if (at + bytes.length + 2 > into.length) return -E.ENOBUFS;
      into[at] = this.inodes.get(ino)!.dir ? 2 : 1;
      into.set(bytes, at + 1);
      into[at + 1 + bytes.length] = 0;
      at += bytes.length + 2;
    }
    return at;
  }

  /** Open descriptions of the file at `path` (of every file without one): a leak check for tests. */
  openCount(path?: string): number {
    if (path !== undefined) {
      const inode = this.lookup(path);
      return typeof inode === 'number' ? 0 : inode.opens;
    }
    let n = 0;
    for (const inode of this.inodes.values()) n += inode.opens;
    return n;
  }

  /** The size of an open file (for callers outside a run that read a whole file). */
  fstatSize(file: OpenFile): number {
    return this.inodes.get(file.ino)!.size;
  }

  /** Sets permission bits (not an operation of the backends; for tests that set up files). */
  chmod(path: string, mode: number): number {
    const inode = this.lookup(path);
    if (typeof inode === 'number') return inode;
    inode.mode = (inode.mode & 0o170000) | (mode & 0o7777);
    inode.ctimeNs = this.nowNs();
    return 0;
  }

  isDirectory(file: OpenFile): boolean {
    return this.inodes.get(file.ino)!.dir;
  }

  // ---- durability and crashes --------------------------------------------------------------------------------

  private applyNames(entries: Map<number, Map<string, number>>, group: NameChange[]): void {
    for (const c of group) {
      let dir = entries.get(c.dir);
      if (dir === undefined) entries.set(c.dir, (dir = new Map()));
      if (c.ino === null) dir.delete(c.name);
      else dir.set(c.name, c.ino);
    }
  }

  /** Whether anything is not yet durable (a crash now could lose something). */
  get hasUnsynced(): boolean {
    if (this.journal.length > 0) return true;
    for (const inode of this.inodes.values()) if (inode.pending.length > 0) return true;
    return false;
  }

  /**
   * The file system a crash now may leave: everything durable, plus — per `keep` — none, all, or a
   * seed-chosen prefix of the name changes (in order, each whole: a rename is done or not) and, per file,
   * a seed-chosen prefix of its unsynced data cut into block-sized pieces.
   */
  crashImage(random: SeededRandom, keep: CrashKeep = 'seeded'): SimFs {
    // Seeded: none, all, or a uniform prefix, a third of the time each. The extremes are where ordering bugs
    // show (the rename kept, the data lost), so they are drawn more often than a uniform choice would.
    const choose = (n: number): number => {
      if (keep === 'nothing' || n === 0) return 0;
      if (keep === 'everything') return n;
      const kind = random.below(3);
      return kind === 0 ? 0 : kind === 1 ? n : random.below(n + 1);
    };
    const entries = new Map<number, Map<string, number>>();
    for (const [ino, dir] of this.durableEntries) entries.set(ino, new Map(dir));
    const names = choose(this.journal.length);
    for (let i = 0; i < names; i++) this.applyNames(entries, this.journal[i]);

    const image = new SimFs();
    image.limits = { ...this.limits };
    image.umask = this.umask;
    image.inodes.clear();
    image.durableEntries.clear();
    image.liveInodes = 0;
    image.nextIno = this.nextIno;
    const visit = (ino: number, parent: number): Inode => {
      const old = this.inodes.get(ino)!;
      const fresh: Inode = {
        ...old, nlink: 0, opens: 0, freed: false, entries: new Map(), parent, pending: [],
      };
      if (!old.dir) {
        const content = new Uint8Array(old.durableData.slice(0, old.durableSize));
        const pieces = pieceList(old.pending);
        const kept = choose(pieces.length);
        let data: Uint8Array = content;
        let size = old.durableSize;
        for (let i = 0; i < kept; i++) [data, size] = applyPiece(data, size, pieces[i]);
        fresh.data = data.slice(0, size);
        fresh.size = size;
        fresh.durableData = fresh.data.slice();
        fresh.durableSize = size;
        image.usedBytes += size;
      }
      image.inodes.set(ino, fresh);
      image.liveInodes++;
      if (old.dir) {
        const durable = new Map<string, number>();
        image.durableEntries.set(ino, durable);
        for (const [name, child] of entries.get(ino) ?? []) {
          if (!this.inodes.has(child)) continue;
          const existing = image.inodes.get(child);
          if (existing !== undefined && existing.dir) continue;  // a directory has one name: keep the first
          const node = existing ?? visit(child, ino);
          fresh.entries.set(name, child);
          durable.set(name, child);
          node.nlink++;
          if (node.dir) fresh.nlink++;
        }
      }
      return fresh;
    };
    visit(SimFs.ROOT, SimFs.ROOT).nlink++;
    image.clock = this.clock;
    return image;
  }

  /** A plain listing of the live tree (paths → content or null for directories), for tests and messages. */
  snapshot(): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    const walk = (ino: number, prefix: string) => {
      const inode = this.inodes.get(ino)!;
      for (const [name, child] of inode.entries) {
        const node = this.inodes.get(child)!;
        const path = `${prefix}/${name}`;
        if (node.dir) {
          out[path] = null;
          walk(child, path);
        } else out[path] = Buffer.from(node.data.subarray(0, node.size)).toString('utf8');
      }
    };
    walk(SimFs.ROOT, '');
    return out;
  }

  /** Creates every missing directory of `path` at once, durable (test setup: a scratch directory). */
  mkdirp(path: string): void {
    let dir = this.inodes.get(SimFs.ROOT)!;
    for (const part of SimFs.components(path)) {
      const ino = dir.entries.get(part);
      if (ino !== undefined) {
        dir = this.inodes.get(ino)!;
        continue;
      }
      const sub = this.newInode(true, 0o755);
      sub.parent = dir.ino;
      this.durableEntries.set(sub.ino, new Map());
      this.link(dir, part, sub, true);
      dir = sub;
    }
  }
}

type Piece = { kind: 'write'; at: number; bytes: Uint8Array } | { kind: 'truncate'; length: number };

/** Unsynced data changes cut at block boundaries: the units a crash keeps or loses. */
function pieceList(ops: DataOp[]): Piece[] {
  const pieces: Piece[] = [];
  for (const op of ops) {
    if (op.kind === 'truncate') {
      pieces.push(op);
      continue;
    }
    let at = op.at;
    let rest = op.bytes;
    while (rest.length > 0) {
      const room = BLOCK_SIZE - (at % BLOCK_SIZE);
      const n = Math.min(room, rest.length);
      pieces.push({ kind: 'write', at, bytes: rest.subarray(0, n) });
      at += n;
      rest = rest.subarray(n);
    }
  }
  return pieces;
}

function applyPiece(data: Uint8Array, size: number, piece: Piece): [Uint8Array, number] {
  if (piece.kind === 'truncate') {
    const out = new Uint8Array(piece.length);
    out.set(data.subarray(0, Math.min(size, piece.length)));
    return [out, piece.length];
  }
  const end = piece.at + piece.bytes.length;
  const newSize = Math.max(size, end);
  // Grown to twice its room, as SimFs.ensure grows live data: an exact fit copied the whole file for every
  // block appended, quadratic in the file's size (the sim stress run of 100,000 operations never finished).
  // Bytes past `size` are never written before `size` passes them, so they are zero, as a hole must read.
  const out = data.length >= newSize ? data : (() => {
    const g = new Uint8Array(Math.max(newSize, data.length * 2));
    g.set(data.subarray(0, size));
    return g;
  })();
  out.set(piece.bytes, piece.at);
  return [out, newSize];
}
