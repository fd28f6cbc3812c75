// The backend contract: the one interface every notification mechanism implements.
//
// corio's loop (TypeScript) hands file operations down and gets one integer back per operation. Everything
// that differs between io_uring, epoll + worker pool, kqueue + worker pool and IOCP lives behind this page;
// nothing above it branches on the platform, and nothing below it knows about tasks.
//
// What every backend must provide (the contract, stated once):
//
//  1. submit(sub) never blocks on I/O and never fails. Errors of any kind — a bad descriptor, a missing
//     opcode, no memory for the request — come back later as a completion whose result is -errno.
//  2. Exactly one completion per submission, with the submission's token, even when the operation was
//     cancelled, even when it failed before reaching the kernel. A cancelled operation that did stop reports
//     -ECANCELED; one that had already finished reports what it did (bytes written are never hidden).
//  3. Results are one int32: bytes transferred or a new descriptor on success, -errno on failure. Lengths
//     are capped below 2^31 by the binding, so a byte count always fits.
//  4. Memory: the backend copies `path`, `path2` and the iovec array before submit() returns. The data bytes
//     (`buf`, the iovec targets, the StatResult) belong to the caller and must stay valid until that submission's
//     completion has been returned by wait(). The backend never touches them after that.
//  5. wait(out, capacity, timeout_ms) first makes every pending submission visible to the kernel or the
//     pool (one flush per loop iteration is what makes io_uring pay: see NOTES.md "Submitting and waiting one
//     operation at a time is slow"). It returns at once if completions are ready, else blocks until at least
//     one completion, a wake(), or the timeout. A negative timeout waits without limit; 0 polls; a fractional
//     timeout rounds UP (0.4 ms must not become a busy 0 ms spin). EINTR is retried with the remaining time.
//     It writes at most `capacity` completions and keeps the rest for the next call.
//  6. wake() is safe from any thread and makes a concurrent or the next wait() return (possibly with 0).
//  7. Operations beyond the backend's in-flight cap are queued inside the backend, not refused, and keep
//     their order.
//  8. Operations on one descriptor take effect in submission order: a read submitted after a write sees the
//     write, a sync or close covers every write before it. (The pool runs one descriptor's operations on one
//     thread at a time. io_uring needs a per-descriptor gate: a read served from the page cache inline would
//     otherwise overtake a write still queued on an io-wq worker — measured, see uring.cc.)
//  9. Destroying a backend cancels what it can and waits for every operation in flight, so no kernel or pool
//     thread writes into caller memory after the destructor returns.
// 10. The backend is created on the loop's thread and all methods except wake() are called from it
//     (io_uring's SINGLE_ISSUER ties the ring to its creating thread).
// 11. wait() with capacity <= 0 only flushes and returns 0; a NaN timeout polls. A kernel error that cannot
//     happen on a healthy ring (e.g. EBADF on the ring fd) aborts with a message rather than being guessed at.
// 12. pollable_fd() is a descriptor another event loop may watch for readability (libuv's uv_poll_t, in
//     corio's hosted mode): it becomes readable whenever wait(…, 0) would return a completion or a wake, and
//     stays readable until wait() has taken them (level-triggered). -1 when the mechanism has none (IOCP:
//     a completion port is not a descriptor libuv can poll). Completions kept back by `capacity` need not
//     keep it readable: a caller that got a full batch calls wait() again without waiting for readiness.
//     Only a backend made with BackendOptions::pollable promises this (io_uring picks its ring flags by it).
//
// Why this shape: it is the intersection of a completion model (io_uring, IOCP) and a readiness model with a
// pool (epoll, kqueue). Readiness backends turn pool results into completions at the boundary, so the loop
// dispatches one record type and never asks which mechanism ran (libuv does the same with io_uring results).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace corio {

class TraceSink;

enum class OpCode : uint8_t {
  kOpen = 0,     // path, flags, mode → new descriptor
  kClose,        // fd
  kRead,         // fd, buf, len, offset
  kWrite,        // fd, buf, len, offset
  kReadv,        // fd, iov, iovcnt, offset
  kWritev,       // fd, iov, iovcnt, offset
  kFsync,        // fd
  kFdatasync,    // fd
  kFtruncate,    // fd, offset = new length
  kFstat,        // fd, stat → StatResult written into `stat`
  // Path operations (issue 4). Relative paths resolve against the process's working directory.
  kUnlink,       // path
  kRename,       // path → path2 (replaces path2 atomically where the OS can)
  kMkdir,        // path, mode
  kRmdir,        // path
  kStat,         // path, stat; flags = kStatNoFollow for lstat
  kFallocate,    // fd, offset, length (bytes to reserve); flags = 0 (extend the file) or kFallocKeepSize
  kReaddir,      // path, buf, len → entries packed into buf (see kReaddir format below); result = bytes used
  kCount
};

// Whether an opcode names a descriptor. Backends that order work per descriptor (contract 8) must not
// serialize the path operations, which have none, behind one another.
constexpr bool uses_fd(OpCode op) {
  switch (op) {
    case OpCode::kOpen: case OpCode::kUnlink: case OpCode::kRename: case OpCode::kMkdir:
    case OpCode::kRmdir: case OpCode::kStat: case OpCode::kReaddir: case OpCode::kCount:
      return false;
    default:
      return true;
  }
}

// kStat flag: do not follow a final symbolic link (lstat).
constexpr int32_t kStatNoFollow = 1;
// kFallocate flag: reserve space without changing the file size (FALLOC_FL_KEEP_SIZE).
constexpr int32_t kFallocKeepSize = 1;
// kReaddir output: a sequence of records [uint8 type][name bytes][NUL], type one of the kDirent* values,
// "." and ".." omitted. If the directory does not fit in `len` bytes the result is -ENOBUFS and nothing
// useful is in buf: the caller retries with a larger buffer. (One call, one result: no streaming state in
// the backend.)
constexpr uint8_t kDirentUnknown = 0, kDirentFile = 1, kDirentDir = 2, kDirentSymlink = 3, kDirentFifo = 4,
                  kDirentSocket = 5, kDirentChar = 6, kDirentBlock = 7;

const char* op_name(OpCode op);  // "open", "write", … as Node names the syscall in errors

// Read or write at the descriptor's current position (its end, for O_APPEND), like pwrite's -1 in
// io_uring and like Node's `position: null`.
constexpr int64_t kCurrentPosition = -1;

// Layout-compatible with POSIX `struct iovec` (checked with static_assert in the POSIX backends), so the
// uring and pool backends pass it to the kernel without copying each element.
struct IoVec {
  void* base;
  size_t len;
};

// What fstat reports, in a fixed layout the binding hands to JS as a BigInt64Array without conversion.
// Times are nanoseconds since the epoch. Field order is the order of Node's Stats constructor.
struct StatResult {
  int64_t dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks;
  int64_t atime_ns, mtime_ns, ctime_ns, birthtime_ns;
};
constexpr size_t kStatFields = sizeof(StatResult) / sizeof(int64_t);

struct Submission {
  OpCode op = OpCode::kCount;
  uint32_t token = 0;              // opaque to the backend, returned in the completion
  int32_t fd = -1;
  int64_t offset = kCurrentPosition;  // position for read/write; length for ftruncate
  void* buf = nullptr;             // read/write data (caller-owned)
  uint32_t len = 0;                // bytes for read/write
  const IoVec* iov = nullptr;      // readv/writev: copied by the backend, targets caller-owned
  uint32_t iovcnt = 0;
  StatResult* stat = nullptr;      // fstat output (caller-owned)
  const char* path = nullptr;      // open and path operations: NUL-terminated, copied by the backend
  const char* path2 = nullptr;     // rename target: NUL-terminated, copied by the backend
  int64_t length = 0;              // fallocate: bytes to reserve
  int32_t flags = 0;               // open flags (host O_* values); kStat/kFallocate flags above
  int32_t mode = 0;                // open and mkdir mode
};

struct Completion {
  uint32_t token;
  int32_t result;
};

struct BackendStats {
  uint64_t submitted = 0;      // submissions accepted
  uint64_t completed = 0;      // completions handed out by wait()
  uint64_t enters = 0;         // kernel round trips made by wait()/flush (io_uring_enter, epoll_wait, …)
  uint64_t inline_ops = 0;     // operations run synchronously on the loop thread
  uint64_t worker_ops = 0;     // operations run by the backend's own worker pool
  uint64_t cancel_requests = 0;
  uint32_t in_flight = 0;      // submitted, not yet returned by wait()
  uint32_t queued = 0;         // of those, held back by the in-flight cap
};

class Backend {
 public:
  virtual ~Backend() = default;  // see contract 9: implementations drain before freeing anything

  virtual const char* name() const = 0;
  virtual void submit(const Submission& sub) = 0;
  // Best effort (contract 2). Returns false when the token is unknown (already completed or never seen).
  virtual bool cancel(uint32_t token) = 0;
  virtual int wait(Completion* out, int capacity, double timeout_ms) = 0;
  virtual void wake() = 0;
  virtual BackendStats stats() const = 0;
  // Starts (or, with null, stops) recording where each operation runs into `sink` (trace.h), which the
  // caller keeps alive until the backend is destroyed or the sink is replaced. Off by default.
  virtual void set_trace(TraceSink* sink) = 0;
  // Contract 12. The default is "none", which is the honest answer for a backend that cannot be polled.
  virtual int pollable_fd() const { return -1; }
};

// Destructor drain rounds, process-wide, that ran out their timeout before everything in flight had
// completed (contract 9). A drain that cancels correctly finishes in the first round; a round that times
// out means a cancel was missed or an operation is stuck (a write blocked on a pipe), and the program's
// exit was delayed by it. Kept outside any backend because it is read after the backend is gone.
void note_slow_drain_round();
uint64_t slow_drain_rounds();

struct BackendOptions {
  uint32_t queue_depth = 256;       // io_uring SQ entries (the CQ is at least twice this, and holds max_in_flight)
  uint32_t max_in_flight = 1024;    // contract 7: counted from submit() until wait() hands the completion out
  uint32_t pool_threads = 4;        // worker pool size for pool-based backends
  // Small positional writes to a quiet descriptor may run on the loop thread (inline_writes.h): io_uring
  // and the pool backends (epoll, kqueue); IOCP has no such path. CORIO_INLINE_WRITES=0 turns it off too.
  bool inline_writes = true;
  // Test-only: makes the io_uring probe fail as if setup returned this errno (e.g. EPERM), so the fallback
  // path is exercised on machines where io_uring works. 0 = off.
  int force_uring_errno = 0;
  // The backend will be watched through pollable_fd() by another loop (hosted mode; contract 12). io_uring
  // then sets up its ring without IORING_SETUP_DEFER_TASKRUN or COOP_TASKRUN: measured on Linux 6.18, an
  // epoll set (what libuv's uv_poll_t uses) watching a DEFER_TASKRUN ring never reported it readable when
  // an io-wq write completed (0 of 5 rounds), while COOP_TASKRUN and plain rings did (5 of 5); poll(2) on
  // the DEFER_TASKRUN ring did see them, so a test with poll() alone would not catch it. uring_setup.cc says
  // why COOP_TASKRUN is left out too.
  bool pollable = false;
};

struct BackendChoice {
  std::unique_ptr<Backend> backend;  // null when `kind` cannot run here
  std::string reason;                // why this backend (or why none): shown to users
};

// kind: "auto" (best available), or a backend name ("uring", "epoll", "kqueue", "iocp").
// "auto" never fails on a supported platform: it falls back to the pool backend and says why.
BackendChoice create_backend(const std::string& kind, const BackendOptions& options);

// CPU time consumed by the calling thread so far, in milliseconds (CLOCK_THREAD_CPUTIME_ID on POSIX,
// GetThreadTimes on Windows). Lets the benchmarks separate the loop thread's work from the pool's.
double thread_cpu_ms();

// Names of the backends compiled into this build, best first (e.g. {"uring", "epoll"}).
const char* const* compiled_backends();

}  // namespace corio
