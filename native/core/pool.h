// A worker pool that runs blocking file operations for the readiness backends (epoll on Linux, kqueue on
// macOS) and turns them into completions.
//
// Portable C++20 only (std::thread, std::mutex, std::condition_variable): the same file serves every
// platform that has no completion I/O for regular files. How the owner learns that completions are waiting
// is the backend's business (an eventfd on Linux, EVFILT_USER on macOS); the pool only calls `notify`.
//
// Threads: stage(), flush(), cancel(), take() and shutdown() belong to the owner (the loop thread, contract
// 10). Workers only run operations and push completions. `notify` runs on worker threads.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "backend.h"

namespace corio {

class WorkerPool {
 public:
  // Runs one operation to completion on the calling (worker) thread; returns the contract's int32 result.
  // Production code passes run_blocking (posix_ops.h); tests inject runners that block or record.
  using Runner = std::function<int32_t(const Submission&)>;

  struct Counters {
    uint64_t worker_ops = 0;  // operations a worker ran (cancelled-before-start ones are not counted)
    uint32_t held = 0;        // waiting behind the in-flight cap (contract 7)
    uint32_t admitted = 0;    // given to workers and not yet taken by the owner (counts against the cap)
    uint32_t ready = 0;       // completions waiting for take()
  };

  // Starts `threads` workers (at least one). Throws std::system_error when a thread cannot be created,
  // after stopping the ones that did start. `max_in_flight` of 0 is taken as 1.
  WorkerPool(uint32_t threads, uint32_t max_in_flight, Runner runner, std::function<void()> notify);
  ~WorkerPool();  // shutdown()

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Copies `sub` (and its path and iovec array, contract 4) into the pool's staging list. Workers do not
  // see it until flush(). Never blocks on I/O. After shutdown() it completes at once with -ECANCELED.
  void stage(const Submission& sub);
  // Hands every staged operation to the workers in order, as far as the in-flight cap allows; the rest wait
  // behind the cap in FIFO order and are admitted by take() as slots free up. One lock per batch.
  void flush();
  // Not started (staged, held or queued): removed and completed with -ECANCELED, returns true. Running:
  // returns true and the operation finishes normally (see pool.cc for why). Unknown or already complete:
  // false. Either way the token completes exactly once.
  bool cancel(uint32_t token);
  // Moves up to `capacity` completions into `out`, oldest first; returns how many. Freed slots admit
  // held-back operations.
  size_t take(Completion* out, size_t capacity);
  // Stops accepting work, completes everything not yet started with -ECANCELED, lets running operations
  // finish and joins the workers. Idempotent. After it returns no worker touches caller memory.
  void shutdown();

  Counters counters() const;

 private:
  struct Job;
  // A unit of work a worker can pick up: either one descriptor's queue (job == null) or one operation
  // without a descriptor (open), which may run on any worker at any time.
  struct Unit {
    int32_t fd;
    std::unique_ptr<Job> job;
  };
  struct FdQueue {
    std::deque<std::unique_ptr<Job>> jobs;
    bool owned = false;   // a worker is running this descriptor's front operation
    bool listed = false;  // a Unit for this descriptor sits in runnable_
  };
  struct Done {
    Completion completion;
    bool admitted;  // counted against the cap, so take() frees a slot
  };

  void worker_main(size_t index);
  void admit_locked(std::unique_ptr<Job> job, size_t* new_units);
  void finish_locked(uint32_t token, int32_t result, bool admitted, bool* was_empty);
  void wake_workers(size_t new_units);

  const uint32_t max_in_flight_;
  const Runner runner_;
  const std::function<void()> notify_;

  std::vector<std::unique_ptr<Job>> staged_;  // owner thread only, no lock
  bool closed_ = false;                       // owner thread only: shutdown() has begun

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_;
  std::deque<std::unique_ptr<Job>> held_;                 // behind the in-flight cap, FIFO
  std::deque<Unit> runnable_;                             // FIFO of units workers pick from
  std::unordered_map<int32_t, FdQueue> fds_;              // per-descriptor FIFO (contract 8)
  std::vector<const Job*> running_;                       // per worker: the job it runs, or null
  std::deque<Done> done_;                                 // completions for take()
  uint32_t admitted_ = 0;
  uint64_t worker_ops_ = 0;
  bool stopping_ = false;

  std::vector<std::thread> threads_;  // last: started after everything above exists
};

}  // namespace corio
