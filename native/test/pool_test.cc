// Cases for the worker pool itself (pool.h), with injected runners that block or record, so ordering,
// cancellation and the notify rule are checked deterministically rather than by timing. They run once,
// under the epoll entry (the harness is per backend), and do not use ctx.backend.
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "../core/pool.h"
#include "harness.h"

using namespace corio;
using corio::test::Failure;

namespace {

// A latch the runner blocks on until the case opens it; also counts who is inside.
class Gate {
 public:
  void enter() {
    std::unique_lock<std::mutex> lock(mu_);
    inside_++;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    inside_--;
  }
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits until `n` runners are blocked inside (fails after 10 s).
  void await_inside(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return inside_ >= n; }))
      throw Failure{"runners never reached the gate"};
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int inside_ = 0;
  bool open_ = false;
};

Submission sub_on(int fd, uint32_t token) {
  Submission s;
  s.op = OpCode::kWrite;
  s.fd = fd;
  s.token = token;
  return s;
}

// Takes until `count` completions are in (fails after 10 s); the pool is driven without a backend here.
std::vector<Completion> take_all(WorkerPool& pool, size_t count) {
  std::vector<Completion> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Completion buf[64];
  while (got.size() < count) {
    if (std::chrono::steady_clock::now() > deadline)
      throw Failure{"pool delivered " + std::to_string(got.size()) + " of " + std::to_string(count)};
    size_t n = pool.take(buf, 64);
    got.insert(got.end(), buf, buf + n);
    if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return got;
}

}  // namespace

CORE_CASE_FOR("epoll", "pool: one descriptor runs one operation at a time, in order") {
  constexpr int kFds = 3, kPerFd = 300;
  std::mutex mu;
  std::vector<int> active(kFds, 0), next(kFds, 0);
  std::atomic<bool> overlap{false}, out_of_order{false};
  WorkerPool pool(4, 1024, [&](const Submission& s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (active[s.fd]++ != 0) overlap = true;
      if (int(s.token % kPerFd) != next[s.fd]++) out_of_order = true;
    }
    std::this_thread::yield();  // give a wrongly scheduled second worker the chance to overlap
    std::lock_guard<std::mutex> lock(mu);
    active[s.fd]--;
    return int32_t(0);
  }, [] {});
  for (int i = 0; i < kPerFd; i++)
    for (int fd = 0; fd < kFds; fd++) pool.stage(sub_on(fd, uint32_t(fd * kPerFd + i)));
  pool.flush();
  CHECK_EQ(take_all(pool, kFds * kPerFd).size(), size_t(kFds * kPerFd));
  CHECK(!overlap);
  CHECK(!out_of_order);
}

CORE_CASE_FOR("epoll", "pool: different descriptors run in parallel") {
  Gate gate;
  WorkerPool pool(4, 1024, [&](const Submission&) {
    gate.enter();
    return int32_t(0);
  }, [] {});
  pool.stage(sub_on(1, 1));
  pool.stage(sub_on(2, 2));
  Submission open;  // no descriptor: may run beside anything
  open.op = OpCode::kOpen;
  open.token = 3;
  pool.stage(open);
  pool.flush();
  gate.await_inside(3);  // all three are blocked at once, so they run on three workers
  gate.open();
  CHECK_EQ(take_all(pool, 3).size(), size_t(3));
}

CORE_CASE_FOR("epoll", "pool: a burst of completions notifies once") {
  std::atomic<int> notifies{0};
  Gate gate;
  WorkerPool pool(4, 1024, [&](const Submission& s) {
    if (s.token == 1) gate.enter();
    return int32_t(s.token);
  }, [&] { notifies++; });
  for (uint32_t t = 1; t <= 50; t++) pool.stage(sub_on(7, t));
  pool.flush();
  gate.await_inside(1);
  gate.open();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.counters().ready < 50) {
    if (std::chrono::steady_clock::now() > deadline) throw Failure{"burst did not finish"};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK_EQ(notifies.load(), 1);  // the queue went from empty to non-empty once
  CHECK_EQ(take_all(pool, 50).size(), size_t(50));
  pool.stage(sub_on(7, 51));
  pool.flush();
  take_all(pool, 1);
  CHECK_EQ(notifies.load(), 2);
}

CORE_CASE_FOR("epoll", "pool: cancel removes queued work and lets running work finish") {
  Gate gate;
  WorkerPool pool(2, 1024, [&](const Submission& s) {
    if (s.token == 1) gate.enter();
    return int32_t(100 + s.token);
  }, [] {});
  pool.stage(sub_on(5, 1));  // runs and blocks
  pool.stage(sub_on(5, 2));  // queued behind it on the same descriptor
  pool.stage(sub_on(6, 4));  // staged only after the flush below
  pool.flush();
  pool.stage(sub_on(6, 3));
  gate.await_inside(1);
  CHECK(pool.cancel(2));   // queued: removed
  CHECK(pool.cancel(3));   // staged, never flushed: removed
  CHECK(pool.cancel(1));   // running: accepted, not interrupted
  CHECK(!pool.cancel(99));
  auto first = take_all(pool, 3);  // 2, 3 and (already run) 4
  for (const Completion& c : first) {
    if (c.token == 2 || c.token == 3) CHECK_EQ(c.result, -ECANCELED);
    else CHECK_EQ(c.token, uint32_t(4));
  }
  gate.open();
  auto last = take_all(pool, 1);
  CHECK_EQ(last[0].token, uint32_t(1));
  CHECK_EQ(last[0].result, 101);  // what it did, not -ECANCELED
  CHECK(!pool.cancel(1));         // complete now: unknown
}

CORE_CASE_FOR("epoll", "pool: the in-flight cap holds work back in order until completions are taken") {
  std::mutex mu;
  std::vector<uint32_t> order;
  WorkerPool pool(4, 2, [&](const Submission& s) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back(s.token);
    return int32_t(0);
  }, [] {});
  for (uint32_t t = 1; t <= 6; t++) pool.stage(sub_on(int(t), t));  // six descriptors: no per-fd order
  pool.flush();
  CHECK_EQ(pool.counters().held, uint32_t(4));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.counters().ready < 2) {
    if (std::chrono::steady_clock::now() > deadline) throw Failure{"first two did not run"};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_EQ(pool.counters().ready, uint32_t(2));  // nothing else ran: the cap counts until take()
  CHECK(pool.cancel(4));                          // held: removed without running
  take_all(pool, 6);
  std::lock_guard<std::mutex> lock(mu);
  CHECK_EQ(order.size(), size_t(5));
  // Admission is FIFO; with two slots, 3 is admitted no later than 5 and 6.
  CHECK(order[0] <= 2 && order[1] <= 2);
}

CORE_CASE_FOR("epoll", "pool: shutdown cancels what has not started and waits for what has") {
  Gate gate;
  std::atomic<bool> finished{false};
  auto pool = std::make_unique<WorkerPool>(2, 1024, [&](const Submission& s) {
    if (s.token == 1) {
      gate.enter();
      finished = true;
    }
    return int32_t(0);
  }, [] {});
  pool->stage(sub_on(3, 1));
  pool->stage(sub_on(3, 2));
  pool->flush();
  pool->stage(sub_on(3, 3));
  gate.await_inside(1);
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.open();
  });
  pool->shutdown();
  CHECK(finished);  // shutdown returned only after the running operation did
  opener.join();
  Completion out[8];
  size_t n = pool->take(out, 8);
  CHECK_EQ(n, size_t(3));
  for (size_t i = 0; i < n; i++) CHECK_EQ(out[i].result, out[i].token == 1 ? 0 : -ECANCELED);
  pool->stage(sub_on(3, 4));  // after shutdown: refused with a completion, never run
  CHECK_EQ(pool->take(out, 8), size_t(1));
  CHECK_EQ(out[0].result, -ECANCELED);
}
