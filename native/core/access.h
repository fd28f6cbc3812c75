// How operations on one descriptor may overlap, for backends that must enforce contract 8 themselves
// (io_uring and IOCP start operations concurrently; the pool runs one descriptor's operations in turn).
//
// Positional reads overlap each other and positional writes overlap each other; fsync, fdatasync,
// ftruncate, fallocate, close and reads at the file position wait for everything before them on that
// descriptor and hold back everything after. Without a gate, a read submitted after a write in the same
// batch could be served from the page cache before the write's kernel worker runs, and an fsync could start
// before the write it should cover. Path operations have no descriptor and are not gated.
#pragma once

#include "backend.h"

namespace corio {

enum class Access : uint8_t { kNone, kRead, kWrite, kExclusive };

// `exclusive_positionless_writes`: a write at the file position must run alone where the backend keeps
// the position itself (IOCP: overlapped handles have none); io_uring leaves it to the kernel, which
// serializes one inode's buffered writes.
inline Access access_of(const Submission& sub, bool exclusive_positionless_writes) {
  if (!uses_fd(sub.op)) return Access::kNone;
  switch (sub.op) {
    case OpCode::kRead:
    case OpCode::kReadv:
      return sub.offset == kCurrentPosition ? Access::kExclusive : Access::kRead;
    case OpCode::kFstat:
      return Access::kRead;
    case OpCode::kWrite:
    case OpCode::kWritev:
      return exclusive_positionless_writes && sub.offset == kCurrentPosition ? Access::kExclusive : Access::kWrite;
    default:
      return Access::kExclusive;
  }
}

}  // namespace corio
