// The epoll backend: regular files are always "ready" to epoll, so file operations run on the worker pool
// (pool.h) and epoll only sleeps the loop until the pool, or wake(), signals one eventfd.
//
// How the pieces meet:
//  - One eventfd in the epoll set carries two meanings: "the pool's completion queue went non-empty" (the
//    pool's notify) and "someone called wake()". The atomic wake_pending_ tells them apart, so a stale
//    signal left by a notify whose completions were already taken does not end a wait early.
//  - wait() looks at the completion queue before entering the kernel: a loop that is behind never pays for
//    epoll_wait (or for reading the eventfd) while completions are waiting.
//  - Submissions reach the pool in wait(), one flush per loop iteration, not in submit(). Measured on this
//    2-vCPU VM with the pool alone (5,000 × 128 B writes submitted, then reaped through an eventfd; 31 runs
//    of each, interleaved; medians in ms, two sessions): one file, once per batch 8.4 / 7.9 vs at each
//    submit 8.7 / 9.0; four files 5.6 / 5.4 vs 5.4 / 5.3. Throughput does not pick a side, so the other
//    reasons do: contract 5 describes this shape; submit() stays a lock-free vector push on the loop thread
//    instead of taking the pool lock against a worker that holds it between writes; idle workers are woken
//    once per batch, not once per operation; and a whole batch in hand is what a later change needs to
//    coalesce adjacent writes. A single operation loses nothing: the loop waits right after it submits.
//  - Cancelling an operation a worker is running interrupts that worker with a signal (pool.cc). A signal
//    that lands just before the worker enters its system call is lost, so wait() asks the pool to repeat
//    it (pool_.reinterrupt()) every time it runs, and while any cancelled operation is still running it
//    sleeps at most WorkerPool::kReinterruptMs at a time and repeats it after each sleep. The loop is
//    waiting for that operation's completion anyway, so the cancel always lands within a few ms of the
//    race, and nothing changes while no cancel is outstanding (one atomic load per wait()).
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "backends.h"
#include "../pool.h"
#include "../posix/ops.h"
#include "../wake_signals.h"

namespace corio {
namespace {

using Clock = std::chrono::steady_clock;

class EpollBackend final : public Backend {
 public:
  EpollBackend(int epfd, int evfd, const BackendOptions& options)
      : epfd_(epfd),
        evfd_(evfd),
        pollable_(options.pollable),
        pool_(options.pool_threads, options.max_in_flight,
              [](const Submission& sub, const std::atomic<bool>& cancelled) { return run_blocking(sub, &cancelled); },
              [this] { signal_eventfd(); },
              inline_path(options)) {}

  ~EpollBackend() override {
    // Contract 9: unstarted operations are cancelled, running ones are cancelled and interrupted, and all
    // have returned before the pool does; only then may the eventfd the workers signal be closed.
    pool_.shutdown();
    ::close(epfd_);
    ::close(evfd_);
  }

  const char* name() const override { return "epoll"; }
  // The pool's and wake()'s eventfd is in this epoll set, so the set is readable when either fired
  // (contract 12; an epoll fd is itself pollable).
  int pollable_fd() const override { return epfd_; }

  void submit(const Submission& sub) override {
    submitted_++;
    pool_.stage(sub);  // flushed by wait(): see the top of this file
  }

  bool cancel(uint32_t token) override {
    cancel_requests_++;
    return pool_.cancel(token);
  }

  int wait(Completion* out, int capacity, double timeout_ms) override {
    pool_.flush();
    pool_.reinterrupt();  // even a poll repeats a cancel's signal: see the top of this file
    if (capacity <= 0) return 0;  // nowhere to put a completion: flushing was all there was to do
    // Watched by another loop (hosted mode): a poll must consume the eventfd's signal too, or the epoll fd
    // stays readable and the host's level-triggered watcher calls back on every turn of its loop, for
    // nothing (measured: ~24 guest iterations per 64 KiB write, hosted at under half of run()'s rate on
    // W2). Drained before take(): a completion pushed after the drain signals again (the pool notifies on
    // empty -> non-empty), so none is left unsignalled; one the drain swallows is taken just below.
    if (pollable_) signals_.drain_if_signalled([this] { drain_eventfd(); });
    if (int n = take(out, capacity)) return n;
    // A wake() since the last wait returned ends this one at once (contract 6: "the next wait()").
    if (wake_pending_.exchange(false, std::memory_order_acq_rel)) return 0;
    // Polling needs no system call (but for the drain above when pollable): the eventfd is the only member
    // of the set, and both things it can mean were just checked.
    if (timeout_ms == 0 || std::isnan(timeout_ms)) return 0;

    const bool forever = timeout_ms < 0 || std::isinf(timeout_ms);
    const Clock::time_point deadline =
        forever ? Clock::time_point::max()
                : Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double, std::milli>(timeout_ms));
    constexpr Clock::duration kChase = std::chrono::milliseconds(WorkerPool::kReinterruptMs);
    for (;;) {
      Clock::duration left = forever ? Clock::duration(-1) : deadline - Clock::now();
      if (!forever && left <= Clock::duration::zero()) return 0;
      // A cancelled operation still running: sleep briefly, so the signal is repeated until it lands.
      const bool chasing = pool_.reinterrupt() > 0;
      const bool clamped = chasing && (forever || left > kChase);
      epoll_event events[4];
      int r = epoll_sleep(events, 4, forever && !clamped, clamped ? kChase : left);
      enters_++;
      if (r < 0) {
        if (errno == EINTR) continue;  // io-wq and signal delivery interrupt us now and then: go on
        return -errno;
      }
      if (r > 0) drain_eventfd();
      if (int n = take(out, capacity)) return n;
      if (wake_pending_.exchange(false, std::memory_order_acq_rel)) return 0;
      if (r == 0 && !clamped) return 0;  // the kernel slept the (rounded-up) timeout
      // The eventfd held a notify whose completions an earlier wait() already took, or a sleep shortened
      // to repeat a cancel's signal ended: sleep on.
    }
  }

  void wake() override {
    wake_pending_.store(true, std::memory_order_release);
    signal_eventfd();
  }

  void set_trace(TraceSink* sink) override { pool_.set_trace(sink); }

  BackendStats stats() const override {
    WorkerPool::Counters c = pool_.counters();
    BackendStats s;
    s.submitted = submitted_;
    s.completed = completed_;
    s.enters = enters_;
    s.inline_ops = c.inline_ops;
    s.worker_ops = c.worker_ops;
    s.cancel_requests = cancel_requests_;
    s.in_flight = uint32_t(submitted_ - completed_);
    s.queued = c.held;
    return s;
  }

 private:
  // Small positional writes on the loop thread (inline_writes.h): measured here, one 4 KiB write in
  // flight to a file in /dev/shm took 25-29 µs through the pool (the hand-off and the eventfd wake-up)
  // against 4-5 µs for the pwrite itself. O_SYNC sets O_DSYNC's bit on Linux.
  static WorkerPool::InlinePath inline_path(const BackendOptions& options) {
    if (!InlineWrites::wanted(options)) return {};
    return {write_in_place, O_DSYNC | O_DIRECT};
  }

  int take(Completion* out, int capacity) {
    int n = int(pool_.take(out, size_t(capacity)));
    completed_ += uint64_t(n);
    return n;
  }

  // One epoll sleep of at most `left`. Sub-millisecond precision comes from epoll_pwait2 (Linux 5.11);
  // where it is missing (older kernel, a seccomp profile that predates it) the timeout is rounded UP to
  // whole milliseconds, so 0.4 ms sleeps 1 ms instead of spinning at 0 (contract 5).
  int epoll_sleep(epoll_event* events, int max, bool forever, Clock::duration left) {
    if (forever) return ::epoll_wait(epfd_, events, max, -1);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    if (have_pwait2_) {
      timespec ts{time_t(ns / 1000000000), long(ns % 1000000000)};
      int r = ::epoll_pwait2(epfd_, events, max, &ts, nullptr);
      if (r >= 0 || (errno != ENOSYS && errno != EPERM)) return r;
      have_pwait2_ = false;  // refused once, refused always: fall through to epoll_wait from now on
    }
#endif
    int64_t ms = (ns + 999999) / 1000000;
    return ::epoll_wait(epfd_, events, max, ms > INT_MAX ? INT_MAX : int(ms));
  }

  void signal_eventfd() {
    // Counted around the write so a hosted poll can skip its read when nothing signalled (wake_signals.h).
    signals_.signal([this] {
      uint64_t one = 1;
      // EAGAIN would mean the counter is at 2^64-2: it is signalled already, which is all a wake needs.
      while (::write(evfd_, &one, sizeof one) < 0 && errno == EINTR) {
      }
    });
  }

  void drain_eventfd() {
    uint64_t count;
    while (::read(evfd_, &count, sizeof count) < 0 && errno == EINTR) {
    }
  }

  const int epfd_;
  const int evfd_;
  const bool pollable_;
  bool have_pwait2_ = true;
  std::atomic<bool> wake_pending_{false};
  WakeSignals signals_;  // the eventfd's writes, counted for the hosted poll
  uint64_t submitted_ = 0, completed_ = 0, enters_ = 0, cancel_requests_ = 0;  // loop thread only
  WorkerPool pool_;  // last: its workers signal evfd_, so it is built after and stopped before the fds
};

}  // namespace

std::unique_ptr<Backend> make_epoll_backend(const BackendOptions& options, std::string* reason) {
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    *reason = std::string("epoll_create1: ") + std::strerror(errno);
    return nullptr;
  }
  int evfd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (evfd < 0) {
    *reason = std::string("eventfd: ") + std::strerror(errno);
    ::close(epfd);
    return nullptr;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = evfd;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) < 0) {
    *reason = std::string("epoll_ctl: ") + std::strerror(errno);
    ::close(evfd);
    ::close(epfd);
    return nullptr;
  }
  try {
    auto backend = std::make_unique<EpollBackend>(epfd, evfd, options);
    *reason = "epoll + " + std::to_string(options.pool_threads ? options.pool_threads : 1) + " worker threads";
    return backend;
  } catch (const std::system_error& e) {
    *reason = std::string("worker threads: ") + e.what();
  } catch (const std::bad_alloc&) {
    *reason = "out of memory";
  }
  ::close(evfd);
  ::close(epfd);
  return nullptr;
}

}  // namespace corio
