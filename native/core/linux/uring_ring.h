// The io_uring backend's ring: creating it, probing what the kernel offers, and mapping the shared rings.
// Split from uring.cc, which runs operations on the ring; only the two uring*.cc files include this.
#pragma once

#include <linux/io_uring.h>
#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "../backend.h"
#include "uring.h"

// Constants newer than the 6.1 uapi header this machine has. The values are the kernel's ABI and never
// change once released. (Enum members cannot be tested with #ifndef, so opcodes get names of our own.)
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)  // 5.18
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)  // 5.19
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)  // 6.0
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)  // 6.1
#endif

namespace corio::uring {

constexpr uint8_t kOpFtruncate = 55;  // IORING_OP_FTRUNCATE, Linux 6.9 (enum io_uring_op in io_uring.h)

constexpr uint32_t kMaxSqEntries = 32768;  // IORING_MAX_ENTRIES
constexpr uint32_t kMaxCqEntries = 65536;  // IORING_MAX_CQ_ENTRIES
// CQ room kept beyond the in-flight cap for the wake read and cancel requests. Not a correctness bound:
// many cancels at once can still overflow, which the overflow flush handles.
constexpr uint32_t kInternalReserve = 64;

template <typename T>
T load_acquire(const T* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
template <typename T>
void store_release(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

// "EPERM", or "errno N" for the rare ones: for reasons shown to users.
std::string errno_text(int e);

// The mapped rings and their descriptor. Owns the mappings; the backend owns everything else.
struct Ring {
  int fd = -1;
  uint32_t setup_flags = 0;
  uint32_t features = 0;
  void* sq_map = MAP_FAILED;
  size_t sq_map_len = 0;
  void* cq_map = MAP_FAILED;  // == sq_map with IORING_FEAT_SINGLE_MMAP
  size_t cq_map_len = 0;
  io_uring_sqe* sqes = static_cast<io_uring_sqe*>(MAP_FAILED);
  size_t sqes_len = 0;

  unsigned* sq_head = nullptr;  // kernel-owned
  unsigned* sq_tail = nullptr;  // ours
  unsigned* sq_flags = nullptr;  // kernel-owned: IORING_SQ_CQ_OVERFLOW, IORING_SQ_TASKRUN
  unsigned sq_mask = 0, sq_entries = 0;
  unsigned* cq_head = nullptr;  // ours
  unsigned* cq_tail = nullptr;  // kernel-owned
  io_uring_cqe* cqes = nullptr;
  unsigned cq_mask = 0, cq_entries = 0;

  ~Ring();
  // Maps the rings after a successful io_uring_setup. Returns 0 or an errno.
  int map(const io_uring_params& p);
};

// Which opcodes go to the ring; the rest run through run_blocking on the loop thread (readdir: the helper).
using RingOps = std::array<bool, size_t(OpCode::kCount)>;

struct Probed {
  std::unique_ptr<Ring> ring;
  RingOps in_ring{};
  std::string summary;
};

// Creates the ring, maps it and checks every feature we rely on. Null + *reason when io_uring cannot serve.
Probed probe(const BackendOptions& options, const TestHooks& hooks, std::string* reason);

}  // namespace corio::uring
