// The IOCP backend (Windows). How it fits together:
//
//  * One I/O completion port per backend. A file corio opens is opened with FILE_FLAG_OVERLAPPED
//    (win/ops.cc) and associated with the port the first time this backend reads or writes it; from then
//    on ReadFile/WriteFile return at once and the kernel posts a packet to the port when the transfer is
//    done. wait() sleeps in GetQueuedCompletionStatusEx, which takes up to 64 packets per call.
//  * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set on every associated handle. A cached read, and every
//    write that extends a file on NTFS, completes synchronously; without the flag it would also queue a
//    packet and we would have to remember to ignore either the return value or the packet. With it a
//    call that returns TRUE is finished and no packet follows, so each operation completes exactly once
//    and the common case costs no trip through the port. (If the flag cannot be set, as on some
//    layered file systems, a TRUE return means "a packet follows": entry->skip_on_success says which.)
//  * Everything that has no overlapped form — open, close, fsync, ftruncate, fstat, the path operations —
//    runs on the portable worker pool (pool.h) through win::run_blocking. The pool's notify posts a packet
//    with kPoolKey, so one GetQueuedCompletionStatusEx waits for both kinds of completion. wake() posts
//    kWakeKey; an atomic flag tells a real wake from a stale packet, as the eventfd flag does in epoll.cc.
//  * Overlapped handles have no file pointer: every call names its offset. A read or write at
//    kCurrentPosition uses the position the descriptor table tracks (win/fd.h) and advances it on
//    completion; a write at the current position of an O_APPEND handle names offset 0xFFFFFFFF in both
//    halves, which Windows defines as "the end of file", atomically per call.
//  * Contract 8 (per-descriptor order) is a gate per descriptor, like uring.cc's: positional reads may run
//    together, positional writes may run together, anything else — a transfer at the current position,
//    an append, a close, a sync, a truncate — runs alone, after everything before it on that descriptor
//    and before everything after. Operations a gate holds back start as soon as it opens, in order.
//  * A handle can be associated with only one completion port for its whole life. A descriptor already
//    bound to another backend's port (two backends sharing a file, or one that outlived its backend) has
//    its reads and writes run on this backend's pool instead, with an event in the OVERLAPPED whose low
//    bit keeps the packet off the other port. Correct, just slower; corio normally runs one loop.
//  * Cancel: an operation not yet issued completes at once with -ECANCELED; one in the kernel gets
//    CancelIoEx and completes when its packet arrives (-ECANCELED, or the bytes it had moved); one on the
//    pool is cancelled by the pool (win/pool_os.cc interrupts a blocked worker with an APC and
//    CancelSynchronousIo).
//  * Destruction (contract 9): the pool shuts down (cancelling and joining), every transfer still in the
//    kernel is cancelled and its packet awaited, and only then is the port closed and memory freed.
#include <windows.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "../access.h"
#include "../pool.h"
#include "../trace.h"
#include "backends.h"
#include "fd.h"
#include "ops.h"

namespace corio {
namespace {

using Clock = std::chrono::steady_clock;

constexpr ULONG_PTR kFileKey = 1;  // packets of our overlapped transfers (lpOverlapped → Op)
constexpr ULONG_PTR kPoolKey = 2;  // the pool's completion queue went non-empty
constexpr ULONG_PTR kWakeKey = 3;  // wake()
constexpr uint64_t kNoPort = ~uint64_t(0);  // FdEntry::port_owner: association failed, use the pool


bool is_transfer(OpCode op) {
  return op == OpCode::kRead || op == OpCode::kWrite || op == OpCode::kReadv || op == OpCode::kWritev;
}

bool is_write(OpCode op) { return op == OpCode::kWrite || op == OpCode::kWritev; }

struct Op;

// The OVERLAPPED the kernel writes, with a way back to its operation: the port hands back the
// OVERLAPPED pointer, and a derived struct turns it into the Op with a static_cast, no offsetof games.
struct Overlapped : OVERLAPPED {
  Op* op = nullptr;
};

struct Op {
  enum class State : uint8_t { kStaged, kQueued, kHeld, kRunnable, kPool, kKernel };
  Overlapped ov{};
  Submission sub;
  std::string path, path2;   // own sub.path/sub.path2 (contract 4)
  std::vector<IoVec> iov;    // owns sub.iov; the targets stay the caller's
  State state = State::kStaged;
  Access access = Access::kNone;
  bool admitted = false;         // counted against max_in_flight
  bool cancel_requested = false;
  uint32_t pool_id = 0;
  // Overlapped transfers only.
  std::shared_ptr<win::FdEntry> entry;
  std::vector<char> bounce;  // readv/writev: one contiguous buffer (see win/ops.cc on vectored I/O)
  uint32_t total = 0;        // bytes asked for
  uint32_t done = 0;         // write: bytes already written by earlier calls (short-write continuation)
};

struct Gate {
  uint32_t active = 0;
  Access access = Access::kNone;
  std::deque<Op*> held;  // in submission order
};

struct Ready {
  Completion completion;
  bool admitted;
};

std::atomic<uint64_t> g_next_backend_id{1};

class IocpBackend final : public Backend {
 public:
  IocpBackend(HANDLE port, const BackendOptions& options)
      : port_(port),
        id_(g_next_backend_id.fetch_add(1)),
        max_in_flight_(options.max_in_flight ? options.max_in_flight : 1),
        pool_(options.pool_threads, options.max_in_flight,
              [](const Submission& sub, const std::atomic<bool>& cancelled) {
                return win::run_blocking(sub, &cancelled);
              },
              [this] { ::PostQueuedCompletionStatus(port_, 0, kPoolKey, nullptr); }) {}

  ~IocpBackend() override {
    closing_ = true;  // pump() starts nothing, continuations are not reissued
    pool_.shutdown();
    for (Op* op : live_)
      if (op->state == Op::State::kKernel) ::CancelIoEx(op->entry->handle, &op->ov);
    // Every transfer in the kernel posts exactly one packet, cancelled or not. Wait for them all, so no
    // kernel write into an OVERLAPPED or a caller's buffer can follow the destructor.
    while (in_kernel_ > 0) {
      OVERLAPPED_ENTRY entries[64];
      ULONG got = 0;
      if (!::GetQueuedCompletionStatusEx(port_, entries, 64, &got, 1000, FALSE)) {
        if (::GetLastError() == WAIT_TIMEOUT) {
          note_slow_drain_round();
          continue;
        }
        break;  // the port itself failed: nothing more will arrive through it
      }
      for (ULONG i = 0; i < got; i++)
        if (entries[i].lpCompletionKey == kFileKey) on_packet(entries[i]);
    }
    for (Op* op : live_) delete op;
    live_.clear();
    ::CloseHandle(port_);
  }

  const char* name() const override { return "iocp"; }

  void submit(const Submission& sub) override {
    submitted_++;
    Op* op = nullptr;
    try {
      op = new Op;
      op->sub = sub;
      if (sub.path) {
        op->path = sub.path;
        op->sub.path = op->path.c_str();
      }
      if (sub.path2) {
        op->path2 = sub.path2;
        op->sub.path2 = op->path2.c_str();
      }
      if (sub.iov && sub.iovcnt) {
        op->iov.assign(sub.iov, sub.iov + sub.iovcnt);
        op->sub.iov = op->iov.data();
      }
      op->ov.op = op;
      live_.insert(op);
    } catch (const std::bad_alloc&) {
      delete op;
      ready_.push_back(Ready{Completion{sub.token, -ENOMEM}, false});  // contract 1: never fails
      return;
    }
    staged_.push_back(op);
  }

  bool cancel(uint32_t token) override {
    cancel_requests_++;
    Op* op = nullptr;
    for (Op* candidate : live_) {
      if (candidate->sub.token == token && !candidate->cancel_requested) {
        op = candidate;
        break;
      }
    }
    if (!op) return false;
    op->cancel_requested = true;
    switch (op->state) {
      case Op::State::kStaged:
        erase_from(staged_, op);
        complete(op, -ECANCELED);
        return true;
      case Op::State::kQueued:
        erase_from(queue_, op);
        complete(op, -ECANCELED);
        return true;
      case Op::State::kHeld: {
        auto it = gates_.find(op->sub.fd);
        if (it != gates_.end()) {
          erase_from(it->second.held, op);
          complete(op, -ECANCELED);
          open_gate(it);  // what waited behind it may be able to start now
        }
        return true;
      }
      case Op::State::kRunnable:  // only inside pump(); cannot be seen here
        return true;
      case Op::State::kPool:
        pool_.cancel(op->pool_id);  // false: already done, its result waits in the pool; once either way
        return true;
      case Op::State::kKernel:
        // ERROR_NOT_FOUND means it already finished and its packet waits in the port: it completes once.
        ::CancelIoEx(op->entry->handle, &op->ov);
        return true;
    }
    return true;
  }

  int wait(Completion* out, int capacity, double timeout_ms) override {
    flush();
    pool_.reinterrupt();
    if (capacity <= 0) return 0;
    if (int n = deliver(out, capacity)) return n;
    if (wake_pending_.exchange(false, std::memory_order_acq_rel)) return 0;

    const bool poll = timeout_ms == 0 || std::isnan(timeout_ms);
    const bool forever = !poll && (timeout_ms < 0 || std::isinf(timeout_ms));
    const Clock::time_point deadline =
        forever || poll ? Clock::time_point::max()
                        : Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double, std::milli>(timeout_ms));
    for (;;) {
      DWORD ms = 0;
      bool clamped = false;
      if (!poll) {
        // A cancelled pool operation still running: sleep briefly so its interrupt is repeated (pool.cc).
        const bool chasing = pool_.reinterrupt() > 0;
        if (forever) {
          ms = INFINITE;
        } else {
          double left = std::chrono::duration<double, std::milli>(deadline - Clock::now()).count();
          if (left <= 0) return 0;
          double up = std::ceil(left);  // round UP: 0.4 ms sleeps 1 ms instead of spinning (contract 5)
          ms = up >= double(INFINITE - 1) ? INFINITE - 1 : DWORD(up);
        }
        if (chasing && (ms == INFINITE || ms > DWORD(WorkerPool::kReinterruptMs))) {
          ms = WorkerPool::kReinterruptMs;
          clamped = true;
        }
      }
      OVERLAPPED_ENTRY entries[64];
      ULONG got = 0;
      BOOL ok = ::GetQueuedCompletionStatusEx(port_, entries, 64, &got, ms, FALSE);
      enters_++;
      if (!ok) {
        DWORD error = ::GetLastError();
        // WAIT_TIMEOUT is the normal empty answer; WAIT_IO_COMPLETION cannot happen (not alertable).
        if (error != WAIT_TIMEOUT && error != WAIT_IO_COMPLETION) {
          std::fprintf(stderr, "corio iocp: GetQueuedCompletionStatusEx failed (%lu)\n", (unsigned long)error);
          std::abort();  // contract 11: a broken port is not guessed at
        }
        got = 0;
      }
      for (ULONG i = 0; i < got; i++)
        if (entries[i].lpCompletionKey == kFileKey) on_packet(entries[i]);
      if (int n = deliver(out, capacity)) return n;
      if (wake_pending_.exchange(false, std::memory_order_acq_rel)) return 0;
      if (poll) return 0;
      if (!ok && !clamped && !forever) return 0;  // slept the (rounded-up) timeout
      // A stale pool packet (its completions were taken earlier), or a sleep shortened to chase a
      // cancel: sleep on for what is left.
    }
  }

  void wake() override {
    wake_pending_.store(true, std::memory_order_release);
    ::PostQueuedCompletionStatus(port_, 0, kWakeKey, nullptr);
  }

  // The pool runs an operation under its own token (pool_id, see launch()), so its records would name a
  // token the caller never gave: it records into pool_trace_, and deliver() forwards each record under the
  // caller's token before the operation's completion is handed out.
  void set_trace(TraceSink* sink) override {
    trace_ = sink;
    if (sink && !pool_trace_) pool_trace_ = std::make_unique<TraceSink>();
    pool_.set_trace(sink ? pool_trace_.get() : nullptr);
  }

  void forward_pool_trace() {
    if (!trace_ || !pool_trace_) return;
    TraceRecord records[64];
    for (;;) {
      size_t k = pool_trace_->take(records, 64);
      for (size_t i = 0; i < k; i++) {
        auto it = pool_ops_.find(records[i].token);
        if (it == pool_ops_.end()) continue;
        records[i].token = it->second->sub.token;
        trace_->record(records[i]);
      }
      if (k < 64) break;
    }
  }

  // An operation answered on the loop thread, by a call that finished at once or by no call at all.
  void trace_inline(const Op* op, int64_t started) {
    if (trace_) trace_->record({op->sub.token, RanOn::kLoopThread, 0, started, started ? TraceSink::now_ns() : 0});
  }

  BackendStats stats() const override {
    WorkerPool::Counters c = pool_.counters();
    BackendStats s;
    s.submitted = submitted_;
    s.completed = completed_;
    s.enters = enters_;
    s.inline_ops = inline_ops_;
    s.worker_ops = c.worker_ops;
    s.cancel_requests = cancel_requests_;
    s.in_flight = uint32_t(submitted_ - completed_);
    s.queued = uint32_t(queue_.size());
    return s;
  }

 private:
  template <typename C>
  static void erase_from(C& container, Op* op) {
    for (auto it = container.begin(); it != container.end(); ++it) {
      if (*it == op) {
        container.erase(it);
        return;
      }
    }
  }

  // Staged submissions enter in order: admitted while the in-flight cap allows (contract 7), queued
  // behind it otherwise; then everything startable starts.
  void flush() {
    for (Op* op : staged_) {
      if (queue_.empty() && admitted_ < max_in_flight_) admit(op);
      else {
        op->state = Op::State::kQueued;
        queue_.push_back(op);
      }
    }
    staged_.clear();
    pump();
    pool_.flush();
  }

  void admit(Op* op) {
    admitted_++;
    op->admitted = true;
    op->access = access_of(op->sub, true);
    if (op->access != Access::kNone) {
      Gate& g = gates_[op->sub.fd];
      if (!g.held.empty() || !shares(g, op->access)) {
        op->state = Op::State::kHeld;
        g.held.push_back(op);
        return;
      }
      g.active++;
      g.access = op->access;
    }
    op->state = Op::State::kRunnable;
    runnable_.push_back(op);
  }

  static bool shares(const Gate& g, Access a) {
    return g.active == 0 || (g.access == a && a != Access::kExclusive);
  }

  // Starts everything startable: operations a gate let through, then queued ones as the cap allows.
  void pump() {
    if (closing_) return;
    for (;;) {
      if (!runnable_.empty()) {
        Op* op = runnable_.front();
        runnable_.pop_front();
        launch(op);
      } else if (!queue_.empty() && admitted_ < max_in_flight_) {
        Op* op = queue_.front();
        queue_.pop_front();
        admit(op);
      } else {
        return;
      }
    }
  }

  void launch(Op* op) {
    if (is_transfer(op->sub.op)) {
      std::shared_ptr<win::FdEntry> entry = win::fd_get(op->sub.fd);
      if (entry && entry->kind != win::FdKind::kChar && !entry->directory && bind_to_port(*entry)) {
        op->entry = std::move(entry);
        start_transfer(op);
        return;
      }
    }
    // The pool: no overlapped form, a handle the port cannot take, or a bad descriptor (the pool reports
    // EBADF in order with its neighbours). Pool tokens are ours, so a caller's repeated token cannot
    // confuse the map back to the operation.
    op->state = Op::State::kPool;
    op->pool_id = next_pool_id_++;
    pool_ops_[op->pool_id] = op;
    Submission sub = op->sub;
    sub.token = op->pool_id;
    pool_.stage(sub);
  }

  // Associates the handle with this backend's port the first time, once for its life (win/fd.h).
  bool bind_to_port(win::FdEntry& e) {
    if (!e.overlapped) return false;
    uint64_t owner = e.port_owner.load();
    if (owner == id_) return true;
    if (owner != 0) return false;
    if (!e.port_owner.compare_exchange_strong(owner, id_)) return owner == id_;
    if (!::CreateIoCompletionPort(e.handle, port_, kFileKey, 0)) {
      e.port_owner.store(kNoPort);
      return false;
    }
    if (::SetFileCompletionNotificationModes(e.handle, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))
      e.skip_on_success.store(true);
    return true;
  }

  void start_transfer(Op* op) {
    const Submission& sub = op->sub;
    if (sub.op == OpCode::kRead || sub.op == OpCode::kWrite) {
      op->total = sub.len;
    } else {
      uint64_t total = 0;
      for (const IoVec& v : op->iov) total += v.len;
      int32_t error = 0;
      if (total > uint64_t(INT32_MAX)) error = -EINVAL;
      try {
        if (!error) op->bounce.resize(size_t(total));
      } catch (const std::bad_alloc&) {
        error = -ENOMEM;
      }
      if (error) {
        trace_inline(op, 0);
        return finish(op, error);
      }
      if (sub.op == OpCode::kWritev) {
        size_t at = 0;
        for (const IoVec& v : op->iov) {
          if (v.len) std::memcpy(op->bounce.data() + at, v.base, v.len);
          at += v.len;
        }
      }
      op->total = uint32_t(total);
    }
    if (op->total == 0) {  // nothing to move: no call, nothing changes
      trace_inline(op, 0);
      return finish(op, 0);
    }
    issue(op);
  }

  char* data_of(Op* op) {
    return op->bounce.empty() && op->total > 0 ? static_cast<char*>(op->sub.buf) : op->bounce.data();
  }

  // One ReadFile/WriteFile. Three outcomes: finished now (no packet follows, thanks to
  // FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), pending (a packet follows), or failed now (no packet).
  void issue(Op* op) {
    win::FdEntry& e = *op->entry;
    const bool write = is_write(op->sub.op);
    int64_t offset = op->sub.offset;
    if (write && offset != kCurrentPosition) offset += op->done;
    uint64_t at = win::transfer_offset(e, write, offset);
    OVERLAPPED& ov = op->ov;
    std::memset(static_cast<OVERLAPPED*>(&ov), 0, sizeof(OVERLAPPED));
    ov.Offset = DWORD(at);
    ov.OffsetHigh = DWORD(at >> 32);
    char* data = data_of(op) + op->done;
    DWORD len = op->total - op->done;
    // A write continued after a short one was already recorded where its first part ran.
    const int64_t started = trace_ && op->done == 0 ? TraceSink::now_ns() : 0;
    BOOL ok = write ? ::WriteFile(e.handle, data, len, nullptr, &ov) : ::ReadFile(e.handle, data, len, nullptr, &ov);
    if (ok && e.skip_on_success.load()) {
      inline_ops_++;
      if (started) trace_inline(op, started);
      on_transferred(op, ERROR_SUCCESS, DWORD(ov.InternalHigh));  // InternalHigh: bytes transferred
      return;
    }
    DWORD error = ok ? ERROR_IO_PENDING : ::GetLastError();
    if (error == ERROR_IO_PENDING) {
      op->state = Op::State::kKernel;
      in_kernel_++;
      if (op->cancel_requested) ::CancelIoEx(e.handle, &ov);  // cancelled between two calls of a write
      return;
    }
    inline_ops_++;
    if (started) trace_inline(op, started);
    on_transferred(op, error, 0);
  }

  void on_packet(const OVERLAPPED_ENTRY& entry) {
    Op* op = static_cast<Overlapped*>(entry.lpOverlapped)->op;
    in_kernel_--;
    if (trace_) trace_->record({op->sub.token, RanOn::kPort, 0, 0, 0});
    DWORD n = 0;
    // The operation is done, so this does not wait; it turns the NTSTATUS in ov.Internal into a Win32
    // error the way the rest of the API reports it.
    BOOL ok = ::GetOverlappedResult(op->entry->handle, &op->ov, &n, FALSE);
    on_transferred(op, ok ? ERROR_SUCCESS : ::GetLastError(), ok ? n : entry.dwNumberOfBytesTransferred);
  }

  void on_transferred(Op* op, DWORD error, DWORD n) {
    win::FdEntry& e = *op->entry;
    const bool write = is_write(op->sub.op);
    if (n > 0) win::advance_position(e, write, op->sub.offset, n);
    if (!write) {
      if (error != ERROR_SUCCESS && n == 0) return finish(op, win::transfer_error(error, false));
      if (op->sub.op == OpCode::kReadv) {
        size_t at = 0;
        for (const IoVec& v : op->iov) {
          size_t k = std::min(v.len, size_t(n) - at);
          if (k) std::memcpy(v.base, op->bounce.data() + at, k);
          at += k;
          if (at >= n) break;
        }
      }
      return finish(op, int32_t(n));
    }
    op->done += n;
    if (error != ERROR_SUCCESS || n == 0 || op->done >= op->total || op->cancel_requested || closing_) {
      // Bytes written are never hidden (contract 2): a write stopped part-way reports what it moved.
      if (op->done > 0) return finish(op, int32_t(op->done));
      return finish(op, error == ERROR_SUCCESS ? (op->cancel_requested ? -ECANCELED : 0)
                                               : win::transfer_error(error, true));
    }
    issue(op);  // a short write (a pipe, a full disk): write the rest, as posix/ops.cc does
  }

  // The operation is over: its completion is ready and its descriptor's gate may open.
  void finish(Op* op, int32_t result) {
    if (op->access != Access::kNone && op->state != Op::State::kHeld) {
      auto it = gates_.find(op->sub.fd);
      if (it != gates_.end()) {
        it->second.active--;
        open_gate(it);
      }
    }
    complete(op, result);
  }

  void complete(Op* op, int32_t result) {
    ready_.push_back(Ready{Completion{op->sub.token, result}, op->admitted});
    live_.erase(op);
    delete op;
  }

  void open_gate(std::unordered_map<int32_t, Gate>::iterator it) {
    Gate& g = it->second;
    while (!g.held.empty() && shares(g, g.held.front()->access)) {
      Op* next = g.held.front();
      g.held.pop_front();
      g.active++;
      g.access = next->access;
      next->state = Op::State::kRunnable;
      runnable_.push_back(next);
    }
    if (g.active == 0 && g.held.empty()) gates_.erase(it);
  }

  // Pool results become completions (finishing their operations opens gates), whatever that lets start
  // is started, and up to `capacity` completions are handed out, oldest first.
  int deliver(Completion* out, int capacity) {
    Completion taken[64];
    for (;;) {
      size_t k = pool_.take(taken, 64);
      forward_pool_trace();  // the pool records before it queues a completion: these are all there
      for (size_t i = 0; i < k; i++) {
        auto it = pool_ops_.find(taken[i].token);
        if (it == pool_ops_.end()) continue;  // cannot happen: every pool job is one of ours
        Op* op = it->second;
        pool_ops_.erase(it);
        finish(op, taken[i].result);
      }
      if (k < 64) break;
    }
    pump();
    pool_.flush();
    int n = 0;
    while (n < capacity && !ready_.empty()) {
      const Ready& r = ready_.front();
      out[n++] = r.completion;
      if (r.admitted) admitted_--;
      ready_.pop_front();
    }
    completed_ += uint64_t(n);
    return n;
  }

  const HANDLE port_;
  const uint64_t id_;  // which port a descriptor is bound to (FdEntry::port_owner)
  const uint32_t max_in_flight_;
  bool closing_ = false;
  TraceSink* trace_ = nullptr;  // set_trace(); owned by the caller
  std::unique_ptr<TraceSink> pool_trace_;  // the pool's records, under pool tokens; outlives pool_ (below)
  std::atomic<bool> wake_pending_{false};

  // Loop thread only.
  std::unordered_set<Op*> live_;  // every operation not yet completed, whatever its state
  std::vector<Op*> staged_;       // submitted, not yet flushed
  std::deque<Op*> queue_;         // beyond the in-flight cap, FIFO
  std::deque<Op*> runnable_;      // admitted and cleared by their gate, about to start
  std::unordered_map<int32_t, Gate> gates_;
  std::unordered_map<uint32_t, Op*> pool_ops_;
  uint32_t next_pool_id_ = 1;
  std::deque<Ready> ready_;
  uint32_t admitted_ = 0;
  uint32_t in_kernel_ = 0;  // transfers whose packet has not arrived
  uint64_t submitted_ = 0, completed_ = 0, enters_ = 0, inline_ops_ = 0, cancel_requests_ = 0;

  WorkerPool pool_;  // last: its workers post to port_, so it is built after and stopped before it closes
};

}  // namespace

std::unique_ptr<Backend> make_iocp_backend(const BackendOptions& options, std::string* reason) {
  HANDLE port = ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (!port) {
    *reason = "CreateIoCompletionPort failed (" + std::to_string(::GetLastError()) + ")";
    return nullptr;
  }
  try {
    auto backend = std::make_unique<IocpBackend>(port, options);
    *reason = "IOCP + " + std::to_string(options.pool_threads ? options.pool_threads : 1) +
              " worker threads for opens, syncs and metadata";
    return backend;
  } catch (const std::system_error& e) {
    *reason = std::string("worker threads: ") + e.what();
  } catch (const std::bad_alloc&) {
    *reason = "out of memory";
  }
  ::CloseHandle(port);
  return nullptr;
}

}  // namespace corio
