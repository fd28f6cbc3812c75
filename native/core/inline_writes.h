// Which small writes run on the loop thread instead of being handed to the kernel or a pool thread
// (issue 16, item 3). Shared by the io_uring backend (linux/uring.cc) and the worker pool behind epoll and
// kqueue (pool.cc); portable C++ only, so it builds for every platform even where nothing uses it.
//
// Why: a write with one in flight pays a hand-off to another thread and a wake-up back, per write. On this
// 2-vCPU VM that is ~40-47 µs through an io-wq worker (ext4 never completes a buffered write in the
// submitting call) and ~25-29 µs through the pool (4 KiB writes, one in flight, epoll backend), where
// pwrite(2) into the page cache costs (C loop, hot cache, extending a file on ext4, 3 runs): 0.86-0.98 µs
// for 128 B, 4.0-5.0 µs for 4 KiB, 6.5-8.8 µs for 16 KiB, 19-35 µs for 64 KiB and 56-71 µs for 256 KiB.
// Up to 64 KiB the write itself is cheaper than the hand-off, so such a write runs inline when nothing
// else is in flight on its descriptor (contract 8 then holds trivially) and its offset is explicit (a
// pipe, FIFO or socket answers pwrite with ESPIPE at once, having written nothing, and the write then goes
// the usual way: a stream write could block the loop).
//
// A buffered write can still block: dirty-page throttling, a journal commit, a slow or remote file
// system. So the policy watches itself: an exponentially weighted mean (weight 1/8) of the inline writes'
// durations; once it exceeds kSlowNs — slower than the hand-off it replaces — the next kCooldown eligible
// writes go the usual way, then inlining is tried again from a fresh mean. Descriptors opened through the
// backend with O_DIRECT or O_DSYNC/O_SYNC (every write waits for the device) never run inline.
// Between two wait() calls inline writes may take at most kBudgetNs (200 µs) of the loop thread; the rest of
// that iteration's writes go the usual way. Measured without it (bench W6 on io_uring, 1 ms ticker while 64
// tasks write 4 KiB files and 32 write 128 B records, 3 interleaved rounds): ticker lateness p50 0.80-2.21 ms
// inline vs 0.35-0.56 ms with every write in the kernel, because a burst of 64 new-file writes ran back to
// back. With the budget, 3 more interleaved rounds were inconclusive (p50 0.15-4.3 ms on vs 0.21-1.8 ms off:
// the machine was busier than ever); the budget bounds the loop-thread time by construction, not by that
// figure. On epoll (full bench 2026-12-03T11-39-07Z) W6's p99 went from 1.36x Node's to 2.64x with it on.
//
// BackendOptions::inline_writes = false, or CORIO_INLINE_WRITES=0 in the environment, turns it off.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "backend.h"

namespace corio {

struct InlineWrites {
  static constexpr uint64_t kMaxBytes = 64 * 1024;
  static constexpr int64_t kSlowNs = 50 * 1000;
  static constexpr uint32_t kCooldown = 256;
  // Loop-thread time inline writes may take between two wait() calls (one loop iteration); past it, the
  // iteration's further writes go the usual way. Keeps a burst of writes from delaying timers and other
  // completions (W6 lateness, above).
  static constexpr int64_t kBudgetNs = 200 * 1000;

  bool enabled = true;
  int64_t mean_ns = 0;
  uint32_t cooldown = 0;  // eligible writes still to send the usual way before trying inline again
  int64_t budget_ns = kBudgetNs;  // left in this iteration; refilled by new_iteration()

  // Whether this backend may inline at all: the option, unless the environment says CORIO_INLINE_WRITES=0.
  static bool wanted(const BackendOptions& options) {
    const char* env = std::getenv("CORIO_INLINE_WRITES");
    return options.inline_writes && !(env && std::strcmp(env, "0") == 0);
  }

  // A write the policy may consider at all: positional, small, a write opcode. `bytes` is its total length.
  static bool shape_fits(const Submission& sub, uint64_t bytes) {
    return (sub.op == OpCode::kWrite || sub.op == OpCode::kWritev) && sub.offset >= 0 && bytes <= kMaxBytes;
  }

  void new_iteration() { budget_ns = kBudgetNs; }

  // Asked once per eligible write; false while cooling down.
  bool take_turn() {
    if (budget_ns <= 0) return false;  // this iteration's share of the loop thread is used up
    if (cooldown == 0) return true;
    if (--cooldown == 0) mean_ns = 0;  // start afresh: the condition that made writes slow may be gone
    return false;
  }
  // Returns true when this write made the mean cross kSlowNs (the policy then backs off).
  bool note(int64_t ns) {
    budget_ns -= ns;
    mean_ns += (ns - mean_ns) / 8;
    if (mean_ns <= kSlowNs) return false;
    cooldown = kCooldown;
    return true;
  }
};

}  // namespace corio
