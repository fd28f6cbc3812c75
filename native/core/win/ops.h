// Blocking implementations of every OpCode for Windows, in place of posix/ops.cc. The IOCP backend runs
// what has no overlapped form (opens, closes, syncs, truncate, stat, the path operations) on the worker
// pool through run_blocking(); reads and writes normally go to the completion port instead, and come here
// only for a handle the port cannot take (see iocp.cc).
//
// Results follow the contract: bytes or a descriptor, or -errno with the C runtime's errno values
// (<errno.h>: ENOENT 2, EEXIST 17, ECANCELED 105 …), so the same test cases compare against the same
// names on every platform. Win32 errors are mapped once, in errno_from_win32().
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "../backend.h"
#include "fd.h"

namespace corio::win {

// Runs `sub` to completion on the calling (worker) thread. `cancelled`, when set, stops the operation
// between calls; the pool's Windows interrupt (win/pool_os.cc) queues an APC that ends the alertable wait an
// overlapped transfer sleeps in, and calls CancelSynchronousIo for a synchronous one.
int32_t run_blocking(const Submission& sub, const std::atomic<bool>* cancelled = nullptr);

// -errno for a Win32 error code (GetLastError()). EIO for anything not in the table.
int32_t errno_from_win32(DWORD error);

// What a failed transfer reports: reads at the end of a file or of a pipe whose writer left are 0 (EOF,
// as read(2) says it); a cancelled transfer is -ECANCELED; a broken pipe on write is -EPIPE.
int32_t transfer_error(DWORD error, bool write);

// UTF-8 → UTF-16 for the W APIs. Long absolute paths get the \\?\ prefix (with '/' turned into '\',
// which that prefix requires) so they are not cut at MAX_PATH. False for invalid UTF-8 (EINVAL).
bool to_wide(const char* utf8, std::wstring* out);
std::string to_utf8(const wchar_t* wide, size_t len);

// The offset an overlapped transfer on `e` names in its OVERLAPPED (win/fd.h explains the position):
// the given offset, the tracked position for kCurrentPosition, or the append marker 0xFFFFFFFF'FFFFFFFF
// for a write at the current position of an O_APPEND handle. Pipes and consoles ignore it (0).
uint64_t transfer_offset(const FdEntry& e, bool write, int64_t offset);
// After a transfer at kCurrentPosition moved `bytes`: advances the tracked position (to the end of the
// file after an append, as write(2) leaves it).
void advance_position(FdEntry& e, bool write, int64_t offset, uint32_t bytes);

// Fills `out` like fstat(2) from an open handle (mode bits as libuv synthesises them: 0666, or 0444 for
// read-only files; directories 0777/0555; a symbolic link S_IFLNK when `h` was opened on the link itself).
int32_t stat_handle(HANDLE h, StatResult* out);

}  // namespace corio::win
