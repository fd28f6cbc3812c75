// Descriptors on Windows: the contract (backend.h) speaks in int fds; Windows speaks in HANDLEs. This table
// maps small non-negative ints to HANDLEs plus the little state POSIX keeps in the kernel and Windows does
// not: the current position of an overlapped handle and the O_APPEND flag.
//
// Why a table of our own and not the C runtime's (_open_osfhandle): the CRT's descriptors carry text-mode
// and buffering state that would fight overlapped I/O, its table differs between the static and the DLL
// runtimes (the addon and node.exe need not share one), and we need per-descriptor state the CRT does
// not have. The table is process-wide, not per backend, because descriptors outlive backends on POSIX too:
// one backend may open a file and another use it (the core cases do).
//
// Numbers: the lowest free number from 3 up, as POSIX hands out the lowest free descriptor; 0-2 are left
// out so a corio descriptor is never mistaken for stdio. A closed number is reused, so a stale descriptor
// may name a newer file, exactly as on POSIX.
//
// Threads: every function is safe from any thread (one mutex, held for a few pointer moves). An entry is
// shared_ptr-owned so an operation holding it keeps its bookkeeping alive across a concurrent close; the
// HANDLE itself is closed by fd_close, and contract 8 (per-descriptor order) keeps operations from using
// it after that.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace corio::win {

enum class FdKind : uint8_t {
  kDisk,  // a file or directory on a file system: positions mean something
  kPipe,  // anonymous or named pipe: positions are ignored, reads may block until a writer writes
  kChar,  // console, NUL
  kOther,
};

struct FdEntry {
  HANDLE handle = INVALID_HANDLE_VALUE;
  FdKind kind = FdKind::kOther;
  bool overlapped = false;  // opened with FILE_FLAG_OVERLAPPED: every read/write needs an OVERLAPPED
  bool append = false;      // O_APPEND: writes at kCurrentPosition go to the end (offset 0xFFFFFFFF'FFFFFFFF)
  bool directory = false;
  // The current position for kCurrentPosition reads and writes. An overlapped handle has no file pointer
  // the kernel advances for us (each call names its offset), so corio keeps it: the operation at the
  // current position reads it, names it as the offset, and advances it by the bytes moved when it
  // completes. Operations at the current position hold their descriptor exclusively (iocp.cc's gate, the
  // pool's per-descriptor FIFO), so two never race on it. Positional operations leave it alone (pread).
  std::atomic<int64_t> position{0};
  // The IOCP backend whose completion port this handle is associated with, 0 for none. Windows allows
  // one association per handle for its whole life, so it is set once (compare-exchange from 0) and never
  // changes; another backend sends this handle's I/O to its worker pool instead (iocp.cc).
  std::atomic<uint64_t> port_owner{0};
  // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is in force: a call that succeeds at once queues no packet.
  std::atomic<bool> skip_on_success{false};
};

// Takes ownership of `h` (closed by fd_close) and returns its descriptor, or -EMFILE/-ENOMEM (then `h` is
// still the caller's). `overlapped` must say how `h` was opened: Windows cannot tell afterwards.
int fd_adopt(HANDLE h, bool overlapped, bool append);
// The entry for `fd`, or null when `fd` is not open (EBADF).
std::shared_ptr<FdEntry> fd_get(int fd);
// Removes `fd` and closes its HANDLE: 0, or -EBADF when it was not open. The number is free at once.
int fd_close(int fd);

}  // namespace corio::win
