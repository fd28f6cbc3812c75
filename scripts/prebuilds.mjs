// Builds the prebuilt addons that ship in the npm package: prebuilds/<platform>-<arch>/corio*.node.
//
//   node scripts/prebuilds.mjs            build this platform's prebuild if it is missing or older than the
//                                         native sources; then the Windows one (see below)
//   node scripts/prebuilds.mjs --force    rebuild even when it looks up to date
//   node scripts/prebuilds.mjs --host-only  this platform's prebuild only (CI, the package test): a
//                                         win32-x64 prebuild already in prebuilds/ is kept and packed as is
//
// This platform's prebuild is made by prebuildify (--napi --strip) in a temporary copy of the package, so the
// working tree's build/Release — which node-gyp-build prefers, and which running tests have loaded — is never
// rebuilt underneath anyone. win32-x64 is cross-built with MinGW by scripts/build-addon-windows.sh (owned by
// the platforms work); when that script is present it is run here, and when it is absent or its toolchain is
// missing (it exits 2) this says so and the package simply has no Windows prebuild — or keeps the one already
// in prebuilds/win32-x64, which npm pack includes whenever it is there.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const hostOnly = process.argv.includes('--host-only');
for (const arg of process.argv.slice(2)) {
  if (arg !== '--force' && arg !== '--host-only') {
    console.error(`prebuilds: unknown option '${arg}' (--force, --host-only)`);
    process.exit(2);
  }
}

/** The newest modification time among the files the addon is built from. */
function newestSource() {
  let newest = statSync(join(root, 'binding.gyp')).mtimeMs;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(root, 'native', 'core'));
  walk(join(root, 'native', 'binding'));
  return Math.max(newest, statSync(join(root, 'native', 'addon.cc')).mtimeMs);
}

/** The addons in a prebuilds/<target> folder (prebuildify names them corio.node, corio.glibc.node, …). */
function addonsIn(dir) {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => join(dir, f)) : [];
}

function upToDate(dir) {
  const addons = addonsIn(dir);
  return !force && addons.length > 0 && addons.every((f) => statSync(f).mtimeMs >= newestSource());
}

function buildHere() {
  const target = `${process.platform}-${process.arch}`;
  const out = join(root, 'prebuilds', target);
  if (upToDate(out)) {
    console.log(`prebuilds: ${addonsIn(out).map((f) => relative(root, f)).join(', ')} up to date`);
    return true;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'corio-prebuildify-'));
  try {
    // Only what the build reads: binding.gyp, the addon, its binding/ files and its core (not native/test), package.json for the
    // name and napi version, and the installed node-addon-api (through a link to node_modules).
    cpSync(join(root, 'binding.gyp'), join(tmp, 'binding.gyp'));
    cpSync(join(root, 'package.json'), join(tmp, 'package.json'));
    mkdirSync(join(tmp, 'native'));
    cpSync(join(root, 'native', 'addon.cc'), join(tmp, 'native', 'addon.cc'));
    cpSync(join(root, 'native', 'core'), join(tmp, 'native', 'core'), { recursive: true });
    cpSync(join(root, 'native', 'binding'), join(tmp, 'native', 'binding'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(tmp, 'node_modules'), 'dir');
    console.log(`prebuilds: building ${target} with prebuildify in ${tmp}`);
    // Through `npm exec`, so node-gyp gets npm's nodedir and finds the headers offline (shared/NOTES.md).
    // --tag-libc names the Linux build corio.glibc.node, so node-gyp-build does not offer it to musl (Alpine),
    // where it cannot load; there the install compiles instead.
    const res = spawnSync('npm', ['exec', '--offline', '--no', '-c', 'prebuildify --napi --strip --tag-libc'], {
      cwd: tmp,
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    });
    const built = addonsIn(join(tmp, 'prebuilds', target));
    if (res.status !== 0 || built.length === 0) {
      console.error(`prebuilds: prebuildify failed for ${target} (exit ${res.status ?? res.signal})`);
      return false;
    }
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    for (const file of built) {
      cpSync(file, join(out, basename(file)));
      console.log(`prebuilds: wrote ${relative(root, join(out, basename(file)))}`);
    }
    return true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// The hook for the Windows prebuild: scripts/build-addon-windows.sh writes prebuilds/win32-x64/corio.napi.node.
function buildWindows() {
  const script = join(root, 'scripts', 'build-addon-windows.sh');
  const out = join(root, 'prebuilds', 'win32-x64');
  if (process.platform === 'win32') return true;  // built natively above
  if (!existsSync(script)) {
    console.log('prebuilds: no scripts/build-addon-windows.sh yet, so no win32-x64 prebuild');
    return true;
  }
  if (upToDate(out)) {
    console.log(`prebuilds: ${addonsIn(out).map((f) => relative(root, f)).join(', ')} up to date`);
    return true;
  }
  const res = spawnSync('bash', [script], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status === 2) {
    // Its toolchain (MinGW-w64) is not installed: not an error of the package, which then has no Windows
    // prebuild unless an earlier one is still in prebuilds/win32-x64.
    const kept = addonsIn(out);
    console.log(`prebuilds: no MinGW-w64 here; ${kept.length ? `keeping ${kept.map((f) => relative(root, f)).join(', ')} (older than the sources)` : 'no win32-x64 prebuild'}`);
    return true;
  }
  if (res.status !== 0 || addonsIn(out).length === 0) {
    console.error(`prebuilds: ${relative(root, script)} failed (exit ${res.status ?? res.signal}); no win32-x64 prebuild`);
    return false;
  }
  console.log(`prebuilds: wrote ${relative(root, out)}`);
  return true;
}

const ok = buildHere();
const windowsOk = hostOnly ? true : buildWindows();
process.exitCode = ok && windowsOk ? 0 : 1;
