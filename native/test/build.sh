#!/usr/bin/env bash
# Builds the native core test program (no Node) into build/core-test.
# SANITIZE=1 adds AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
shopt -s nullglob
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/build/core-test"
mkdir -p "$root/build"
flags=(-std=c++20 -O1 -g -Wall -Wextra -Werror=return-type -pthread)
if [[ "${SANITIZE:-0}" == 1 ]]; then
  flags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  out="$root/build/core-test-asan"
fi
# Sources: the portable core, the POSIX and Linux folders, every test file. Platform choice is by file list, not #ifdef.
core=("$root"/native/core/backend.cc "$root"/native/core/pool.cc "$root"/native/core/posix/*.cc
      "$root"/native/core/linux/*.cc)
tests=("$here"/*.cc)
cxx=g++
if [[ "$(uname -s)" == Darwin ]]; then
  # macOS (not run here): kqueue + the pool; the Linux-only test files (io_uring, the pool's signal cases,
  # which run under the epoll entry) stay out. Untested: see README "Platforms".
  core=("$root"/native/core/backend.cc "$root"/native/core/pool.cc "$root"/native/core/posix/*.cc
        "$root"/native/core/mac/*.cc)
  tests=("$here"/main.cc "$here"/shim_posix.cc "$here"/*_cases.cc)
  cxx=c++
fi
# The Windows half of the test shim is built by build-windows.sh (MinGW), never here.
tests=("${tests[@]/*shim_win.cc/}")
"$cxx" "${flags[@]}" -o "$out" "${core[@]}" ${tests[@]}
echo "$out"
