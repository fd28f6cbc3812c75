// The kqueue backend (macOS). How it fits together:
//
//  * kqueue, like epoll, reports a regular file as always readable and writable, and XNU has no usable
//    EVFILT_AIO, so there is nothing for the kernel to wait on: every file operation runs on the portable
//    worker pool (pool.h) through posix/ops.cc's run_blocking, the same code the epoll backend runs. This
//    file is epoll.cc with the eventfd replaced by an EVFILT_USER event.
//  * One EVFILT_USER event (ident kUserIdent) carries two meanings, as the eventfd does on Linux: "the
//    pool's completion queue went non-empty" (the pool's notify) and "someone called wake()". The atomic
//    wake_pending_ tells them apart, so a stale trigger left by a notify whose completions were already
//    taken does not end a wait early.
//  * The event is registered with EV_ADD|EV_CLEAR before anyone can trigger it (in make_kqueue_backend,
//    before the pool's threads exist). EV_CLEAR resets its state when kevent() reports it, so there is
//    nothing to drain — the eventfd read of epoll.cc has no counterpart here. Triggering is
//    kevent(NOTE_TRIGGER) from any thread; kqueue descriptors are safe to use from several threads.
//  * Hosted mode (BackendOptions::pollable, contract 12) signals through a pipe instead of EVFILT_USER: the
//    pipe's read end is registered in the kqueue with EVFILT_READ, so a blocking wait() still wakes, and
//    it is what pollable_fd() hands to libuv. Two reasons. (a) libkqueue's kqueue descriptor is the write
//    end of a pipe that libkqueue keeps for close detection (src/linux/platform.c, linux_kqueue_init), so
//    it never becomes readable: uv_poll_t on it never fired and the hosted http-server example hung, even
//    on SIGTERM, because the signal watcher's wake() reached nobody. (b) On XNU the kqueue descriptor does
//    poll readable while events are pending, but an EV_CLEAR event is only reset by a kevent() that
//    returns it, so every poll would need a zero-timeout kevent() (what this file did before) or the
//    level-triggered uv_poll_t calls back on every turn (epoll.cc's eventfd had that spin). The pipe works
//    on both; a poll empties it with one non-blocking read, as epoll.cc's poll reads its eventfd.
//  * kevent() takes a timespec, so sub-millisecond timeouts need no rounding: 0.4 ms sleeps 0.4 ms (the
//    kernel's timer slack may add a little, never subtract), never a 0 ms spin.
//  * Submissions reach the pool in wait(), one flush per loop iteration (epoll.cc gives the measurements).
//  * Cancelling an operation a worker is running interrupts that worker with a signal (posix/pool_os.cc:
//    SIGURG on macOS, which has no real-time signals). wait() repeats it while a cancelled operation still
//    runs, sleeping at most WorkerPool::kReinterruptMs at a time, exactly as epoll.cc does.
//
// Never run on XNU: it is built and tested on Linux against libkqueue (npm run test:kqueue). See README
// "Platforms".
#include <sys/event.h>
#include <sys/time.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "kqueue.h"
#include "../pool.h"
#include "../posix/ops.h"
#include "../wake_signals.h"

namespace corio {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uintptr_t kUserIdent = 1;  // the one EVFILT_USER event; any ident works, it only has to match

class KqueueBackend final : public Backend {
 public:
  // wake_r/wake_w: the hosted-mode pipe (see the top of this file), or -1 for EVFILT_USER.
  KqueueBackend(int kq, int wake_r, int wake_w, const BackendOptions& options)
      : kq_(kq),
        wake_r_(wake_r),
        wake_w_(wake_w),
        pool_(options.pool_threads, options.max_in_flight,
              [](const Submission& sub, const std::atomic<bool>& cancelled) { return run_blocking(sub, &cancelled); },
              [this] { trigger(); },
              inline_path(options)) {}

  ~KqueueBackend() override {
    // Contract 9: unstarted operations are cancelled, running ones are cancelled and interrupted, and all
    // have returned before the pool does; only then may the kqueue the workers trigger be closed.
    pool_.shutdown();
    ::close(kq_);
    if (wake_r_ >= 0) {
      ::close(wake_r_);
      ::close(wake_w_);
    }
  }

  const char* name() const override { return "kqueue"; }
  // Contract 12 through the hosted-mode pipe (top of this file); a backend not made pollable has none.
  int pollable_fd() const override { return wake_r_; }

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
    pool_.reinterrupt();  // even a poll repeats a cancel's signal
    if (capacity <= 0) return 0;
    // The pipe announced what take() is about to collect: empty it first, so it is readable again only
    // for what comes after (a watcher polling it must not be called back for what was already taken).
    // Skipped when no write started since the last drain (wake_signals.h says why that is safe; a flag
    // set after the write alone was not: pollable_cases.cc caught it on libkqueue).
    if (wake_r_ >= 0) signals_.drain_if_signalled([this] { drain_pipe(); });
    if (int n = take(out, capacity)) return n;
    if (wake_pending_.exchange(false, std::memory_order_acq_rel)) return 0;
    // Polling needs no system call: the user event (or the wake pipe, drained above) is the only thing
    // registered, and both things it can mean were just checked.
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
      struct kevent events[4];
      int r = sleep(events, 4, forever && !clamped, clamped ? kChase : left);
      enters_++;
      if (r < 0) {
        if (errno == EINTR) continue;  // a signal (perhaps our own pool's interrupt): go on
        return -errno;
      }
      if (r > 0 && wake_r_ >= 0) {
        drain_pipe();  // EVFILT_READ is level-triggered: empty the pipe, or the next kevent() returns at once
      }
      if (int n = take(out, capacity)) return n;
      if (wake_pending_.exchange(false, std::memory_order_acq_rel)) return 0;
      if (r == 0 && !clamped) return 0;  // the kernel slept the timeout
      // A trigger whose completions an earlier wait() already took, or a sleep shortened to repeat a
      // cancel's signal: sleep on.
    }
  }

  void wake() override {
    wake_pending_.store(true, std::memory_order_release);
    trigger();
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
  // Small positional writes on the loop thread, as the epoll backend does (inline_writes.h). macOS has no
  // O_DIRECT (its F_NOCACHE is an fcntl, not an open flag), and O_SYNC and O_DSYNC are separate bits.
  static WorkerPool::InlinePath inline_path(const BackendOptions& options) {
    if (!InlineWrites::wanted(options)) return {};
    return {write_in_place, O_DSYNC | O_SYNC};
  }

  int take(Completion* out, int capacity) {
    int n = int(pool_.take(out, size_t(capacity)));
    completed_ += uint64_t(n);
    return n;
  }

  int sleep(struct kevent* events, int max, bool forever, Clock::duration left) {
    if (forever) return ::kevent(kq_, nullptr, 0, events, max, nullptr);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    if (ns < 1) ns = 1;  // a positive remainder stays positive: {0, 0} would be a poll
    struct timespec ts;
    ts.tv_sec = time_t(ns / 1000000000);
    ts.tv_nsec = long(ns % 1000000000);
    return ::kevent(kq_, nullptr, 0, events, max, &ts);
  }

  void trigger() {
    if (wake_w_ >= 0) {
      // Counted around the write so a hosted poll can skip its read when nothing signalled (wake_signals.h).
      signals_.signal([this] {
        char byte = 1;
        // EAGAIN: the pipe is full, so it is readable already, which is all a trigger needs.
        while (::write(wake_w_, &byte, 1) < 0 && errno == EINTR) {
        }
      });
      return;
    }
    struct kevent ev;
    EV_SET(&ev, kUserIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
    // Only EINTR can make this fail on a healthy kqueue; a trigger already pending is simply still pending.
    while (::kevent(kq_, &ev, 1, nullptr, 0, nullptr) < 0 && errno == EINTR) {
    }
  }

  void drain_pipe() {
    char sink[64];
    for (;;) {
      ssize_t r = ::read(wake_r_, sink, sizeof sink);
      if (r == ssize_t(sizeof sink) || (r < 0 && errno == EINTR)) continue;
      return;  // short read, EAGAIN: empty
    }
  }

  const int kq_;
  const int wake_r_, wake_w_;
  std::atomic<bool> wake_pending_{false};
  WakeSignals signals_;  // the wake pipe's writes, counted for the hosted poll
  uint64_t submitted_ = 0, completed_ = 0, enters_ = 0, cancel_requests_ = 0;  // loop thread only
  WorkerPool pool_;  // last: its workers trigger kq_, so it is built after and stopped before it closes
};

}  // namespace

std::unique_ptr<Backend> make_kqueue_backend(const BackendOptions& options, std::string* reason) {
  int kq = ::kqueue();
  if (kq < 0) {
    *reason = std::string("kqueue: ") + std::strerror(errno);
    return nullptr;
  }
  ::fcntl(kq, F_SETFD, FD_CLOEXEC);  // kqueues are not inherited across fork anyway; exec is the other door
  // Registered before anything can trigger it (the pool's threads start in the constructor below).
  int wake[2] = {-1, -1};
  struct kevent ev;
  if (options.pollable) {
    // macOS has no pipe2(): the flags are set after, before any other thread exists to exec.
    if (::pipe(wake) < 0) {
      *reason = std::string("pipe: ") + std::strerror(errno);
      ::close(kq);
      return nullptr;
    }
    for (int fd : wake) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    EV_SET(&ev, uintptr_t(wake[0]), EVFILT_READ, EV_ADD, 0, 0, nullptr);
  } else {
    EV_SET(&ev, kUserIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  }
  auto close_all = [&] {
    ::close(kq);
    if (wake[0] >= 0) {
      ::close(wake[0]);
      ::close(wake[1]);
    }
  };
  if (::kevent(kq, &ev, 1, nullptr, 0, nullptr) < 0) {
    *reason = std::string(options.pollable ? "kevent(EVFILT_READ): " : "kevent(EVFILT_USER): ") + std::strerror(errno);
    close_all();
    return nullptr;
  }
  try {
    auto backend = std::make_unique<KqueueBackend>(kq, wake[0], wake[1], options);
    *reason = "kqueue + " + std::to_string(options.pool_threads ? options.pool_threads : 1) + " worker threads";
    return backend;
  } catch (const std::system_error& e) {
    *reason = std::string("worker threads: ") + e.what();
  } catch (const std::bad_alloc&) {
    *reason = "out of memory";
  }
  close_all();
  return nullptr;
}

}  // namespace corio
