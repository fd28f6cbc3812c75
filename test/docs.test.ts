// The README's examples are the files in examples/, verbatim, and each runs and prints what it should.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const built = existsSync(join(root, 'dist', 'examples'));

const expected: Record<string, string[]> = {
  cancellation: ['writer closed its file', 'writer ended with CancelledError true'],
  'task-group': ['sleeper cleaned up', "group failed with: [ 'disk on fire' ]"],
  timeouts: ['moveOnAfter gave undefined at 100 ms', 'timed out after 50 ms'],
  queue: ['consumed 6 items: a0 a1 a2 b0 b1 b2'],
  'durable-log': ['32 datasync callers shared fewer system calls'],
  'atomic-config': ['{"version":2} config.json'],
  'sim-rename': [
    "without sync: 10 failing crash points; first: seed 1, crash point 3 (rename('/app/config.json.tmp' -> '/app/config.json'))",
    'with sync: every crash point of 120 passed',
  ],
  'sim-append-log': ['write only: caught: acknowledged record 0 is lost', 'write + datasync: passed all 50 crash points'],
  'http-server': ['/a: logged', '/b: logged', '/c: logged', 'GET /a, GET /b, GET /c'],
  'fetch-cancel': ['the request ended with CancelledError', 'the server saw the connection close'],
};

describe('README examples', () => {
  for (const [name, lines] of Object.entries(expected)) {
    it(`examples/${name}.ts is in the README verbatim`, () => {
      const source = readFileSync(join(root, 'examples', `${name}.ts`), 'utf8');
      expect(readme).toContain(`<!-- example: examples/${name}.ts -->\n\`\`\`ts\n${source}\`\`\``);
    });

    it.skipIf(!built)(`examples/${name}.ts runs and prints what the README promises`, () => {
      const res = spawnSync(process.execPath, [join(root, 'dist', 'examples', `${name}.js`)], { encoding: 'utf8' });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout.trim().split('\n')).toEqual(lines);
    });
  }
});
