// The native half of a loop trace: where each operation ran (the loop thread, the kernel, a pool thread, a
// completion port) and, for pool threads and inline runs, when it started and ended. The JS loop records
// submissions, completions and task steps itself (src/core/trace.ts); only the backend knows which thread
// ran an operation, so it writes that here.
//
// A backend gets a sink only when a trace was asked for: with none set, recording costs one relaxed atomic
// load per operation run. The sink is a fixed ring allocated once, so recording never allocates; writers
// are pool workers and the loop thread, hence the mutex (taken only while tracing). The owner drains it in
// batches (take()), once per loop iteration. When the ring is full the oldest records are overwritten and
// counted in dropped(), so a trace says what it lost instead of blocking a worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace corio {

enum class RanOn : uint8_t {
  kLoopThread = 1,  // synchronously on the thread that called submit/wait (inline)
  kKernel = 2,      // by the kernel: io_uring (in the submitting call or on an io-wq worker)
  kPoolThread = 3,  // by one of the backend's own worker threads
  kPort = 4,        // overlapped I/O completed through an IOCP port
};

struct TraceRecord {
  uint32_t token = 0;
  RanOn ran_on = RanOn::kKernel;
  uint16_t worker = 0;     // pool thread index (kPoolThread), else 0
  int64_t start_ns = 0;    // steady clock; 0 when unknown (the kernel does not say when io-wq ran it)
  int64_t end_ns = 0;
};

class TraceSink {
 public:
  explicit TraceSink(size_t capacity = 1 << 16) : ring_(capacity ? capacity : 1) {}

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  void record(const TraceRecord& r) {
    std::lock_guard<std::mutex> lock(mu_);
    ring_[(head_ + count_) % ring_.size()] = r;
    if (count_ < ring_.size()) {
      count_++;
    } else {
      head_ = (head_ + 1) % ring_.size();  // full: the oldest record gives way
      dropped_++;
    }
  }

  // Moves up to `capacity` records into `out`, oldest first; returns how many.
  size_t take(TraceRecord* out, size_t capacity) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = count_ < capacity ? count_ : capacity;
    for (size_t i = 0; i < n; i++) out[i] = ring_[(head_ + i) % ring_.size()];
    head_ = (head_ + n) % ring_.size();
    count_ -= n;
    return n;
  }

  uint64_t dropped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return dropped_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<TraceRecord> ring_;
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace corio
