// A worker pool that runs blocking file operations for the readiness backends (epoll on Linux, kqueue on
// macOS) and turns them into completions.
//
// Portable C++20 only (std::thread, std::mutex, std::condition_variable): the same file serves every
// platform that has no completion I/O for regular files. How the owner learns that completions are waiting
// is the backend's business (an eventfd on Linux, EVFILT_USER on macOS); the pool only calls `notify`.
//
// Threads: stage(), flush(), cancel(), reinterrupt(), take() and shutdown() belong to the owner (the loop
// thread, contract 10). Workers only run operations and push completions. `notify` runs on worker threads.
//
// Cancelling a running operation interrupts its worker with a signal (see pool.cc for the signal, the
// handler and the race it leaves, which reinterrupt() closes). Workers block every asynchronous signal but
// that one, so SIGINT, SIGTERM, SIGCHLD and the like are never delivered to a pool thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backend.h"
#include "inline_writes.h"
#include "trace.h"

namespace corio {

// Small writes on the owner thread instead of a worker (inline_writes.h has the policy and its reasons).
// Empty `write`: off, as the IOCP backend and the pool's own tests have it. The POSIX backends pass
// write_in_place (posix/ops.h), which refuses descriptors that cannot seek.
struct PoolInlinePath {
  std::function<bool(const Submission&, int32_t* result)> write;
  // Open flags whose descriptors never run inline: every write on them waits for the device (O_DSYNC,
  // O_SYNC, O_DIRECT: the platform's spelling, so this file names none).
  int32_t sync_open_flags = 0;
};

class WorkerPool {
 public:
  // Runs one operation to completion on the calling (worker) thread; returns the contract's int32 result.
  // `cancelled` turns true when the owner cancels the operation while it runs; the pool then interrupts
  // the thread, and the runner should stop soon after (run_blocking(sub, &cancelled) does). A runner that
  // ignores it simply finishes and reports what it did. Production code passes run_blocking
  // (posix/ops.h); tests inject runners that block or record.
  using Runner = std::function<int32_t(const Submission&, const std::atomic<bool>& cancelled)>;

  using InlinePath = PoolInlinePath;

  struct Counters {
    uint64_t inline_ops = 0;  // writes run on the owner thread by the InlinePath
    uint64_t worker_ops = 0;  // operations a worker ran (cancelled-before-start ones are not counted)
    uint64_t interrupts = 0;  // signals sent to workers running a cancelled operation (first and repeats)
    uint32_t held = 0;        // waiting behind the in-flight cap (contract 7)
    uint32_t admitted = 0;    // given to workers and not yet taken by the owner (counts against the cap)
    uint32_t ready = 0;       // completions waiting for take()
    uint32_t cancelling = 0;  // running operations with a cancel requested that have not finished yet
  };

  // The signal that interrupts workers, installed on first use, once per process; 0 when it could not be
  // installed (someone else's handler holds it, or the platform has none), in which case a running
  // operation only sees its `cancelled` flag between system calls and a blocked one runs on. The reason is
  // in interrupt_signal_status().
  static int interrupt_signal();
  static const char* interrupt_signal_status();

  // How often a cancel's signal is repeated while the operation still runs (see reinterrupt()).
  static constexpr int kReinterruptMs = 5;

  // Starts `threads` workers (at least one). Throws std::system_error when a thread cannot be created,
  // after stopping the ones that did start. `max_in_flight` of 0 is taken as 1.
  WorkerPool(uint32_t threads, uint32_t max_in_flight, Runner runner, std::function<void()> notify,
             InlinePath inline_path = {});
  ~WorkerPool();  // shutdown()

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Copies `sub` (and its path and iovec array, contract 4) into the pool's staging list. Workers do not
  // see it until flush(). Never blocks on I/O, but for a write the InlinePath runs here and now: one
  // positional write of at most 64 KiB to a seekable descriptor with nothing else staged, queued, running
  // or untaken, as long as the policy's budget and back-off allow (inline_writes.h); its completion waits
  // for take() like any other. After shutdown() it completes at once with -ECANCELED.
  void stage(const Submission& sub);
  // Hands every staged operation to the workers in order, as far as the in-flight cap allows; the rest wait
  // behind the cap in FIFO order and are admitted by take() as slots free up. One lock per batch.
  void flush();
  // Not started (staged, held or queued): removed and completed with -ECANCELED, returns true. Running:
  // marks it cancelled, interrupts its worker and returns true; the operation completes with -ECANCELED
  // or with what it had done. Unknown or already complete: false. Either way the token completes exactly
  // once.
  bool cancel(uint32_t token);
  // Closes the race a cancel's signal leaves (pool.cc): interrupts again every worker whose cancelled
  // operation is still running and whose last signal has already been handled. Returns how many cancelled
  // operations are still running; while that is non-zero the owner must call this again within a few
  // milliseconds (the epoll backend clamps its sleep). Cheap when nothing is being cancelled: one atomic
  // load, no lock.
  uint32_t reinterrupt();
  // Moves up to `capacity` completions into `out`, oldest first; returns how many. Freed slots admit
  // held-back operations.
  size_t take(Completion* out, size_t capacity);
  // Stops accepting work, completes everything not yet started with -ECANCELED, cancels and interrupts
  // running operations (repeating the signal until each has returned) and joins the workers. Idempotent.
  // After it returns no worker touches caller memory.
  void shutdown();

  Counters counters() const;

  // Records each operation a worker runs (start, end, worker index) into `sink`, or stops with null.
  void set_trace(TraceSink* sink) { trace_.store(sink, std::memory_order_release); }

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
    bool counted = false;  // its descriptor's owner_fd_ops_ entry is lowered by take()
    int32_t fd = -1;
  };
  // What the owner knows about one worker thread.
  struct Worker {
    Job* job = nullptr;  // the operation it runs, or null (guarded by mu_)
    // True from the moment a signal is sent to this worker until its handler has run. A repeat is sent
    // only when this is false: real-time signals queue (each pthread_kill is one more entry, counted
    // against RLIMIT_SIGPENDING), so a worker stuck in an uninterruptible call must not collect one per
    // loop iteration. Written by the owner under mu_ and by the signal handler on the worker.
    std::atomic<bool> signal_unhandled{false};
    // What the platform needs to interrupt this thread (pool_os.h); set by the worker itself at start.
    uintptr_t os_ref = 0;
  };

  void worker_main(size_t index);
  void interrupt_locked(size_t index);
  void admit_locked(std::unique_ptr<Job> job, size_t* new_units);
  void finish_locked(uint32_t token, int32_t result, bool admitted, bool* was_empty, bool counted = false,
                     int32_t fd = -1);
  void finish_job_locked(const Job& job, int32_t result, bool admitted, bool* was_empty);
  bool try_inline(const Submission& sub);
  void count_taken(const Done& d);
  void wake_workers(size_t new_units);

  const uint32_t max_in_flight_;
  const Runner runner_;
  const std::function<void()> notify_;

  std::vector<std::unique_ptr<Job>> staged_;  // owner thread only, no lock
  bool closed_ = false;                       // owner thread only: shutdown() has begun

  // The inline path's state, owner thread only. owner_fd_ops_ counts, per descriptor, the operations
  // staged through the pool whose completion take() has not handed out yet: an inline write may run only
  // where that is zero (contract 8), and only while inline_path_.write is set is anything counted.
  const InlinePath inline_path_;
  InlineWrites inline_policy_;
  std::unordered_map<int32_t, uint32_t> owner_fd_ops_;
  std::vector<Completion> inline_done_;              // inline completions, oldest first, for take()
  std::unordered_set<uint32_t> sync_opens_;         // tokens of opens with sync_open_flags, until taken
  std::unordered_set<int32_t> sync_fds_;            // descriptors those opens returned, until closed
  uint64_t inline_ops_ = 0;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable work_cv_;
  std::deque<std::unique_ptr<Job>> held_;                 // behind the in-flight cap, FIFO
  std::deque<Unit> runnable_;                             // FIFO of units workers pick from
  std::unordered_map<int32_t, FdQueue> fds_;              // per-descriptor FIFO (contract 8)
  std::unique_ptr<Worker[]> workers_;                     // one per thread; fixed addresses (atomics)
  size_t worker_count_ = 0;
  std::deque<Done> done_;                                 // completions for take()
  std::condition_variable idle_cv_;                       // shutdown(): a running operation finished
  uint32_t admitted_ = 0;
  uint64_t worker_ops_ = 0;
  uint64_t interrupts_ = 0;
  bool stopping_ = false;
  // Running operations with a cancel requested (changed under mu_). Atomic so reinterrupt() can skip the
  // lock on every loop iteration when nothing is being cancelled, which is almost always.
  std::atomic<uint32_t> cancelling_{0};
  std::atomic<TraceSink*> trace_{nullptr};

  std::vector<std::thread> threads_;  // last: started after everything above exists
};

}  // namespace corio
