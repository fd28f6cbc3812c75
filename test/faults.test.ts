// Faults: each surfaces as a typed, Node-style error (code, errno, syscall, path) with nothing lost beyond what
// the error reports, and the loop keeps working after it: ENOSPC (a small tmpfs), EROFS (a read-only mount),
// EISDIR, ENOTDIR, EBADF, EMFILE (a child under a low `ulimit -n`), and io_uring refused at setup. Mounting
// needs root; without it those tests are skipped and say why.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backend, mkdir, open, readdir, readFile, rename, rmdir, run, stats, unlink, writeFile, type RunOptions,
} from '../src/index.js';
import { fileTarget, loopMatrix, loopTitle, missingBackend, runOn, scratch, skipTitle, uvErrno } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'src', 'index.js');

type Caught = { name: string; code?: string; errno?: number; syscall?: string; path?: string; message: string } | null;
function* attempt(body: () => Generator<unknown, unknown, unknown>): Generator<unknown, Caught, unknown> {
  try {
    yield* body();
    return null;
  } catch (e) {
    const err = e as Error & Record<string, unknown>;
    return { name: err.name, code: err.code as string, errno: err.errno as number, syscall: err.syscall as string, path: err.path as string, message: err.message };
  }
}
// forceUringErrno takes the kernel's positive errno; errors carry Node's negative code (libuv's on Windows).
const EPERM = constants.errno.EPERM;
const ENOSYS = constants.errno.ENOSYS;
const errnos: Record<string, number> = Object.fromEntries(
  ['ENOSPC', 'EROFS', 'EISDIR', 'ENOTDIR', 'ENOENT', 'EBADF', 'EMFILE'].map((code) => [code, uvErrno(code)]),
);
function expectSystemError(c: Caught, code: string, syscall: string, path?: string) {
  expect(c, `expected ${code}`).not.toBe(null);
  expect(c!.code).toBe(code);
  expect(c!.errno).toBe(errnos[code]);
  expect(c!.syscall).toBe(syscall);
  if (path !== undefined) expect(c!.path).toBe(path);
  expect(c!.message.startsWith(`${code}: `)).toBe(true);
}

// Mounts (root only): a 256 KiB tmpfs for ENOSPC, one with 4 inodes for ENOSPC on create, and one remounted
// read-only for EROFS.
let fullDisk = '', fewInodesDisk = '', readOnly = '', mountSkip = '';
const mounted: string[] = [];
beforeAll(() => {
  try {
    fullDisk = scratch('corio-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', fullDisk], { stdio: 'pipe' });
    mounted.push(fullDisk);
    fewInodesDisk = scratch('corio-inodes-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,nr_inodes=4', 'tmpfs', fewInodesDisk], { stdio: 'pipe' });
    mounted.push(fewInodesDisk);
    readOnly = scratch('corio-ro-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', readOnly], { stdio: 'pipe' });
    mounted.push(readOnly);
    fs.writeFileSync(join(readOnly, 'existing.txt'), 'read-only content\n');
    fs.mkdirSync(join(readOnly, 'dir'));
    execFileSync('mount', ['-o', 'remount,ro', readOnly], { stdio: 'pipe' });
  } catch (e) {
    mountSkip = `cannot mount a tmpfs here (${(e as Error).message.split('\n')[0]}); run as root to test ENOSPC and EROFS`;
    console.log(`[corio tests] ENOSPC/EROFS tests skipped: ${mountSkip}`);
  }
});
afterAll(() => {
  for (const m of mounted.reverse()) execFileSync('umount', [m]);
});

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    // The same bodies on the disk (node:fs) and on the simulation (its own file system): see fileTarget.
    // On the simulation the small disks are file systems of its own with the same limits (faults.space).
    const target = fileTarget(b);
    const fs = target.fs;
    const scratch = target.scratch;
    const simSpace = target.simulated ? fileTarget(b, { space: { bytes: 256 << 10 } }) : null;
    // The root and the scratch path's directories (/tmp, /tmp/corio-test-…) are inodes too: 3 files fit.
    const simInodes = target.simulated ? fileTarget(b, { space: { inodes: 6 } }) : null;
    const spaceDir = simSpace ? simSpace.scratch() : '';
    const inodeDir = simInodes ? simInodes.scratch() : '';

    it('ENOSPC: writeFile and a handle write on a full disk are typed errors; what the error does not report is not in the file; the loop goes on', async (ctx) => {
      if (mountSkip && !simSpace) return ctx.skip(mountSkip);
      const full = spaceDir || fullDisk;
      const opts: RunOptions = simSpace?.options ?? target.options;
      const big = join(full, `big-${b.name}`);
      const partial = join(full, `partial-${b.name}`);
      const r = await runOn(kind, function* () {
        // writeFile goes on after a short write, as node:fs/promises' does, so the full disk is an error.
        const whole = yield* attempt(function* () { yield* writeFile(big, Buffer.alloc(1 << 20, 1)); });
        yield* unlink(big);
        // A handle write larger than the disk either reports the bytes that fit or fails with ENOSPC.
        const f = yield* open(partial, 'w');
        let written = -1;
        const cut = yield* attempt(function* () { written = yield* f.write(Buffer.alloc(512 << 10, 2)); });
        const sync = yield* attempt(function* () { yield* f.datasync(); });
        yield* f.close();
        const size = (yield* readFile(partial)).length;
        yield* unlink(partial);
        // After the failure the same loop still writes and reads files.
        yield* writeFile(join(full, `after-${b.name}`), 'fine');
        const after = yield* readFile(join(full, `after-${b.name}`), 'utf8');
        yield* unlink(join(full, `after-${b.name}`));
        return { whole, cut, written, sync, size, after, ioInFlight: stats().ioInFlight };
      }, opts);
      expectSystemError(r.whole, 'ENOSPC', 'write');
      if (r.cut !== null) {
        expectSystemError(r.cut, 'ENOSPC', 'write');
        expect(r.size).toBe(0);
      } else {
        expect(r.written).toBeGreaterThan(0);
        expect(r.written).toBeLessThan(512 << 10);
        expect(r.size).toBe(r.written);  // exactly what was reported reached the file
      }
      expect(r.sync).toBe(null);
      expect(r.after).toBe('fine');
      expect(r.ioInFlight).toBe(0);
    });

    it('ENOSPC: creating a file on a file system with no inodes left is a typed open error', async (ctx) => {
      if (mountSkip && !simInodes) return ctx.skip(mountSkip);
      const fewInodes = inodeDir || fewInodesDisk;
      const opts: RunOptions = simInodes?.options ?? target.options;
      const r = await runOn(kind, function* () {
        const made: string[] = [];
        let failure: Caught = null;
        for (let i = 0; i < 16 && failure === null; i++) {
          const p = join(fewInodes, `${b.name}-${i}`);
          failure = yield* attempt(function* () { yield* writeFile(p, 'x'); });
          if (failure === null) made.push(p);
        }
        for (const p of made) yield* unlink(p);
        return { failure, made: made.length };
      }, opts);
      expectSystemError(r.failure, 'ENOSPC', 'open');
      expect(r.failure!.path).toContain(fewInodes);
      expect(r.made).toBeLessThan(16);
    });

    const opts: RunOptions = target.options;

    it('EROFS: writing, creating, renaming and removing on a read-only mount are typed errors; reading works', async (ctx) => {
      if (target.simulated) return ctx.skip(target.needsOs('read-only mounts'));
      if (mountSkip) return ctx.skip(mountSkip);
      const existing = join(readOnly, 'existing.txt');
      const r = await runOn(kind, function* () {
        return {
          create: yield* attempt(function* () { yield* open(join(readOnly, 'new.txt'), 'w'); }),
          openForWrite: yield* attempt(function* () { yield* open(existing, 'r+'); }),
          unlink: yield* attempt(function* () { yield* unlink(existing); }),
          rename: yield* attempt(function* () { yield* rename(existing, join(readOnly, 'moved.txt')); }),
          mkdir: yield* attempt(function* () { yield* mkdir(join(readOnly, 'newdir')); }),
          rmdir: yield* attempt(function* () { yield* rmdir(join(readOnly, 'dir')); }),
          read: yield* readFile(existing, 'utf8'),
        };
      }, opts);
      expectSystemError(r.create, 'EROFS', 'open', join(readOnly, 'new.txt'));
      expectSystemError(r.openForWrite, 'EROFS', 'open', existing);
      expectSystemError(r.unlink, 'EROFS', 'unlink', existing);
      expectSystemError(r.rename, 'EROFS', 'rename', existing);
      expectSystemError(r.mkdir, 'EROFS', 'mkdir');
      expectSystemError(r.rmdir, 'EROFS', 'rmdir');
      expect(r.read).toBe('read-only content\n');
      expect(fs.readdirSync(readOnly).sort()).toEqual(['dir', 'existing.txt']);
    });

    it('EISDIR and ENOTDIR: typed errors naming the call and the path', async () => {
      const dir = scratch();
      const file = join(dir, 'file.txt');
      fs.writeFileSync(file, 'data');
      const r = await runOn(kind, function* () {
        const d = yield* open(dir, 'r');
        const readDir = yield* attempt(function* () { yield* d.read(Buffer.alloc(16), 0, 16, 0); });
        yield* d.close();
        return {
          openDirForWrite: yield* attempt(function* () { yield* open(dir, 'w'); }),
          readDir,
          readFileOfDir: yield* attempt(function* () { yield* readFile(dir); }),
          underFile: yield* attempt(function* () { yield* open(join(file, 'x'), 'w'); }),
          readdirOfFile: yield* attempt(function* () { yield* readdir(file); }),
          rmdirOfFile: yield* attempt(function* () { yield* rmdir(file); }),
        };
      }, opts);
      expectSystemError(r.openDirForWrite, 'EISDIR', 'open', dir);
      expectSystemError(r.readDir, 'EISDIR', 'read');
      expect(r.readFileOfDir?.code).toBe('EISDIR');
      // A path through a file: ENOTDIR on POSIX, ENOENT on Windows — whatever node:fs says here.
      const nodeUnderFile = (() => {
        try {
          fs.closeSync(fs.openSync(join(file, 'x'), 'w'));
          return 'no error';
        } catch (e) {
          return String((e as NodeJS.ErrnoException).code);
        }
      })();
      expectSystemError(r.underFile, nodeUnderFile, 'open', join(file, 'x'));
      expectSystemError(r.readdirOfFile, 'ENOTDIR', 'scandir', file);
      // rmdir of a file: ENOTDIR on POSIX (and the simulation); node:fs on Windows says ENOENT (ERROR_DIRECTORY).
      expectSystemError(r.rmdirOfFile, process.platform === 'win32' && !target.simulated ? 'ENOENT' : 'ENOTDIR', 'rmdir', file);
      expect(fs.readFileSync(file, 'utf8')).toBe('data');
    });

    // On Windows corio's descriptors are its own handle table (native/core/win/fd.h), not the C runtime's:
    // node's closeSync(fd) would close some other file — in a vitest fork, descriptor 3 is the IPC channel.
    const ownTable = process.platform === 'win32' ? 'corio\'s descriptors on Windows are its own handle table, which node:fs cannot close'
      : target.needsOs('descriptors node:fs could close behind its back');
    it.skipIf(ownTable !== '')(skipTitle('EBADF: a descriptor closed behind corio\'s back gives typed errors from the kernel; a closed handle refuses at once', ownTable), async () => {
      const path = join(scratch(), 'ebadf.txt');
      const r = await runOn(kind, function* () {
        const f = yield* open(path, 'w');
        yield* f.write('kept');
        fs.closeSync(f.fd);  // closed behind corio's back (nothing else opens in between)
        const write = yield* attempt(function* () { yield* f.write('lost', 4); });
        const sync = yield* attempt(function* () { yield* f.sync(); });
        const close = yield* attempt(function* () { yield* f.close(); });
        const g = yield* open(path, 'r');
        yield* g.close();
        const afterClose = yield* attempt(function* () { yield* g.read(Buffer.alloc(4), 0, 4, 0); });
        const doubleClose = yield* attempt(function* () { yield* g.close(); });
        return { write, sync, close, afterClose, doubleClose, ioInFlight: stats().ioInFlight };
      }, opts);
      expectSystemError(r.write, 'EBADF', 'write');
      expectSystemError(r.sync, 'EBADF', 'fsync');
      expectSystemError(r.close, 'EBADF', 'close');
      expect(r.afterClose?.code).toBe('EBADF');
      expect(r.doubleClose).toBe(null);  // a second close() is a no-op, as node:fs/promises' FileHandle.close()
      expect(r.ioInFlight).toBe(0);
      expect(fs.readFileSync(path, 'utf8')).toBe('kept');  // the failed write added nothing
    });

    // On the simulation, EMFILE is a fault (maxOpenFiles): test/sim.test.ts.
    const noUlimit = process.platform === 'win32' ? 'Windows has no ulimit -n (nor the bash that sets it)'
      : target.needsOs('ulimit -n in a child process');
    it.skipIf(noUlimit !== '')(skipTitle('EMFILE: under a low ulimit -n, opens fail with a typed EMFILE and the loop keeps working after closing some', noUlimit), () => {
      if (!fs.existsSync(entry)) throw new Error('dist/ is not built: run npm install (or npx tsc)');
      const dir = scratch();
      const res = spawnSync('bash', ['-c', 'ulimit -n 96 && exec "$0" "$@"', process.execPath, join(root, 'test', 'fixtures', 'emfile-child.mjs'), b.name, dir, entry], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(res.error?.message ?? '', res.stderr).toBe('');
      expect(res.status, res.stderr).toBe(0);
      const r = JSON.parse(res.stdout.trim().split('\n').pop()!);
      expect(r.opened).toBeGreaterThan(10);
      expect(r.opened).toBeLessThan(96);
      expect(r.error.code).toBe('EMFILE');
      expect(r.error.errno).toBe(uvErrno('EMFILE'));
      expect(r.error.syscall).toBe('open');
      expect(r.error.path).toBe(`${dir}/f${r.opened}`);
      expect(r.text).toBe('still working\n');
      expect([r.ioInFlight, r.nativeInFlight]).toEqual([0, 0]);
      // Every open that succeeded made its file; the failed one made none.
      expect(fs.existsSync(join(dir, `f${r.opened}`))).toBe(false);
      expect(fs.existsSync(join(dir, `f${r.opened - 1}`))).toBe(true);
    });
  });
}

describe.skipIf(missingBackend('uring') !== '')(skipTitle('io_uring refused at setup', missingBackend('uring')), () => {
  for (const [name, errno] of [['EPERM', EPERM], ['ENOSYS', ENOSYS]] as const) {
    it(`${name}: auto falls back to epoll, says why, and file I/O works there`, () => {
      const path = join(scratch(), `fallback-${name}.txt`);
      const r = run(function* () {
        yield* writeFile(path, 'through the fallback');
        return { info: backend(), text: yield* readFile(path, 'utf8'), backend: stats().backend };
      }, { backend: 'auto', native: { forceUringErrno: errno } });
      expect(r.info.name).toBe('epoll');
      expect(r.backend).toBe('epoll');
      expect(r.info.reason).toContain('io_uring unavailable');
      expect(r.info.reason).toContain(name);
      expect(r.text).toBe('through the fallback');
    });
  }

  it('CORIO_BACKEND=uring with io_uring refused is a typed error, and a later run still works', () => {
    const saved = process.env.CORIO_BACKEND;
    process.env.CORIO_BACKEND = 'uring';
    try {
      let err: (Error & { code?: string }) | undefined;
      try {
        run(function* () {}, { native: { forceUringErrno: EPERM } });
      } catch (e) {
        err = e as Error & { code?: string };
      }
      expect(err?.code).toBe('ERR_CORIO_BACKEND_UNAVAILABLE');
    } finally {
      if (saved === undefined) delete process.env.CORIO_BACKEND;
      else process.env.CORIO_BACKEND = saved;
    }
    expect(run(function* () { return backend().name; }, { backend: 'epoll' })).toBe('epoll');
  });
});
