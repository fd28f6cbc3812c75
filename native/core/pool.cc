// The worker pool behind the readiness backends. Design, in the order an operation meets it:
//
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
#include "pool.h"

#include <cerrno>
#include <new>
#include <string>
#include <system_error>

namespace corio {

struct WorkerPool::Job {
  Submission sub;
  std::string path;        // owns sub.path (contract 4: the caller may free its copy after submit)
  std::vector<IoVec> iov;  // owns sub.iov; the targets stay the caller's
  // Every opcode but open names a descriptor and so goes through that descriptor's FIFO. An invalid fd
  // (-1, closed) still queues under its number: the runner reports EBADF in order with its neighbours.
  bool has_fd() const { return sub.op != OpCode::kOpen; }
};

WorkerPool::WorkerPool(uint32_t threads, uint32_t max_in_flight, Runner runner, std::function<void()> notify)
    : max_in_flight_(max_in_flight ? max_in_flight : 1), runner_(std::move(runner)), notify_(std::move(notify)) {
  if (threads == 0) threads = 1;
  running_.assign(threads, nullptr);
  threads_.reserve(threads);
  try {
    for (uint32_t i = 0; i < threads; i++) threads_.emplace_back(&WorkerPool::worker_main, this, size_t(i));
  } catch (...) {
    shutdown();  // join the workers that did start before the members they use go away
    throw;
  }
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::stage(const Submission& sub) {
  // Contract 1: submit never fails. Out of memory becomes the operation's result, delivered by take().
  try {
    auto job = std::make_unique<Job>();
    job->sub = sub;
    if (sub.path) {
      job->path = sub.path;
      job->sub.path = job->path.c_str();
    }
    if (sub.iov && sub.iovcnt) {
      job->iov.assign(sub.iov, sub.iov + sub.iovcnt);
      job->sub.iov = job->iov.data();
    }
    if (!closed_) {
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

void WorkerPool::flush() {
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

void WorkerPool::finish_locked(uint32_t token, int32_t result, bool admitted, bool* was_empty) {
  *was_empty = done_.empty();
  done_.push_back(Done{Completion{token, result}, admitted});
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
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !runnable_.empty(); });
    if (stopping_) return;  // shutdown() already cancelled everything that was runnable

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
    running_[index] = job.get();

    lock.unlock();
    int32_t result = runner_(job->sub);
    lock.lock();

    running_[index] = nullptr;
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
    finish_locked(job->sub.token, result, true, &was_empty);

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
  // Why a running operation is left to finish: a thread blocked in write(2) on a full pipe can only be
  // pulled out by a signal (pthread_kill with a handler installed without SA_RESTART), which needs a
  // process-wide handler inside Node, which owns signal handling, and run_blocking retries EINTR on
  // purpose. So the pool reports the cancel as accepted and the operation completes with what it did —
  // still exactly once (contract 2). A later issue may add signal-based interruption.
  for (auto it = staged_.begin(); it != staged_.end(); ++it) {
    if ((*it)->sub.token != token) continue;
    staged_.erase(it);
    bool unused;
    std::lock_guard<std::mutex> lock(mu_);
    finish_locked(token, -ECANCELED, false, &unused);
    return true;
  }
  // The owner is the one who will take() this completion, so nobody needs notify() for it.
  std::lock_guard<std::mutex> lock(mu_);
  bool unused;
  for (auto it = held_.begin(); it != held_.end(); ++it) {
    if ((*it)->sub.token != token) continue;
    held_.erase(it);
    finish_locked(token, -ECANCELED, false, &unused);
    return true;
  }
  for (auto it = runnable_.begin(); it != runnable_.end(); ++it) {
    if (!it->job || it->job->sub.token != token) continue;
    runnable_.erase(it);
    finish_locked(token, -ECANCELED, true, &unused);
    return true;
  }
  for (auto& [fd, q] : fds_) {
    for (auto it = q.jobs.begin(); it != q.jobs.end(); ++it) {
      if ((*it)->sub.token != token) continue;
      // A now-empty queue may still be listed in runnable_; the worker that picks it up drops it.
      q.jobs.erase(it);
      finish_locked(token, -ECANCELED, true, &unused);
      return true;
    }
  }
  for (const Job* job : running_) {
    if (job && job->sub.token == token) return true;
  }
  return false;
}

size_t WorkerPool::take(Completion* out, size_t capacity) {
  size_t n = 0, new_units = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (n < capacity && !done_.empty()) {
      const Done& d = done_.front();
      out[n++] = d.completion;
      if (d.admitted) admitted_--;
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
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      // Nothing not yet started will start: each gets its one completion (-ECANCELED). Nobody take()s
      // them after shutdown, but a pool that is shut down and kept reports them like any other.
      bool unused;
      for (auto& job : staged_) finish_locked(job->sub.token, -ECANCELED, false, &unused);
      staged_.clear();
      for (auto& job : held_) finish_locked(job->sub.token, -ECANCELED, false, &unused);
      held_.clear();
      for (auto& unit : runnable_)
        if (unit.job) finish_locked(unit.job->sub.token, -ECANCELED, true, &unused);
      runnable_.clear();
      for (auto& [fd, q] : fds_) {
        for (auto& job : q.jobs) finish_locked(job->sub.token, -ECANCELED, true, &unused);
        q.jobs.clear();
        q.listed = false;
      }
    }
  }
  work_cv_.notify_all();
  // Running operations finish on their own; joining waits for them, so after this no worker writes into
  // caller memory (contract 9).
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

WorkerPool::Counters WorkerPool::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  Counters c;
  c.worker_ops = worker_ops_;
  c.held = uint32_t(held_.size());
  c.admitted = admitted_;
  c.ready = uint32_t(done_.size());
  return c;
}

}  // namespace corio
