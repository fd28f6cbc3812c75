#!/usr/bin/env bash
# npm run test:kqueue — the macOS sources (native/core/mac/*, the kqueue backend) built on Linux against
# libkqueue, an independent userspace kqueue, and run: the native core cases, then the whole vitest suite on
# an addon built from binding.gyp's macOS file list. Nothing here runs XNU's kqueue or APFS (README "Platforms").
#
# Everything goes to build-kqueue/ (node-gyp's build/Release is never touched): libkqueue is unpacked and
# installed there from the vendored snapshot, the addon is build-kqueue/addon/build/Release/corio.node and
# the tests load it through node-gyp-build's CORIO_PREBUILD override (child processes inherit it).
# Prints each part's "N passed, N failed, N skipped" line, then their sum last (the line .ci/run reads).
#
# Env: LIBKQUEUE_TGZ  the libkqueue snapshot (default: vendor/libkqueue-f966089.tar.gz in ../shared beside
#                     the repository, as CI provides it)
#      KQ_VITEST_ARGS extra arguments for vitest (e.g. a test file), for local runs
set -uo pipefail
shopt -s nullglob
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/lib/tally.sh
out=$root/build-kqueue
mkdir -p "$out/logs"
start=$(date +%s)
stamp() { echo "== test:kqueue: $1 ($(( $(date +%s) - start ))s)"; }
give_up() { echo "test:kqueue: $1"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

# ---- libkqueue from the vendored snapshot (a `git archive` of commit f966089: unpacks to libkqueue/)
tgz=${LIBKQUEUE_TGZ:-}
if [[ -z $tgz ]]; then
  for dir in "$root/../shared" "$root/../../shared"; do  # beside the clone (CI), or beside a worktree folder
    [[ -f $dir/vendor/libkqueue-f966089.tar.gz ]] && { tgz=$dir/vendor/libkqueue-f966089.tar.gz; break; }
  done
fi
[[ -n $tgz && -f $tgz ]] || give_up "libkqueue snapshot not found (set LIBKQUEUE_TGZ; looked in ../shared/vendor)"
prefix=$out/prefix
if [[ ! -f $prefix/lib/libkqueue.so || $(cat "$prefix/.source" 2>/dev/null) != "$(basename "$tgz")" ]]; then
  stamp "building libkqueue from $(basename "$tgz")"
  rm -rf "$out/libkqueue" "$prefix"
  tar -xzf "$tgz" -C "$out" || give_up "could not unpack $tgz"
  { cmake -S "$out/libkqueue" -B "$out/libkqueue/build" -DCMAKE_INSTALL_PREFIX="$prefix" \
        -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_BUILD_TYPE=Release &&
    make -C "$out/libkqueue/build" -j"$(nproc)" && make -C "$out/libkqueue/build" install; } \
    >"$out/logs/libkqueue-build.log" 2>&1 || { tail -20 "$out/logs/libkqueue-build.log"; give_up "libkqueue build failed"; }
  basename "$tgz" >"$prefix/.source"
fi

# ---- flags shared by the core program and the addon
# <sys/event.h> and kevent() come from libkqueue. SIGURG is the macOS build's pool-interrupt signal
# (posix/pool_os.cc picks SIGRTMIN+5 wherever SIGRTMIN exists, which glibc has and macOS does not).
# mac/posix.cc alone gets the F_PREALLOCATE stand-in; posix/ops.cc's __APPLE__ branches (struct stat's
# *timespec fields) cannot compile against glibc, so its Linux branches run here.
kq_flags=(-I"$prefix/include/kqueue" -DCORIO_INTERRUPT_SIGNAL=SIGURG)
kq_libs=(-L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lkqueue)
compat=(-include "$root/native/test/mac_fcntl_linux.h")
compile() {  # compile SOURCE OBJECT FLAGS...
  local src=$1 obj=$2; shift 2
  local extra=()
  [[ $src == native/core/mac/posix.cc ]] && extra=("${compat[@]}")
  g++ "$@" "${kq_flags[@]}" "${extra[@]}" -c "$src" -o "$obj"
}
parallel_compile() {  # parallel_compile OBJDIR FLAGS... -- SOURCES...; at most nproc at once
  local objdir=$1; shift
  local flags=() srcs=()
  while [[ $1 != -- ]]; do flags+=("$1"); shift; done; shift
  srcs=("$@")
  mkdir -p "$objdir"
  local pids=() s status=0 jobs
  jobs=$(nproc)
  for s in "${srcs[@]}"; do
    compile "$s" "$objdir/$(echo "$s" | tr / _ | sed 's/\.cc$/.o/')" "${flags[@]}" &
    pids+=($!)
    if (( ${#pids[@]} >= jobs )); then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
  done
  for s in "${pids[@]}"; do wait "$s" || status=1; done
  return $status
}

# ---- 1. the native core cases on kqueue (the same file list native/test/build.sh uses on macOS)
stamp "building the core test program (macOS sources, libkqueue)"
core_srcs=(native/core/backend.cc native/core/pool.cc native/core/posix/*.cc native/core/mac/*.cc
           native/test/main.cc native/test/shim_posix.cc native/test/*_cases.cc)
core_flags=(-std=c++20 -O1 -g -Wall -Wextra -Werror=return-type -pthread)
rm -rf "$out/core-obj"
core_passed=0 core_failed=1 core_skipped=0
if parallel_compile "$out/core-obj" "${core_flags[@]}" -- "${core_srcs[@]}" >"$out/logs/core-build.log" 2>&1 &&
   g++ -pthread -o "$out/core-test" "$out"/core-obj/*.o "${kq_libs[@]}" >>"$out/logs/core-build.log" 2>&1; then
  stamp "running the core cases"
  timeout 600 "$out/core-test" >"$out/core-test.out" 2>&1
  grep -E '^(FAIL|SKIP)' -A1 "$out/core-test.out"
  read -r core_passed core_failed core_skipped < <(tally_core "$out/core-test.out")
  if ! grep -qE "$TALLY_SUMMARY_RE" "$out/core-test.out"; then
    echo "the core test program ended without its summary line (crash or timeout); tail:"; tail -5 "$out/core-test.out"
  fi
else
  tail -30 "$out/logs/core-build.log"; echo "the kqueue core test program failed to build"
fi
echo "kqueue core cases: $core_passed passed, $core_failed failed, $core_skipped skipped"

# ---- 2. the addon from binding.gyp's macOS sources, then the whole vitest suite on it
stamp "building the addon (binding.gyp OS=='mac' sources, libkqueue) into build-kqueue/addon"
napi_inc=$(node -p "require('node-api-headers').include_dir")
naa_inc=$(node -p "require('node-addon-api').include_dir")
# The hosted watcher (native/binding/hosted_uv.cc) includes libuv's uv.h, which node-api-headers does not
# ship: take it from this Node's own headers (what node-gyp passes on a Mac).
node_inc=$(node -p "require('path').join(require('path').dirname(process.execPath), '..', 'include', 'node')")
addon_flags=(-std=c++20 -O2 -g -fPIC -pthread -fexceptions -Wall -Wextra -Wno-unused-parameter
             -DNAPI_VERSION=8 -DNODE_ADDON_API_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=corio
             -I"$napi_inc" -I"$naa_inc" -I"$node_inc")
mapfile -t addon_srcs < <(node scripts/gyp-sources.mjs mac)
addon=$out/addon/build/Release/corio.node
rm -rf "$out/addon-obj" "$out/addon"; mkdir -p "$(dirname "$addon")"
js_passed=0 js_failed=1 js_skipped=0
if parallel_compile "$out/addon-obj" "${addon_flags[@]}" -- "${addon_srcs[@]}" >"$out/logs/addon-build.log" 2>&1 &&
   g++ -shared -pthread -o "$addon" "$out"/addon-obj/*.o "${kq_libs[@]}" >>"$out/logs/addon-build.log" 2>&1; then
  export CORIO_PREBUILD=$out/addon
  if ! node -e '
      const b = require("node-gyp-build")(process.argv[1]);
      if (b.compiledBackends.join() !== "kqueue") { console.error("compiled:", b.compiledBackends); process.exit(1); }
      console.log("addon:", require("node-gyp-build").resolve(process.argv[1]), "backends:", b.compiledBackends.join());
    ' "$root"; then
    echo "the kqueue addon did not load as a kqueue-only build"
  else
    npx tsc -p tsconfig.json || echo "TypeScript build failed (tests that run dist/ will fail)"
    stamp "vitest on the kqueue addon"
    report=$out/vitest-report.json
    rm -f "$report"
    # libkqueue is preloaded, so it stays mapped for the life of every test process, as a Mac's kernel
    # kqueue does. Linked only through the addon, it was unloaded with it when a worker thread that had
    # loaded corio ended (Node dlcloses a worker's addons), while libkqueue's monitoring thread, which
    # exits on its own once the last kqueue is closed, could still be running its last instructions: the
    # thread's exit and the unload race in libkqueue (its free() skips the join once the thread has
    # cleared its id). Seen as SIGSEGV at process.exit() with a worker in run() (signals.test.ts): 2 of
    # 300 runs of test/fixtures/exit-with-worker.mjs, 4 at a time; 0 of 600 preloaded. corio.node itself
    # is still unloaded with the worker, as on a Mac.
    # shellcheck disable=SC2086
    LD_PRELOAD="$prefix/lib/libkqueue.so.0${LD_PRELOAD:+:$LD_PRELOAD}" timeout 1200 npx vitest run --reporter=dot --reporter=json --outputFile.json="$report" ${KQ_VITEST_ARGS:-} \
      >"$out/logs/vitest.log" 2>&1
    vitest_status=$?
    sed 's/\x1b\[[0-9;]*m//g' "$out/logs/vitest.log" | grep -E '^ *(FAIL|×)|Test Files|Tests ' | head -60
    read -r js_passed js_failed js_skipped < <(tally_vitest "$report" "$vitest_status")
  fi
else
  tail -30 "$out/logs/addon-build.log"; echo "the kqueue addon failed to build"
fi
echo "kqueue vitest: $js_passed passed, $js_failed failed, $js_skipped skipped (log: build-kqueue/logs/vitest.log)"
stamp "done"
echo "$((core_passed + js_passed)) passed, $((core_failed + js_failed)) failed, $((core_skipped + js_skipped)) skipped"
[[ $((core_failed + js_failed)) -eq 0 ]]
