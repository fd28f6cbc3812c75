// The published types: test/types/consumer.ts is a user's program compiled against dist/src/*.d.ts (strict, no
// skipLibCheck). Its type-level assertions fail the compile if all()/race()/first() lose their tuple typing or
// isSystemError() stops narrowing; the compile itself fails if stripInternal leaves a declaration broken.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scratch } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const built = existsSync(join(root, 'dist', 'src', 'index.d.ts'));

function compile(project: string) {
  const r = spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.d.ts'))
    .map((d) => join(d.parentPath, d.name));
}

describe.skipIf(!built)(`published types${built ? '' : ' (skipped: dist/ not built; npm test builds it)'}`, () => {
  it('a user program type-checks against dist/src/index.d.ts with tuple-typed combinators and isSystemError', () => {
    const r = compile(join(root, 'test', 'types', 'tsconfig.json'));
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('the check is not blind: a wrong type assertion in the same program fails to compile', () => {
    // The consumer with all([num, flag]) claimed to be [number, number]: the Assert<Equal<…>> must reject it.
    const dir = join(root, 'test', 'types');
    const copy = scratch('corio-types-');
    const source = readFileSync(join(dir, 'consumer.ts'), 'utf8')
      .replace("from '../../dist/src/index.js'", `from ${JSON.stringify(join(root, 'dist', 'src', 'index.js'))}`)
      .replace('Equal<typeof pair, [number, boolean]>', 'Equal<typeof pair, [number, number]>');
    expect(source).toContain('[number, number]');
    writeFileSync(join(copy, 'consumer.ts'), source);
    writeFileSync(join(copy, 'package.json'), '{ "type": "module" }');  // top-level await, as in the repository
    copyFileSync(join(dir, 'tsconfig.json'), join(copy, 'tsconfig.json'));
    // types: ["node"] is looked up from the project's folder: point it at ours.
    const config = readFileSync(join(copy, 'tsconfig.json'), 'utf8')
      .replace('"types": ["node"]', `"types": ["node"], "typeRoots": [${JSON.stringify(join(root, 'node_modules', '@types'))}]`);
    writeFileSync(join(copy, 'tsconfig.json'), config);
    const r = compile(join(copy, 'tsconfig.json'));
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/consumer\.ts\(\d+,\d+\): error TS2344/);  // "does not satisfy the constraint 'true'"
    expect(r.output.match(/error TS/g), r.output).toHaveLength(1);
  });

  it('members marked @internal are not in the published .d.ts; public ones are', () => {
    const files = declarations(join(root, 'dist', 'src'));
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(readFileSync(f, 'utf8'), f).not.toContain('@internal');
    const file = readFileSync(join(root, 'dist', 'src', 'fs', 'file.d.ts'), 'utf8');
    // FileHandle.claim() and starting() are internal (tagged in src/fs/file.ts); read() and close() are public.
    expect(file).not.toMatch(/\bclaim\(/);
    expect(file).not.toMatch(/\bstarting\(/);
    expect(file).toMatch(/\bread\(/);
    expect(file).toMatch(/\bclose\(\)/);
    // Task: what the loop and the scopes call (step, deliverCancellation, describeWait, the SteppingTask
    // fields) is internal; what a user calls (cancel, join, result) and the Waiter contract stay.
    const task = readFileSync(join(root, 'dist', 'src', 'core', 'task.d.ts'), 'utf8');
    for (const internal of [/\bstep\(\)/, /deliverCancellation/, /describeWait/, /\bresuming\b/, /\bdelegatedBy\b/, /\bsuspendedAt\b/, /\bobserved\b:/]) {
      expect(task).not.toMatch(internal);
    }
    for (const pub of [/\bcancel\(message/, /\bjoin\(\)/, /\bresult\(\)/, /\bresume\(value/, /\bfail\(error/]) expect(task).toMatch(pub);
    const errors = readFileSync(join(root, 'dist', 'src', 'core', 'errors.d.ts'), 'utf8');
    expect(errors).not.toContain('lookupErrno');
    expect(errors).toContain('isSystemError(error: unknown): error is SystemError');
    // The source still has the tags, so the absence above is stripInternal's doing.
    expect(readFileSync(join(root, 'src', 'fs', 'file.ts'), 'utf8')).toMatch(/@internal[^\n]*\n\s*claim\(/);
  });
});
