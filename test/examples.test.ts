// The README's example and the demo run as users run them: compiled, in a child process, importing 'corio'.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compiledBackends } from '../src/index.js';

// The example prints whichever backend this build chose: one of the compiled ones.
const backendLine = new RegExp(`^backend: (${compiledBackends().join('|')})$`);

const root = fileURLToPath(new URL('..', import.meta.url));
const built = existsSync(join(root, 'dist', 'examples', 'hello.js'));
if (!built) console.log('[corio tests] examples skipped: dist/ is not built (npm install builds it)');

describe.skipIf(!built)(`examples${built ? '' : ' (skipped: dist/ not built)'}`, () => {
  it('the README example prints the backend and the total it read back', () => {
    const res = spawnSync(process.execPath, [join(root, 'dist', 'examples', 'hello.js')], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(backendLine);
    // Three files of "hello from task n\n" (18 bytes) + "appended at the current position\n" (33 bytes).
    expect(lines[1]).toBe(String(3 * (18 + 33)));
  });

  it('the simulation examples catch both wrong programs and pass the corrected ones (README "Crash-testing")', () => {
    for (const [name, caught, passed] of [
      ['sim-rename', /^without sync: [1-9]\d* failing crash points; first: seed \d+, crash point \d+ \(rename\(/, /^with sync: every crash point of \d+ passed$/],
      ['sim-append-log', /^write only: caught: acknowledged record \d+ is lost$/, /^write \+ datasync: passed all \d+ crash points$/],
    ] as const) {
      const res = spawnSync(process.execPath, [join(root, 'dist', 'examples', `${name}.js`)], { encoding: 'utf8' });
      expect(res.status, res.stderr).toBe(0);
      const [first, second] = res.stdout.trim().split('\n');
      expect(first).toMatch(caught);
      expect(second).toMatch(passed);
    }
  });

  it('the demo verifies every file on a small run and prints the comparison', () => {
    const res = spawnSync(process.execPath, [join(root, 'dist', 'examples', 'demo.js'), '--files', '200', '--size', '4096', '--tasks', '16'], {
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`backend: (${compiledBackends().join('|')}) \\(`));
    expect(res.stdout).toContain('node:fs/promises');
    expect(res.stdout).toContain('verified 200 files written by corio, every byte');
  });
});
