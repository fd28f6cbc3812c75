#!/usr/bin/env bash
# Cross-compiles the native core test program for Windows (the IOCP backend) with MinGW-w64 and, with
# --run, runs it under Wine. Outputs go to build-windows/ (node-gyp rebuild wipes build/, not this).
# Prints the harness's "N passed, N failed, N skipped" line last.
#
#   bash native/test/build-windows.sh          build build-windows/core-test.exe
#   bash native/test/build-windows.sh --run    build, then run under Wine (extra args go to core-test)
#
# Needs g++-mingw-w64-x86-64 (the -posix variant: the default one lacks std::mutex and std::thread) and
# wine64; .ci/run installs them. WINEPREFIX defaults to build-windows/wineprefix (made on first run, a few
# seconds), so nothing touches ~/.wine.
set -euo pipefail
shopt -s nullglob
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out_dir="$root/build-windows"
out="$out_dir/core-test.exe"
mkdir -p "$out_dir"

cxx=${CXX_WINDOWS:-x86_64-w64-mingw32-g++-posix}
if ! command -v "$cxx" >/dev/null; then
  echo "$cxx not found: apt-get install g++-mingw-w64-x86-64" >&2
  exit 2
fi
# Windows 8 API level: SetFileCompletionNotificationModes, CancelIoEx, GetQueuedCompletionStatusEx,
# CancelSynchronousIo, FILE_*_INFO classes. -static: no MinGW DLLs to find at run time.
flags=(-std=c++20 -O1 -g -Wall -Wextra -Werror=return-type -D_WIN32_WINNT=0x0602 -DWINVER=0x0602
       -DWIN32_LEAN_AND_MEAN -DNOMINMAX -static)
# Sources: the portable core, the Windows backend, and the same behavioural cases as on Linux. Platform
# choice is by file list: the POSIX-only test files (io_uring, the pool's signal cases, the FIFO opens,
# the process limits)
# stay out.
core=("$root"/native/core/backend.cc "$root"/native/core/pool.cc "$root"/native/core/win/*.cc)
tests=("$here"/main.cc "$here"/shim_win.cc "$here"/core_cases.cc "$here"/stream_cases.cc "$here"/path_cases.cc)
"$cxx" "${flags[@]}" -o "$out" "${core[@]}" "${tests[@]}"

if [[ "${1:-}" == --run ]]; then
  shift
  export WINEPREFIX=${WINEPREFIX:-$out_dir/wineprefix}
  export WINEDEBUG=${WINEDEBUG:--all}
  # wine64 alone has no 32-bit half; it warns about that on every start. The program is 64-bit.
  wine=$(command -v wine || command -v wine64)
  "$wine" "$out" "$@" 2>"$out_dir/wine-stderr.log" | tr -d '\r'
  exit "${PIPESTATUS[0]}"
fi
echo "$out"
