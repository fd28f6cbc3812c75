// The API reference, docs/api.md, is generated from the doc comments of src/index.ts's exports by
// scripts/api-docs.mjs. This fails when an export has no doc comment or the file is stale (regenerate it with
// `npm run docs:api`), and checks on a small made-up module that the generator sees what it claims to.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error a plain ESM script without declarations (vitest loads it; tsc does not check test/)
import { apiFile, collect, render, root } from '../scripts/api-docs.mjs';
import { scratch } from './helpers.js';

interface Entry { name: string; kind: string; module: string; code: string; doc: string; members: { line: string; doc: string }[] }
type Collected = { entries: Entry[]; undocumented: string[] };

let api: Collected;
beforeAll(() => {
  api = collect() as Collected;
}, 120_000);

describe('the API reference (docs/api.md)', () => {
  it('every public export of src/index.ts has a doc comment', () => {
    expect(api.undocumented).toEqual([]);
    expect(api.entries.length).toBeGreaterThan(100);
  });

  it('docs/api.md is what the doc comments generate now (npm run docs:api rewrites it)', () => {
    const current = readFileSync(apiFile as string, 'utf8');
    // Compared whole; on a mismatch name the first differing line rather than dumping 1,400 lines.
    const want = (render(api.entries) as string).split('\n');
    const have = current.split('\n');
    const i = want.findIndex((line, n) => have[n] !== line);
    expect(i === -1 ? null : { line: i + 1, docsApiMd: have[i], generated: want[i] }).toBeNull();
    expect(have.length).toBe(want.length);
  });

  it('lists each export with its signature, doc comment and public members, not internal or private ones', () => {
    const run = api.entries.find((e) => e.name === 'run')!;
    expect(run).toMatchObject({ kind: 'function', module: 'run.ts' });
    expect(run.code).toMatch(/^function run<T>\(main: Main<T>, options: RunOptions = \{\}\): T$/);
    expect(run.doc).toMatch(/^Runs `main` on a new corio loop/);
    const file = api.entries.find((e) => e.name === 'FileHandle')!;
    const lines = file.members.map((m) => m.line);
    expect(lines.some((l) => l.startsWith('write(data: Data'))).toBe(true);
    expect(lines.some((l) => l.startsWith('close(): Op<void>'))).toBe(true);
    // claim() and starting() are tagged @internal in src/fs/file.ts; `pending` is private.
    expect(lines.filter((l) => /^(claim|starting|pending)\b/.test(l))).toEqual([]);
    expect(api.entries.find((e) => e.name === 'isSystemError')?.code).toBe('function isSystemError(error: unknown): error is SystemError');
  });

  it('the README links the reference', () => {
    expect(readFileSync(join(root as string, 'README.md'), 'utf8')).toContain('(docs/api.md)');
  });

  it('the check is not blind: an export without a doc comment is reported, internal and private members left out', () => {
    // Inside the repository, so the generator's module resolution and @types/node apply as for src/.
    const dir = scratch('corio-api-docs-');
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'index.ts'), [
      '/** Documented. */',
      'export function documented(): number { return 1; }',
      'export function bare(): void {}',
      'export interface Naked { x: number }',
      '/** A class. */',
      'export class K {',
      '  /** @internal not for users */',
      '  hiddenOne = 1;',
      '  /** Shown. */',
      '  shown = 2;',
      '  private secret = 3;',
      '}',
      '',
    ].join('\n'));
    const fixture = collect(join(dir, 'm', 'index.ts')) as Collected;
    expect(fixture.entries.map((e) => e.name)).toEqual(['documented', 'bare', 'Naked', 'K']);
    expect(fixture.undocumented.map((u) => u.split(' ')[0])).toEqual(['bare', 'Naked']);
    const k = fixture.entries.find((e) => e.name === 'K')!;
    expect(k.members).toEqual([{ line: 'shown: number', doc: 'Shown.' }]);
    expect(render(fixture.entries)).toContain('*(no doc comment)*');
  }, 120_000);
});
