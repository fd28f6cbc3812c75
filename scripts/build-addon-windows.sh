#!/usr/bin/env bash
# Cross-builds the addon for win32-x64 on Linux with MinGW-w64: binding.gyp's OS=='win' sources
# (scripts/gyp-sources.mjs), linked against an import library for node.exe that dlltool makes from
# node-api-headers' node_api.def, so the DLL imports the N-API functions from the node.exe that loads it.
# Writes prebuilds/win32-x64/corio.napi.node, where node-gyp-build looks on Windows (the prebuild a
# package ships). Objects go to build-windows/addon-obj. Prints the output path last.
#
# Needs g++-mingw-w64-x86-64 (its -posix variant: the default one lacks std::mutex and std::thread);
# .ci/run installs it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cxx=${CXX_WINDOWS:-x86_64-w64-mingw32-g++-posix}
dlltool=${DLLTOOL_WINDOWS:-x86_64-w64-mingw32-dlltool}
for tool in "$cxx" "$dlltool"; do
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install g++-mingw-w64-x86-64" >&2; exit 2; }
done
work=$root/build-windows
out=$root/prebuilds/win32-x64/corio.napi.node
mkdir -p "$work/addon-obj" "$(dirname "$out")"

nah=$(node -p "require('node-api-headers').include_dir")
def=$(node -p "require('path').join(require('node-api-headers').include_dir, '..', 'def', 'node_api.def')")
naa=$(node -p "require('node-addon-api').include_dir")
[[ $work/libnode.a -nt $def ]] || "$dlltool" -d "$def" -D node.exe -l "$work/libnode.a"

# The settings binding.gyp gives node-gyp on Windows: C++20 with exceptions, N-API 8, the Windows 8 API
# level (SetFileCompletionNotificationModes, CancelIoEx, GetQueuedCompletionStatusEx, FILE_*_INFO).
flags=(-std=c++20 -O2 -fexceptions -Wall -Wextra -Wno-unused-parameter -Werror=return-type
       -DNAPI_VERSION=8 -DNODE_ADDON_API_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=corio
       -D_WIN32_WINNT=0x0602 -DWINVER=0x0602 -DWIN32_LEAN_AND_MEAN -DNOMINMAX
       -I"$nah" -I"$naa")
mapfile -t sources < <(node scripts/gyp-sources.mjs win)
rm -f "$work"/addon-obj/*.o
pids=() status=0
for src in "${sources[@]}"; do
  "$cxx" "${flags[@]}" -c "$src" -o "$work/addon-obj/$(echo "$src" | tr / _ | sed 's/\.cc$/.o/')" &
  pids+=($!)
  if (( ${#pids[@]} >= $(nproc) )); then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
[[ $status == 0 ]] || { echo "compiling the Windows addon failed" >&2; exit 1; }
# -static: libstdc++, libgcc and winpthread go inside, so the DLL needs only node.exe and system DLLs.
"$cxx" -shared -o "$out" "$work"/addon-obj/*.o -L"$work" -lnode -static -static-libgcc -static-libstdc++
echo "$out"
