// corio's npm "install" step: use the prebuilt addon when one loads here, else compile it with node-gyp, and
// when neither is possible fail with one sentence that says what to install.
//
// node-gyp-build picks build/Release, else prebuilds/<platform>-<arch>/ (matching libc, napi); the pick is
// loaded in this process, so a prebuild that exists but cannot load (another libc, a missing system library)
// counts as none. `npm install --build-from-source` (npm_config_build_from_source=true) always compiles.
'use strict';
const { spawnSync } = require('node:child_process');
const { accessSync, constants } = require('node:fs');
const { delimiter, join } = require('node:path');

const root = join(__dirname, '..');
const target = `${process.platform}-${process.arch}`;

function prebuiltLoads() {
  if (process.env.npm_config_build_from_source === 'true') return false;
  try {
    const nodeGypBuild = require('node-gyp-build');
    const binding = nodeGypBuild(root);
    return typeof binding.NativeBackend === 'function';
  } catch {
    return false;
  }
}

/** The first of `names` found as an executable on PATH, or undefined. */
function onPath(names) {
  const dirs = (process.env.PATH || '').split(delimiter).filter(Boolean);
  const exts = process.platform === 'win32' ? (process.env.PATHEXT || '.EXE;.CMD;.BAT').split(';') : [''];
  for (const name of names) {
    for (const dir of dirs) {
      for (const ext of exts) {
        try {
          accessSync(join(dir, name + ext), constants.X_OK);
          return name;
        } catch {}
      }
    }
  }
  return undefined;
}

/** What node-gyp needs and this machine lacks, in words (empty when everything is there). */
function missingToolchain() {
  if (process.platform === 'win32') {
    // node-gyp locates Visual Studio itself (not through PATH); only Python can be checked this simply.
    return onPath(['python3', 'python', 'py']) ? [] : ['Python 3'];
  }
  const missing = [];
  const cxx = process.env.CXX ? [process.env.CXX] : [];
  if (!onPath([...cxx, 'c++', 'g++', 'clang++'])) missing.push('a C++20 compiler (g++ or clang++)');
  if (!onPath(['make', 'gmake'])) missing.push('make');
  if (!onPath(['python3', 'python'])) missing.push('Python 3');
  return missing;
}

function hint() {
  if (process.platform === 'darwin') return ' (xcode-select --install)';
  if (process.platform === 'win32') return ' (Visual Studio Build Tools with "Desktop development with C++")';
  return ' (for example: apt-get install g++ make python3)';
}

function main() {
  if (prebuiltLoads()) return 0;
  const missing = missingToolchain();
  if (missing.length > 0) {
    console.error(
      `corio: there is no prebuilt addon for ${target} and it cannot be compiled here: install ` +
        `${missing.join(', ')}${hint()}, then run npm install again.`,
    );
    return 1;
  }
  // npm passes its bundled node-gyp in npm_config_node_gyp; it also sets the header folder (nodedir).
  const gyp = process.env.npm_config_node_gyp;
  const res = gyp
    ? spawnSync(process.execPath, [gyp, 'rebuild'], { cwd: root, stdio: 'inherit' })
    : spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (res.error) {
    console.error(`corio: could not run node-gyp to compile the addon for ${target}: ${res.error.message}`);
    return 1;
  }
  return res.status ?? 1;
}

process.exitCode = main();
