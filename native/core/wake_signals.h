// Hosted mode's wake descriptor (backend.h contract 12) for the pool backends: an eventfd (epoll) or a
// pipe (kqueue) that workers and wake() write and that another loop polls level-triggered. Every poll used
// to drain it with a read(2), which fails with EAGAIN when nothing wrote it — and with small writes inline
// (inline_writes.h) nothing usually has: W3 with one 128 B write in flight paid that system call on every
// loop iteration, and hosted epoll ran at 0.86x run()'s rate there against 0.97x on io_uring, whose poll
// needs no system call (bench w3-1, 11 runs; 1.02x with this).
//
// So each write is bracketed by two counters, started before it and done after it, and the owner drains
// only when a write started since the done-count it read just before its last drain. Why that is safe:
//  - a write counted done before a drain began was consumed by that drain, and any later write raised
//    `started` before it wrote, so skipping never leaves the descriptor readable with nothing behind it
//    (which the host's level-triggered poll would call back for on every turn);
//  - a write half done at a drain (started, not yet done) is drained again once it is done;
//  - a poll that the write itself woke finds `started` raised, so it always drains (counting only after
//    the write failed pollable_cases.cc once: the poll can run between the write and the count).
#pragma once

#include <atomic>
#include <cstdint>

namespace corio {

class WakeSignals {
 public:
  // Any thread: `write` makes the descriptor readable.
  template <typename Write>
  void signal(Write write) {
    started_.fetch_add(1);
    write();
    done_.fetch_add(1);
  }

  // The owner's poll: calls `drain` unless nothing can have written since the last drain.
  template <typename Drain>
  void drain_if_signalled(Drain drain) {
    const uint64_t done = done_.load();
    if (started_.load() == drained_through_) return;
    drain();
    drained_through_ = done;
  }

 private:
  std::atomic<uint64_t> started_{0}, done_{0};
  uint64_t drained_through_ = 0;  // owner only: done_ as read just before the last drain
};

}  // namespace corio
