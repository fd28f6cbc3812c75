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

const EXAMPLE_TIMEOUT_MS = 60_000;

// Under Wine 8 with Windows' node.exe, Node's own fetch (undici) to a server on 127.0.0.1 fails ('fetch failed',
// cause UNKNOWN) while http.get works (checked by hand on 2026-12-02); the two examples that fetch skip there.
const underWine = process.platform === 'win32' && existsSync('Z:\\proc\\self\\status');
// The hosted examples also skip where the run says the hosted loop is not tested (CORIO_TEST_NO_HOSTED: see
// hostedSkip in test/helpers.ts).
const noHosted = process.env.CORIO_TEST_NO_HOSTED ?? '';
const hostedExample = (name: string) => name === 'fetch-cancel' || name === 'http-server';
const fetchesUnderWine = (name: string) => hostedExample(name) && (underWine || !!noHosted);
const skipNote = (name: string) =>
  !fetchesUnderWine(name) ? '' : underWine
    ? " (skipped under Wine: Node's fetch to 127.0.0.1 fails there, http.get works)"
    : ` (skipped: ${noHosted})`;

describe('README examples', () => {
  for (const [name, lines] of Object.entries(expected)) {
    it(`examples/${name}.ts is in the README verbatim`, () => {
      const source = readFileSync(join(root, 'examples', `${name}.ts`), 'utf8');
      expect(readme).toContain(`<!-- example: examples/${name}.ts -->\n\`\`\`ts\n${source}\`\`\``);
    });

    it.skipIf(!built || fetchesUnderWine(name))(`examples/${name}.ts runs and prints what the README promises${skipNote(name)}`, () => {
      // A bounded wait: an example that hangs fails here instead of stalling the suite's worker.
      const res = spawnSync(process.execPath, [join(root, 'dist', 'examples', `${name}.js`)], {
        encoding: 'utf8',
        timeout: EXAMPLE_TIMEOUT_MS,
      });
      expect(res.error).toBeUndefined();
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout.trim().split('\n')).toEqual(lines);
    });
  }
});
