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
# Sources: the portable core, the Linux backends, every test file. Platform choice is by file list, not #ifdef.
core=("$root"/native/core/backend.cc "$root"/native/core/posix_ops.cc "$root"/native/core/select_linux.cc
      "$root"/native/core/uring*.cc "$root"/native/core/epoll*.cc "$root"/native/core/pool*.cc)
tests=("$here"/*.cc)
g++ "${flags[@]}" -o "$out" "${core[@]}" "${tests[@]}"
echo "$out"
