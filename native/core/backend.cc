// Portable pieces of the contract that every build shares.
#include "backend.h"

#include <atomic>

namespace corio {

const char* op_name(OpCode op) {
  // The syscall names Node puts in `err.syscall`, so corio's errors read like node:fs errors.
  static const char* const names[] = {"open",  "close",  "read",  "write",  "readv",     "writev",
                                      "fsync", "fdatasync", "ftruncate", "fstat", "unlink", "rename",
                                      "mkdir", "rmdir",  "stat",  "fallocate", "scandir"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(OpCode::kCount), "one name per opcode");
  auto i = size_t(op);
  return i < size_t(OpCode::kCount) ? names[i] : "unknown";
}

namespace {
std::atomic<uint64_t> g_slow_drain_rounds{0};
}

void note_slow_drain_round() { g_slow_drain_rounds.fetch_add(1, std::memory_order_relaxed); }
uint64_t slow_drain_rounds() { return g_slow_drain_rounds.load(std::memory_order_relaxed); }

}  // namespace corio
