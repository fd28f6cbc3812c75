// The worker pool behind the readiness backends. Design, in the order an operation meets it:
//
//  inline    Before any of this, stage() may run a small positional write right there on the owner thread
//            (InlinePath; inline_writes.h says when and why), when nothing else of its descriptor is in
//            the pool; its completion waits in inline_done_ for take(), which hands those out first.
//  staged_   Owner-thread list filled by stage(). No lock: submit() on the loop thread only copies the
//            request. flush() moves the whole batch under one lock acquisition.
//  held_     Operations beyond the in-flight cap (contract 7), FIFO. "In flight" counts from admission
//            until the owner take()s the completion, the same window io_uring's CQ has to cover, so a loop
//            that stops reaping also stops the pool instead of growing the completion queue without bound.
//  fds_      One FIFO per descriptor (contract 8). A descriptor's queue is owned by at most one worker at a
//            time (`owned`), and that worker runs only its front operation, so operations on one descriptor
//            start in submission order and never overlap. Different descriptors run in parallel.
//  runnable_ FIFO of units a worker may take: a descriptor whose queue is non-empty and not owned (at most
//            one unit per descriptor, tracked by `listed`), or one operation without a descriptor (open),
//            which any worker may run at once. After one operation a worker puts its descriptor back at
//            the tail when more work is queued, so a descriptor with 5,000 writes cannot starve the
//            others; with nothing else runnable the same worker picks it straight up again, so a
//            single-file burst costs no hand-off between threads.
//  done_     Completions, oldest first. A worker calls notify() only when it turns done_ from empty to
//            non-empty: waking the loop costs ~44 µs across CPUs (NOTES.md), so a burst of completions
//            that lands while the loop is still waking costs that once.
//
// One mutex guards everything but staged_: the critical sections are a few pointer moves, the owner takes
// it once per flush and once per take, and two locks would make cancel() reason about two orders.
//
// Cancelling a running operation. A worker blocked in write(2) on a pipe nobody reads, or in read(2) on a
// FIFO with no writer, can only be pulled out by a signal; io_uring does the same to its io-wq workers for
// IORING_OP_ASYNC_CANCEL. cancel() sets the job's `cancelled` flag, then pthread_kill()s the worker with
// the interrupt signal. Its handler is installed without SA_RESTART, so the blocking call returns EINTR
// (or a short count, for a write that had moved some bytes), and run_blocking sees the flag and stops.
//
// The race, and how it is closed. The flag is checked before each system call, but between that check
// and the kernel entering the call there is a window: a signal that lands there runs its handler in user
// space, and the call then blocks as if nothing had happened. No user-space check can close the window
// (that needs the syscall itself to test a flag, as io_uring's workers do in the kernel). So the signal
// is repeated until the operation returns: the handler records that it ran (Worker::signal_unhandled),
// and reinterrupt(), which the backend calls on every wait() and at least every kReinterruptMs while a
// cancel is outstanding, sends a new signal to each worker whose cancelled operation still runs and
// whose last signal was already handled. The window is a few instructions wide, so the first repeat
// lands. A worker whose signal stays unhandled is in an uninterruptible sleep (a disk write, fsync on a
// hung NFS server): the pending signal interrupts it as soon as it can be interrupted, and sending more
// would only queue more real-time signals. shutdown() runs the same loop itself (contract 9).
#include "pool.h"

#include <cerrno>
#include <chrono>
#include <new>
#include <string>
#include <system_error>

#include "pool_os.h"

namespace corio {

// The interrupt (a signal on POSIX, an APC plus CancelSynchronousIo on Windows) is the one thing here
// with no portable spelling: it lives behind pool_os.h, one file per platform (posix/pool_os.cc, win/pool_os.cc).
int WorkerPool::interrupt_signal() { return pool_os::interrupt_id(); }
const char* WorkerPool::interrupt_signal_status() { return pool_os::interrupt_status(); }

struct WorkerPool::Job {
  Submission sub;
  std::string path;        // owns sub.path (contract 4: the caller may free its copy after submit)
  std::string path2;       // owns sub.path2 (rename's target), for the same reason
  std::vector<IoVec> iov;  // owns sub.iov; the targets stay the caller's
  // Every opcode but open names a descriptor and so goes through that descriptor's FIFO. An invalid fd
  // (-1, closed) still queues under its number: the runner reports EBADF in order with its neighbours.
  bool has_fd() const { return uses_fd(sub.op); }
  // Set (once) by cancel() or shutdown() while the job runs; the runner reads it (run_blocking stops).
  std::atomic<bool> cancelled{false};
  // Counted in owner_fd_ops_ (the inline path is on and the job names a descriptor): take() lowers it.
  bool counted = false;
};

WorkerPool::WorkerPool(uint32_t threads, uint32_t max_in_flight, Runner runner, std::function<void()> notify,
                       InlinePath inline_path)
    : max_in_flight_(max_in_flight ? max_in_flight : 1),
      runner_(std::move(runner)),
      notify_(std::move(notify)),
      inline_path_(std::move(inline_path)) {
  if (threads == 0) threads = 1;
  workers_ = std::make_unique<Worker[]>(threads);
  worker_count_ = threads;
  threads_.reserve(threads);
  // Workers take no asynchronous signal but the interrupt (pool_os.h: the platform sets the mask the
  // threads inherit while spawn_workers runs this).
  try {
    pool_os::spawn_workers([&] {
      for (uint32_t i = 0; i < threads; i++) threads_.emplace_back(&WorkerPool::worker_main, this, size_t(i));
    });
  } catch (...) {
    shutdown();  // join the workers that did start before the members they use go away
    throw;
  }
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::stage(const Submission& sub) {
  // Contract 1: submit never fails. Out of memory becomes the operation's result, delivered by take().
  try {
    if (inline_path_.write && !closed_) {
      if (try_inline(sub)) return;
      if (sub.op == OpCode::kOpen && (sub.flags & inline_path_.sync_open_flags)) sync_opens_.insert(sub.token);
      if (sub.op == OpCode::kClose && !sync_fds_.empty()) sync_fds_.erase(sub.fd);
    }
    auto job = std::make_unique<Job>();
    job->sub = sub;
    if (sub.path) {
      job->path = sub.path;
      job->sub.path = job->path.c_str();
    }
    if (sub.path2) {
      job->path2 = sub.path2;
      job->sub.path2 = job->path2.c_str();
    }
    if (sub.iov && sub.iovcnt) {
      job->iov.assign(sub.iov, sub.iov + sub.iovcnt);
      job->sub.iov = job->iov.data();
    }
    if (!closed_) {
      if (inline_path_.write && job->has_fd()) {
        owner_fd_ops_[sub.fd]++;
        job->counted = true;
      }
      staged_.push_back(std::move(job));
      return;
    }
    bool unused;
    std::lock_guard<std::mutex> lock(mu_);
    finish_locked(sub.token, -ECANCELED, false, &unused);
  } catch (const std::bad_alloc&) {
    bool unused;
    std::lock_guard<std::mutex> lock(mu_);
    finish_locked(sub.token, -ENOMEM, false, &unused);
  }
}

// The inline path (InlinePath, inline_writes.h): true when `sub` ran here and its completion is queued.
bool WorkerPool::try_inline(const Submission& sub) {
  if (sub.op != OpCode::kWrite && sub.op != OpCode::kWritev) return false;
  uint64_t bytes = sub.len;
  if (sub.op == OpCode::kWritev) {
    if (sub.iov == nullptr || sub.iovcnt == 0) return false;  // the worker reports what is wrong with it
    bytes = 0;
    for (uint32_t i = 0; i < sub.iovcnt; i++) bytes += sub.iov[i].len;
  }
  if (!InlineWrites::shape_fits(sub, bytes)) return false;
  if (!sync_fds_.empty() && sync_fds_.count(sub.fd)) return false;
  // Alone on its descriptor: an earlier operation still with a worker (or done and not yet taken, which
  // costs nothing to wait for) must take effect first.
  if (!owner_fd_ops_.empty() && owner_fd_ops_.count(sub.fd)) return false;
  if (!inline_policy_.take_turn()) return false;
  const int64_t started = TraceSink::now_ns();
  int32_t result;
  if (!inline_path_.write(sub, &result)) return false;  // a stream: a worker writes it
  const int64_t ended = TraceSink::now_ns();
  inline_policy_.note(ended - started);
  inline_ops_++;
  if (TraceSink* trace = trace_.load(std::memory_order_acquire))
    trace->record({sub.token, RanOn::kLoopThread, 0, started, ended});
  inline_done_.push_back(Completion{sub.token, result});
  return true;
}

void WorkerPool::flush() {
  inline_policy_.new_iteration();  // flush() is the start of every wait(): the next iteration's budget
  if (staged_.empty()) return;
  size_t new_units = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& job : staged_) {
      // Once anything is held, newcomers queue behind it: the cap must not reorder (contract 7).
      if (held_.empty() && admitted_ < max_in_flight_) admit_locked(std::move(job), &new_units);
      else held_.push_back(std::move(job));
    }
  }
  staged_.clear();
  wake_workers(new_units);
}

void WorkerPool::admit_locked(std::unique_ptr<Job> job, size_t* new_units) {
  admitted_++;
  if (!job->has_fd()) {
    runnable_.push_back(Unit{-1, std::move(job)});
    ++*new_units;
    return;
  }
  int32_t fd = job->sub.fd;
  FdQueue& q = fds_[fd];
  q.jobs.push_back(std::move(job));
  if (!q.owned && !q.listed) {
    q.listed = true;
    runnable_.push_back(Unit{fd, nullptr});
    ++*new_units;
  }
}

void WorkerPool::finish_locked(uint32_t token, int32_t result, bool admitted, bool* was_empty, bool counted,
                               int32_t fd) {
  *was_empty = done_.empty();
  done_.push_back(Done{Completion{token, result}, admitted, counted, fd});
}

// finish_locked for a job that was staged, carrying what take() needs to undo its counting.
void WorkerPool::finish_job_locked(const Job& job, int32_t result, bool admitted, bool* was_empty) {
  finish_locked(job.sub.token, result, admitted, was_empty, job.counted, job.sub.fd);
}

// Owner thread, for each completion take() hands out: the inline path's bookkeeping.
void WorkerPool::count_taken(const Done& d) {
  if (d.counted) {
    auto it = owner_fd_ops_.find(d.fd);
    if (it != owner_fd_ops_.end() && --it->second == 0) owner_fd_ops_.erase(it);
  }
  if (!sync_opens_.empty() && sync_opens_.erase(d.completion.token) && d.completion.result >= 0)
    sync_fds_.insert(d.completion.result);
}

void WorkerPool::wake_workers(size_t new_units) {
  // Wake no more workers than there are units to take: a thread that wakes to an empty queue is a wasted
  // cross-CPU hand-off. notify_one is a no-op when nobody waits, so busy workers cost nothing here.
  if (new_units == 0) return;
  if (new_units >= threads_.size()) {
    work_cv_.notify_all();
  } else {
    for (size_t i = 0; i < new_units; i++) work_cv_.notify_one();
  }
}

void WorkerPool::worker_main(size_t index) {
  // Before this worker can run a job, and so before anyone can interrupt it. os_ref is read by the owner
  // only under mu_ while this worker runs a job, which it picked up under mu_ after this store.
  workers_[index].os_ref = pool_os::worker_started(&workers_[index].signal_unhandled);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !runnable_.empty(); });
    if (stopping_) {  // shutdown() already cancelled everything that was runnable
      pool_os::worker_exiting(workers_[index].os_ref);
      return;
    }

    Unit unit = std::move(runnable_.front());
    runnable_.pop_front();
    std::unique_ptr<Job> job = std::move(unit.job);
    if (!job) {
      auto it = fds_.find(unit.fd);
      if (it == fds_.end()) continue;
      FdQueue& q = it->second;
      q.listed = false;
      if (q.jobs.empty()) {  // cancel() emptied it after it was listed
        fds_.erase(it);
        continue;
      }
      job = std::move(q.jobs.front());
      q.jobs.pop_front();
      q.owned = true;
    }
    workers_[index].job = job.get();

    lock.unlock();
    TraceSink* trace = trace_.load(std::memory_order_acquire);
    const int64_t started = trace ? TraceSink::now_ns() : 0;
    int32_t result = runner_(job->sub, job->cancelled);
    // Recorded before the completion is queued below, so the owner never sees a completion whose record
    // is still to come.
    if (trace) trace->record({job->sub.token, RanOn::kPoolThread, uint16_t(index), started, TraceSink::now_ns()});
    lock.lock();

    workers_[index].job = nullptr;
    if (job->cancelled.load()) cancelling_.fetch_sub(1);
    if (stopping_) idle_cv_.notify_all();  // shutdown() waits for running operations to return
    worker_ops_++;
    if (job->has_fd()) {
      auto it = fds_.find(job->sub.fd);
      if (it != fds_.end()) {
        FdQueue& q = it->second;
        q.owned = false;
        if (q.jobs.empty()) {
          fds_.erase(it);
        } else {
          q.listed = true;
          runnable_.push_back(Unit{job->sub.fd, nullptr});  // tail: fairness between descriptors
        }
      }
    }
    bool was_empty;
    finish_job_locked(*job, result, true, &was_empty);

    if (was_empty) {
      // Outside the lock: notify() is a system call, and the owner may be waiting for mu_ in take().
      lock.unlock();
      job.reset();
      notify_();
      lock.lock();
    }
  }
}

bool WorkerPool::cancel(uint32_t token) {
  for (auto it = staged_.begin(); it != staged_.end(); ++it) {
    if ((*it)->sub.token != token) continue;
    std::unique_ptr<Job> job = std::move(*it);
    staged_.erase(it);
    bool unused;
    std::lock_guard<std::mutex> lock(mu_);
    finish_job_locked(*job, -ECANCELED, false, &unused);
    return true;
  }
  // The owner is the one who will take() this completion, so nobody needs notify() for it.
  std::lock_guard<std::mutex> lock(mu_);
  bool unused;
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if ((*it)->sub.token != token) continue;
    finish_job_locked(**it, -ECANCELED, false, &unused);
    held_.erase(it);
    return true;
  }
  for (auto it = runnable_.begin(); it != runnable_.end(); ++it) {
    if (!it->job || it->job->sub.token != token) continue;
    finish_job_locked(*it->job, -ECANCELED, true, &unused);
    runnable_.erase(it);
    return true;
  }
  for (auto& [fd, q] : fds_) {
    for (auto it = q.jobs.begin(); it != q.jobs.end(); ++it) {
      if ((*it)->sub.token != token) continue;
      // A now-empty queue may still be listed in runnable_; the worker that picks it up drops it.
      finish_job_locked(**it, -ECANCELED, true, &unused);
      q.jobs.erase(it);
      return true;
    }
  }
  // Running: the worker completes it (exactly once, contract 2) with -ECANCELED or with what it did.
  for (size_t i = 0; i < worker_count_; i++) {
    Job* job = workers_[i].job;
    if (!job || job->sub.token != token) continue;
    if (!job->cancelled.exchange(true)) {  // a second cancel of the same operation changes nothing
      cancelling_.fetch_add(1);
      interrupt_locked(i);
    }
    return true;
  }
  return false;
}

void WorkerPool::interrupt_locked(size_t index) {
  int sig = interrupt_signal();
  if (sig == 0) return;  // no signal of our own: the runner sees the flag between system calls only
  Worker& w = workers_[index];
  w.signal_unhandled.store(true);  // before the kill, so the handler's store comes after it
  if (pool_os::interrupt(threads_[index], w.os_ref, &w.signal_unhandled)) interrupts_++;
  else w.signal_unhandled.store(false);  // not sent: let the next reinterrupt() try again
}

uint32_t WorkerPool::reinterrupt() {
  if (cancelling_.load() == 0 || interrupt_signal() == 0) return 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < worker_count_; i++) {
    const Job* job = workers_[i].job;
    if (job && job->cancelled.load() && !workers_[i].signal_unhandled.load()) interrupt_locked(i);
  }
  return cancelling_.load();
}

size_t WorkerPool::take(Completion* out, size_t capacity) {
  size_t n = 0, new_units = 0;
  if (!inline_done_.empty()) {  // owner thread only: no lock
    size_t k = inline_done_.size() < capacity ? inline_done_.size() : capacity;
    for (size_t i = 0; i < k; i++) out[n++] = inline_done_[i];
    inline_done_.erase(inline_done_.begin(), inline_done_.begin() + ptrdiff_t(k));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (n < capacity && !done_.empty()) {
      const Done& d = done_.front();
      out[n++] = d.completion;
      if (d.admitted) admitted_--;
      if (inline_path_.write) count_taken(d);
      done_.pop_front();
    }
    while (!held_.empty() && admitted_ < max_in_flight_) {
      admit_locked(std::move(held_.front()), &new_units);
      held_.pop_front();
    }
  }
  wake_workers(new_units);
  return n;
}

void WorkerPool::shutdown() {
  closed_ = true;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      // Nothing not yet started will start: each gets its one completion (-ECANCELED). Nobody take()s
      // them after shutdown, but a pool that is shut down and kept reports them like any other.
      bool unused;
      for (auto& job : staged_) finish_job_locked(*job, -ECANCELED, false, &unused);
      staged_.clear();
      for (auto& job : held_) finish_job_locked(*job, -ECANCELED, false, &unused);
      held_.clear();
      for (auto& unit : runnable_)
        if (unit.job) finish_job_locked(*unit.job, -ECANCELED, true, &unused);
      runnable_.clear();
      for (auto& [fd, q] : fds_) {
        for (auto& job : q.jobs) finish_job_locked(*job, -ECANCELED, true, &unused);
        q.jobs.clear();
        q.listed = false;
      }
      // Running ones are cancelled too (contract 9: "cancels what it can"): a write blocked on a pipe
      // nobody reads would otherwise keep the destructor waiting forever.
      for (size_t i = 0; i < worker_count_; i++) {
        Job* job = workers_[i].job;
        if (job && !job->cancelled.exchange(true)) {
          cancelling_.fetch_add(1);
          interrupt_locked(i);
        }
      }
    }
    // Wait for every running operation to return, repeating the signal as reinterrupt() does (the race
    // at the top of this file). Without an interrupt signal this is a plain wait, as join would be.
    auto running = [this] {
      for (size_t i = 0; i < worker_count_; i++)
        if (workers_[i].job) return true;
      return false;
    };
    while (!idle_cv_.wait_for(lock, std::chrono::milliseconds(kReinterruptMs), [&] { return !running(); })) {
      note_slow_drain_round();
      for (size_t i = 0; i < worker_count_; i++) {
        const Job* job = workers_[i].job;
        if (job && job->cancelled.load() && !workers_[i].signal_unhandled.load()) interrupt_locked(i);
      }
    }
  }
  work_cv_.notify_all();
  // Every worker is idle now; joining waits for them to leave, so after this no worker writes into caller
  // memory (contract 9).
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

WorkerPool::Counters WorkerPool::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counters c;
  c.inline_ops = inline_ops_;  // owner-thread state: counters() is the owner's call too
  c.worker_ops = worker_ops_;
  c.interrupts = interrupts_;
  c.cancelling = cancelling_.load();
  c.held = uint32_t(held_.size());
  c.admitted = admitted_;
  c.ready = uint32_t(done_.size() + inline_done_.size());
  return c;
}

}  // namespace corio
