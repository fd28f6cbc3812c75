// The npm package as a user gets it: `npm pack`, then `npm install ./corio-<version>.tgz` in a fresh folder with
// no compiler on PATH, a round trip through the prebuilt addon, the `corio` command, and the one-sentence
// failure when there is neither a prebuild nor a compiler.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { scratch } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown> & { version: string };
const target = `${process.platform}-${process.arch}`;
const built = existsSync(join(root, 'dist', 'src', 'index.js'));

// npm itself is a Node script: run it with this node so PATH can leave out /usr/bin (and the compilers in it).
const npmCli = (() => {
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout?.trim();  // null: no sh
  return which ? join(realpathSync(which), '..', 'npm-cli.js') : '';
})();

let work = '';
let app = '';
let tarball = '';
let packedFiles: string[] = [];
let bare: NodeJS.ProcessEnv = {};

/** The environment of a user's shell whose PATH has node and sh and nothing else: no cc, g++, make, python. */
function bareEnv(bin: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // npm test's own npm_config_* (nodedir, node_gyp …) would tell the inner npm how to compile: drop them.
    if (!/^npm_|^PATH$|^CORIO_/i.test(k)) env[k] = v;
  }
  env.PATH = bin;
  return env;
}

function sh(command: string, args: string[], options: SpawnSyncOptions = {}) {
  return spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options }) as ReturnType<typeof spawnSync> & {
    stdout: string;
    stderr: string;
  };
}

// Windows (here: under Wine) has no sh for npm's package scripts and no compiler for scripts/prebuilds.mjs's
// prebuildify; its prebuild is cross-built on Linux (scripts/build-addon-windows.sh) and tested by loading it.
const cannotPack = !built ? 'dist/ not built' : process.platform === 'win32' ? 'needs sh and a native toolchain, which Windows under Wine lacks' : !npmCli ? 'npm not found' : '';
describe.skipIf(cannotPack !== '')(`the npm package (${cannotPack ? `skipped: ${cannotPack}` : target})`, () => {
  beforeAll(() => {
    // The prebuild for this platform (prebuildify in a temporary copy; quick when it is already up to date).
    // --host-only: the win32-x64 one is the cross build's (npm run prebuilds); whatever is in prebuilds/ is packed.
    const prebuild = sh(process.execPath, [join(root, 'scripts', 'prebuilds.mjs'), '--host-only'], { cwd: root, timeout: 300_000 });
    if (prebuild.status !== 0) throw new Error(`scripts/prebuilds.mjs failed:\n${prebuild.stdout}\n${prebuild.stderr}`);

    work = scratch('corio-package-');
    // --ignore-scripts: prepare (tsc) and prepack (the prebuild, done just above) would rewrite dist/ and
    // prebuilds/ while other test files use them.
    const packed = sh(process.execPath, [npmCli, 'pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root });
    if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
    const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info[0].filename);
    packedFiles = info[0].files.map((f) => f.path);

    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh'));  // npm runs package scripts through sh
    bare = bareEnv(bin);

    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'corio-user-app', private: true, type: 'module' }));
    const install = sh(
      process.execPath,
      [npmCli, 'install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts'],
      { cwd: app, env: bare },
    );
    if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${install.stdout}\n${install.stderr}`);
  }, 300_000);

  it('the tarball holds what users run, with a licence, and nothing else', () => {
    expect(tarball).toMatch(new RegExp(`corio-${pkg.version.replace(/\./g, '\\.')}\\.tgz$`));
    for (const needed of ['LICENSE', 'README.md', 'package.json', 'binding.gyp', 'scripts/install.cjs', 'dist/src/index.js',
      'dist/src/index.d.ts', 'dist/src/cli.js', 'dist/bench/cli.js', 'native/addon.cc', 'native/binding/signals.cc', 'native/core/backend.h']) {
      expect(packedFiles).toContain(needed);
    }
    expect(packedFiles.some((f) => f.startsWith(`prebuilds/${target}/`) && f.endsWith('.node'))).toBe(true);
    // Every prebuild in prebuilds/ ships, the cross-built win32-x64 one too when it has been built here.
    const prebuilt = readdirSync(join(root, 'prebuilds'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.node')).map((f) => `prebuilds/${f.split(sep).join('/')}`);
    expect(prebuilt.length).toBeGreaterThan(0);
    for (const f of prebuilt) expect(packedFiles).toContain(f);
    const unwanted = packedFiles.filter((f) =>
      f.endsWith('.map') || f.startsWith('native/test/') || f.startsWith('dist/examples/') || f.startsWith('dist/test/') ||
      f.startsWith('bench/') || f.startsWith('test/') || f.startsWith('src/') || f.startsWith('build/') ||
      (f.startsWith('dist/bench/') && f.endsWith('.d.ts')) || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    expect(unwanted).toEqual([]);
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(pkg.license).toBe('MIT');
    expect(pkg.repository).toBeTruthy();
    expect(Array.isArray(pkg.keywords) && (pkg.keywords as string[]).length > 0).toBe(true);
  });

  it('installs with no compiler on PATH and compiles nothing', () => {
    // The PATH really has no toolchain: nothing but node and sh.
    expect(sh('sh', ['-c', 'command -v cc || command -v g++ || command -v make || command -v python3 || echo none'], { env: bare }).stdout.trim()).toBe('none');
    const installed = join(app, 'node_modules', 'corio');
    expect(existsSync(join(installed, 'dist', 'src', 'index.js'))).toBe(true);
    expect(existsSync(join(installed, 'build'))).toBe(false);  // node-gyp never ran
  });

  it('a node -e round trip writes and reads a file through the prebuilt addon', () => {
    const script = `
      import { run, writeFile, readFile, backend } from 'corio';
      const text = run(function* () {
        yield* writeFile('round-trip.txt', 'through the prebuild');
        return (yield* readFile('round-trip.txt', 'utf8')) + ' on ' + backend().name;
      });
      console.log(text);`;
    const res = sh(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env: bare });
    expect(res.stderr).toBe('');
    expect(res.stdout.trim()).toMatch(/^through the prebuild on (uring|epoll)$/);
    expect(readFileSync(join(app, 'round-trip.txt'), 'utf8')).toBe('through the prebuild');
  });

  it('npx corio, --version and info work from the installed package, and info names the prebuild', () => {
    const npx = (...args: string[]) => sh(process.execPath, [npmCli, 'exec', '--offline', '--no', '--', 'corio', ...args], { cwd: app, env: bare });
    const help = npx();
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: corio <command>/);
    expect(help.stdout).toContain('info');
    expect(help.stdout).toContain('bench');
    expect(npx('--version').stdout.trim()).toBe(pkg.version);
    const info = npx('info', '--json');
    expect(info.status).toBe(0);
    const parsed = JSON.parse(info.stdout) as { addon: { kind: string; relativePath: string }; version: string };
    expect(parsed.version).toBe(pkg.version);
    expect(parsed.addon.kind).toBe('prebuild');
    expect(parsed.addon.relativePath).toMatch(new RegExp(`^prebuilds[\\\\/]${target}[\\\\/]corio.*\\.node$`));
  });

  it('with neither a prebuild nor a compiler, the install fails with one sentence saying what to install', () => {
    const installed = join(app, 'node_modules', 'corio');
    renameSync(join(installed, 'prebuilds'), join(installed, 'prebuilds-hidden'));
    try {
      const res = sh(process.execPath, [join(installed, 'scripts', 'install.cjs')], { cwd: installed, env: bare });
      expect(res.status).toBe(1);
      const lines = res.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^corio: there is no prebuilt addon for .+ and it cannot be compiled here: install .*C\+\+.*make.*Python 3.*, then run npm install again\.$/);
    } finally {
      renameSync(join(installed, 'prebuilds-hidden'), join(installed, 'prebuilds'));
    }
  });
});
