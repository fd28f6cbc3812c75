// Path operations on every available backend, with errors compared field by field with node:fs.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFileAtomic,
  type RunOptions,
} from '../src/index.js';
import { caught, fileTarget, loopMatrix, loopTitle, noSymlinks, runOn, skipTitle, underWine, type LoopKind } from './helpers.js';

function shape(e: unknown): Record<string, unknown> {
  const x = e as Record<string, unknown>;
  return { code: x.code, errno: x.errno, syscall: x.syscall, path: x.path, dest: x.dest, message: (e as Error).message };
}

function ours(kind: LoopKind, options: RunOptions, body: () => Generator<unknown, unknown, unknown>): Promise<Record<string, unknown>> {
  return runOn(kind, function* () {
    try {
      yield* body() as never;
    } catch (e) {
      return shape(e);
    }
    return { code: 'no error' };
  }, options);
}

async function theirs(fn: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await fn();
  } catch (e) {
    return shape(e);
  }
  return { code: 'no error' };
}

for (const c of loopMatrix) {
  describe.skipIf(c.skip !== '')(loopTitle(c), () => {
    const { kind, backend: b } = c;
    // The same bodies on the disk (node:fs) and on the simulation (its own file system): see fileTarget.
    const target = fileTarget(b);
    const opts: RunOptions = target.options;
    const fs = target.fs;
    const scratch = target.scratch;

    it('unlink, rename (replacing), mkdir, rmdir and stat do what node:fs does', async () => {
      const dir = scratch();
      fs.writeFileSync(join(dir, 'a'), 'A');
      fs.writeFileSync(join(dir, 'b'), 'B');
      const r = await runOn(kind, function* () {
        yield* rename(join(dir, 'a'), join(dir, 'b'));  // replaces b
        const st = yield* stat(join(dir, 'b'));
        yield* mkdir(join(dir, 'sub'), { mode: 0o750 });
        const sub = yield* stat(join(dir, 'sub'));
        yield* rmdir(join(dir, 'sub'));
        yield* unlink(join(dir, 'b'));
        return { size: st.size, subIsDir: sub.isDirectory(), subMode: sub.mode & 0o777 };
      }, opts);
      // Modes as node:fs reports them for a directory made the same way (Windows has no mode bits to keep).
      fs.mkdirSync(join(dir, 'twin'), { mode: 0o750 });
      expect(r).toEqual({ size: 1, subIsDir: true, subMode: fs.statSync(join(dir, 'twin')).mode & 0o777 });
      if (process.platform !== 'win32') expect(r.subMode).toBe(0o750 & ~process.umask());
      expect(fs.existsSync(join(dir, 'a'))).toBe(false);
      expect(fs.existsSync(join(dir, 'b'))).toBe(false);
      expect(fs.existsSync(join(dir, 'sub'))).toBe(false);
    });

    const noLinks = target.needsOs('symbolic links') || noSymlinks;
    it.skipIf(noLinks !== '')(skipTitle('stat follows a symbolic link, lstat does not, unlink removes the link', noLinks), async () => {
      const dir = scratch();
      fs.writeFileSync(join(dir, 'b'), 'B');
      fs.symlinkSync(join(dir, 'b'), join(dir, 'link'));
      const r = await runOn(kind, function* () {
        const viaLink = yield* stat(join(dir, 'link'));
        const linkItself = yield* lstat(join(dir, 'link'));
        yield* unlink(join(dir, 'link'));
        return { followed: viaLink.isFile(), size: viaLink.size, isLink: linkItself.isSymbolicLink() };
      }, opts);
      expect(r).toEqual({ followed: true, size: 1, isLink: true });
      expect(fs.existsSync(join(dir, 'link'))).toBe(false);
      expect(fs.readFileSync(join(dir, 'b'), 'utf8')).toBe('B');
    });

    it('errors match node:fs field by field: ENOENT, EEXIST, ENOTEMPTY, EISDIR, ENOTDIR', async () => {
      const dir = scratch();
      const file = join(dir, 'file');
      fs.writeFileSync(file, 'x');
      fs.mkdirSync(join(dir, 'full'));
      fs.writeFileSync(join(dir, 'full', 'inside'), 'y');
      const missing = join(dir, 'missing');
      const cases: [string, () => Generator<unknown, unknown, unknown>, () => Promise<unknown>][] = [
        ['unlink missing', () => unlink(missing), () => fsp.unlink(missing)],
        ['unlink a directory', () => unlink(join(dir, 'full')), () => fsp.unlink(join(dir, 'full'))],
        ['rename missing', () => rename(missing, join(dir, 'x')), () => fsp.rename(missing, join(dir, 'x'))],
        ['mkdir existing', () => mkdir(file), () => fsp.mkdir(file)],
        ['mkdir under a file', () => mkdir(join(file, 'sub')), () => fsp.mkdir(join(file, 'sub'))],
        ['rmdir not empty', () => rmdir(join(dir, 'full')), () => fsp.rmdir(join(dir, 'full'))],
        ['rmdir a file', () => rmdir(file), () => fsp.rmdir(file)],
        ['stat missing', () => stat(missing), () => fsp.stat(missing)],
        ['lstat missing', () => lstat(missing), () => fsp.lstat(missing)],
        ['readdir missing', () => readdir(missing), () => fsp.readdir(missing)],
        ['readdir a file', () => readdir(file), () => fsp.readdir(file)],
        ['rm missing', () => rm(missing), () => fsp.rm(missing)],
        ['rm a directory without recursive', () => rm(join(dir, 'full')), () => fsp.rm(join(dir, 'full'))],
        ['copyFile onto existing with COPYFILE_EXCL', () => copyFile(file, join(dir, 'full', 'inside'), fs.constants.COPYFILE_EXCL),
          () => fsp.copyFile(file, join(dir, 'full', 'inside'), fs.constants.COPYFILE_EXCL)],
      ];
      for (const [label, mine, node] of cases) {
        const a = await ours(kind, opts, mine);
        const n = await theirs(node);
        // node:fs's copyFile is one system call (copyfile) where ours opens the target with O_EXCL.
        if (label.startsWith('copyFile')) {
          expect(a.code, label).toBe(n.code);
          continue;
        }
        expect(a, label).toEqual(n);
      }
    });

    it('mkdir recursive returns the first directory created; rm recursive removes a tree; force ignores missing', async () => {
      const dir = scratch();
      const deep = join(dir, 'a', 'b', 'c');
      const r = await runOn(kind, function* () {
        const first = yield* mkdir(deep, { recursive: true });
        const again = yield* mkdir(deep, { recursive: true });
        for (let i = 0; i < 20; i++) {
          const f = yield* open(join(deep, `f${i}`), 'w');
          yield* f.write(`${i}`);
          yield* f.close();
        }
        yield* mkdir(join(dir, 'a', 'b', 'empty'));
        yield* rm(join(dir, 'a'), { recursive: true });
        yield* rm(join(dir, 'a'), { recursive: true, force: true });
        return { first, again };
      }, opts);
      expect(r).toEqual({ first: join(dir, 'a'), again: undefined });
      expect(fs.existsSync(join(dir, 'a'))).toBe(false);
    });

    it('readdir lists names and types for 0, 1 and 3,000 entries (growing its buffer), never . or ..', async () => {
      const dir = scratch();
      fs.mkdirSync(join(dir, 'empty'));
      fs.mkdirSync(join(dir, 'one'));
      fs.writeFileSync(join(dir, 'one', 'only'), '');
      fs.mkdirSync(join(dir, 'many'));
      const names = Array.from({ length: 3000 }, (_, i) => `entry-with-a-longish-name-${i}`);
      for (const n of names) fs.writeFileSync(join(dir, 'many', n), '');
      fs.mkdirSync(join(dir, 'many', 'subdir'));
      const r = await runOn(kind, function* () {
        const empty = yield* readdir(join(dir, 'empty'));
        const one = yield* readdir(join(dir, 'one'));
        const many = yield* readdir(join(dir, 'many'), { withFileTypes: true });
        return { empty, one, many: many.map((d) => [d.name, d.isFile(), d.isDirectory(), d.isSymbolicLink()] as const) };
      }, opts);
      expect(r.empty).toEqual([]);
      expect(r.one).toEqual(['only']);
      expect(r.many.length).toBe(3001);
      expect(new Set(r.many.map((m) => m[0]))).toEqual(new Set(fs.readdirSync(join(dir, 'many'))));
      expect(r.many.find((m) => m[0] === 'subdir')).toEqual(['subdir', false, true, false]);
      expect(r.many.find((m) => m[0] === names[7])).toEqual([names[7], true, false, false]);
    });

    it.skipIf(noLinks !== '')(skipTitle('readdir reports a dangling symbolic link as a link', noLinks), async () => {
      const dir = scratch();
      fs.writeFileSync(join(dir, 'file'), '');
      fs.symlinkSync('nowhere', join(dir, 'dangling'));
      const r = await runOn(kind, function* () {
        const list = yield* readdir(dir, { withFileTypes: true });
        return list.map((d) => [d.name, d.isFile(), d.isDirectory(), d.isSymbolicLink()] as const).sort();
      }, opts);
      expect(r).toEqual([['dangling', false, false, true], ['file', true, false, false]]);
    });

    it('copyFile copies bytes and permission bits', async () => {
      const dir = scratch();
      const src = join(dir, 'src.bin');
      const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0);
      for (let i = 0; i < data.length; i += 997) data[i] = i & 0xff;
      fs.writeFileSync(src, data, { mode: 0o640 });
      await runOn(kind, function* () {
        yield* copyFile(src, join(dir, 'dst.bin'));
      }, opts);
      expect(fs.readFileSync(join(dir, 'dst.bin')).equals(data)).toBe(true);
      // The copy has the source's permission bits as node:fs reports them (Windows keeps only read-only).
      expect(fs.statSync(join(dir, 'dst.bin')).mode & 0o777).toBe(fs.statSync(src).mode & 0o777);
      if (process.platform !== 'win32') expect(fs.statSync(src).mode & 0o777).toBe(0o640 & ~process.umask());
    });

    it('allocate grows the size', async () => {
      const path = join(scratch(), 'alloc.bin');
      const r = await runOn(kind, function* () {
        const f = yield* open(path, 'w+');
        yield* f.allocate(0, 1 << 20);
        yield* f.allocate(0, 4096);  // inside the file already: nothing changes
        const grown = yield* f.stat();
        yield* f.close();
        return grown.size;
      }, opts);
      expect(r).toBe(1 << 20);
      expect(fs.statSync(path).size).toBe(1 << 20);
    });

    const noKeepSize = underWine ? 'Wine 8 answers the allocation size request (FileAllocationInfo) with ENOTSUP' : '';
    it.skipIf(noKeepSize !== '')(skipTitle('allocate reserves space: it grows the size, or keeps it with keepSize', noKeepSize), async () => {
      const path = join(scratch(), 'alloc.bin');
      const r = await runOn(kind, function* () {
        const f = yield* open(path, 'w+');
        yield* f.allocate(0, 1 << 20);
        const grown = yield* f.stat();
        yield* f.allocate(1 << 20, 1 << 20, { keepSize: true });
        const kept = yield* f.stat();
        yield* f.close();
        return { grownSize: grown.size, keptSize: kept.size, blocksGrew: kept.blocks > grown.blocks };
      }, opts);
      expect(r).toEqual({ grownSize: 1 << 20, keptSize: 1 << 20, blocksGrew: true });
    });

    it('writeFileAtomic replaces the content and leaves no temporary file; a failure leaves the target untouched', async () => {
      const dir = scratch();
      const target = join(dir, 'config.json');
      fs.writeFileSync(target, '{"v":1}');
      const r = await runOn(kind, function* () {
        const n = yield* writeFileAtomic(target, '{"v":2}');
        const content = yield* readFile(target, 'utf8');
        let failure = '';
        try {
          yield* writeFileAtomic(join(dir, 'no', 'such', 'dir', 'x'), 'data');
        } catch (e) {
          failure = (e as { code: string }).code;
        }
        return { n, content, failure };
      }, opts);
      expect(r).toEqual({ n: 7, content: '{"v":2}', failure: 'ENOENT' });
      expect(fs.readdirSync(dir)).toEqual(['config.json']);
    });
  });
}

describe('bad arguments', () => {
  it('paths with NUL bytes and non-string paths are refused before any system call', () => {
    const err = caught(() => unlink('a\u0000b').next());
    expect(err.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(caught(() => rename(42 as never, 'x').next()).code).toBe('ERR_INVALID_ARG_TYPE');
  });
});
