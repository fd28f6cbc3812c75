// Behavioural cases every backend runs: they state the contract in backend.h as checks, and know nothing
// about how a backend works (pool, ring or port). Each case gets a fresh backend and an empty scratch
// directory; results are checked against plain system calls on the same files.
//
// Timing: cases assert lower bounds only (a wait that must sleep did sleep). Where a case needs something
// to have happened in the kernel first, it observes that through the file, never by guessing a delay.
// The system calls that check results go through shim.h (one file per platform), so these cases build
// and run unchanged against every backend on every platform.
#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "shim.h"

using namespace corio;
using corio::test::collect;
using corio::test::Context;
using corio::test::Failure;
using corio::test::run_one;
namespace shim = corio::test::shim;

namespace {

// ---- building submissions ---------------------------------------------------------------------------

Submission op_open(uint32_t token, const char* path, int flags, int mode = 0644) {
  Submission s;
  s.op = OpCode::kOpen;
  s.token = token;
  s.path = path;
  s.flags = flags;
  s.mode = mode;
  return s;
}

Submission op_fd(OpCode op, uint32_t token, int fd) {
  Submission s;
  s.op = op;
  s.token = token;
  s.fd = fd;
  return s;
}

Submission op_rw(OpCode op, uint32_t token, int fd, const void* buf, size_t len, int64_t offset) {
  Submission s = op_fd(op, token, fd);
  s.buf = const_cast<void*>(buf);
  s.len = uint32_t(len);
  s.offset = offset;
  return s;
}

Submission op_vec(OpCode op, uint32_t token, int fd, const IoVec* iov, size_t iovcnt, int64_t offset) {
  Submission s = op_fd(op, token, fd);
  s.iov = iov;
  s.iovcnt = uint32_t(iovcnt);
  s.offset = offset;
  return s;
}

// ---- the same things done with plain system calls, to check the backend against ---------------------

std::string in_scratch(const Context& ctx, const char* name) { return ctx.scratch_dir + "/" + name; }

std::string plain_read_file(const std::string& path) { return shim::read_file(path); }

void plain_write_file(const std::string& path, const std::string& data) { shim::write_file(path, data); }

shim::FileInfo plain_stat(const std::string& path) { return shim::stat_path(path); }

// Fails with the first differing byte, so a torn or misplaced write is named, not just "not equal".
void check_bytes(const std::string& got, const std::string& want, const char* what) {
  if (got == want) return;
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) i++;
  throw Failure{std::string(what) + ": " + std::to_string(got.size()) + " bytes, want " +
                std::to_string(want.size()) + "; first difference at byte " + std::to_string(i)};
}

// ---- running operations ------------------------------------------------------------------------------

int32_t open_file(Context& ctx, const std::string& path, int flags, int mode = 0644) {
  return run_one(ctx, op_open(1, path.c_str(), flags, mode));
}

void close_fd(Context& ctx, int fd) { CHECK_EQ(run_one(ctx, op_fd(OpCode::kClose, 2, fd)), 0); }

int32_t write_at(Context& ctx, int fd, const std::string& data, int64_t offset) {
  return run_one(ctx, op_rw(OpCode::kWrite, 3, fd, data.data(), data.size(), offset));
}

std::string read_at(Context& ctx, int fd, size_t len, int64_t offset) {
  std::string buf(len, '\0');
  int32_t r = run_one(ctx, op_rw(OpCode::kRead, 4, fd, buf.data(), len, offset));
  if (r < 0) throw Failure{"read failed: " + std::string(std::strerror(-r))};
  buf.resize(size_t(r));
  return buf;
}

// Collects exactly `count` completions and checks that each of `tokens` 1..count came exactly once; then
// polls a few times to see that no duplicate follows. Returns results indexed by token.
std::vector<int32_t> collect_each_once(Backend& backend, uint32_t count, double timeout_ms = 60000) {
  std::vector<int32_t> result(count + 1, 0);
  std::vector<int> seen(count + 1, 0);
  for (const Completion& c : collect(backend, count, timeout_ms)) {
    if (c.token == 0 || c.token > count) throw Failure{"unexpected token " + std::to_string(c.token)};
    if (++seen[c.token] != 1) throw Failure{"token " + std::to_string(c.token) + " completed twice"};
    result[c.token] = c.result;
  }
  Completion extra[16];
  for (int i = 0; i < 3; i++) {
    int n = backend.wait(extra, 16, 1);
    if (n != 0) throw Failure{"completions after every token was in: first token " + std::to_string(extra[0].token)};
  }
  return result;
}

// Aborts the whole program if a case that may block forever (wait(-1)) does not finish: a clear message
// beats a CI job that hangs until its own timeout.
class Watchdog {
 public:
  Watchdog(const char* what, std::chrono::seconds limit) : thread_([this, what, limit] {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
        std::fprintf(stderr, "watchdog: %s did not finish within %llds\n", what, (long long)limit.count());
        std::abort();
      }
    }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

// ---- open --------------------------------------------------------------------------------------------

CORE_CASE("open creates a file with the given mode") {
  std::string path = in_scratch(ctx, "created");
  int fd = open_file(ctx, path, O_CREAT | O_WRONLY, 0640);
  CHECK(fd >= 0);
  shim::FileInfo st = plain_stat(path);
  CHECK(st.regular);
  CHECK_EQ(int(st.mode & 0777), shim::expected_permissions(0640));
  close_fd(ctx, fd);
}

CORE_CASE("open of a missing path is ENOENT") {
  CHECK_EQ(open_file(ctx, in_scratch(ctx, "missing"), O_RDONLY), -ENOENT);
}

CORE_CASE("open O_CREAT|O_EXCL of an existing file is EEXIST") {
  std::string path = in_scratch(ctx, "exists");
  plain_write_file(path, "x");
  CHECK_EQ(open_file(ctx, path, O_CREAT | O_EXCL | O_WRONLY), -EEXIST);
}

CORE_CASE("open of a directory for writing is EISDIR") {
  CHECK_EQ(open_file(ctx, ctx.scratch_dir, O_WRONLY), -EISDIR);
}

CORE_CASE("open of a path through a regular file is ENOTDIR (ENOENT on Windows, as node:fs there)") {
  std::string file = in_scratch(ctx, "plain");
  plain_write_file(file, "x");
  CHECK_EQ(open_file(ctx, file + "/below", O_RDONLY), shim::through_file_errno());
}

CORE_CASE("opens of many files in one batch each get their own descriptor") {
  constexpr uint32_t kFiles = 64;
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < kFiles; i++) paths.push_back(in_scratch(ctx, ("f" + std::to_string(i)).c_str()));
  for (uint32_t i = 0; i < kFiles; i++)
    ctx.backend->submit(op_open(i + 1, paths[i].c_str(), O_CREAT | O_EXCL | O_WRONLY));
  auto fds = collect_each_once(*ctx.backend, kFiles);
  std::map<int32_t, int> distinct;
  for (uint32_t t = 1; t <= kFiles; t++) {
    CHECK(fds[t] >= 0);
    distinct[fds[t]]++;
  }
  CHECK_EQ(distinct.size(), size_t(kFiles));
  for (uint32_t t = 1; t <= kFiles; t++) ctx.backend->submit(op_fd(OpCode::kClose, t, fds[t]));
  for (int32_t r : collect_each_once(*ctx.backend, kFiles)) CHECK_EQ(r, 0);
}

// ---- contract 4: the backend copies path and iovec array ---------------------------------------------

CORE_CASE("submit copies the path and the iovec array before it returns") {
  std::string path = in_scratch(ctx, "copied");
  std::vector<char> path_buf(path.begin(), path.end());
  path_buf.push_back('\0');
  ctx.backend->submit(op_open(1, path_buf.data(), O_CREAT | O_RDWR));
  path_buf[0] = '\0';  // a backend that kept the pointer now opens "" → ENOENT
  int fd = collect(*ctx.backend, 1)[0].result;
  CHECK(fd >= 0);

  std::string a = "first-", b = "second";
  IoVec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  ctx.backend->submit(op_vec(OpCode::kWritev, 2, fd, iov, 2, 0));
  iov[0] = {nullptr, 0};  // a backend that kept the array now writes nothing
  iov[1] = {nullptr, 0};
  CHECK_EQ(collect(*ctx.backend, 1)[0].result, int32_t(a.size() + b.size()));
  check_bytes(plain_read_file(path), a + b, "file after writev");
  close_fd(ctx, fd);
}

// ---- read and write ----------------------------------------------------------------------------------

CORE_CASE("write at positions puts bytes where asked") {
  std::string path = in_scratch(ctx, "positions");
  int fd = open_file(ctx, path, O_CREAT | O_RDWR | O_TRUNC);
  CHECK(fd >= 0);
  CHECK_EQ(write_at(ctx, fd, "world", 10), 5);
  CHECK_EQ(write_at(ctx, fd, "hello", 0), 5);
  CHECK_EQ(write_at(ctx, fd, "HE", 0), 2);  // overwrite in place
  close_fd(ctx, fd);
  check_bytes(plain_read_file(path), std::string("HEllo\0\0\0\0\0world", 15), "file");
}

CORE_CASE("write at the current position appends in order with O_APPEND") {
  std::string path = in_scratch(ctx, "append");
  plain_write_file(path, "start:");
  int fd = open_file(ctx, path, O_WRONLY | O_APPEND);
  CHECK(fd >= 0);
  CHECK_EQ(write_at(ctx, fd, "one,", kCurrentPosition), 4);
  CHECK_EQ(write_at(ctx, fd, "two,", kCurrentPosition), 4);
  CHECK_EQ(write_at(ctx, fd, "three", kCurrentPosition), 5);
  close_fd(ctx, fd);
  check_bytes(plain_read_file(path), "start:one,two,three", "file");
}

CORE_CASE("read at a position and at the current position") {
  std::string path = in_scratch(ctx, "digits");
  plain_write_file(path, "0123456789");
  int fd = open_file(ctx, path, O_RDONLY);
  CHECK(fd >= 0);
  CHECK(read_at(ctx, fd, 3, 5) == "567");
  // A positional read leaves the current position alone, like pread and Node's numeric `position`.
  CHECK(read_at(ctx, fd, 4, kCurrentPosition) == "0123");
  CHECK(read_at(ctx, fd, 4, kCurrentPosition) == "4567");
  CHECK(read_at(ctx, fd, 10, 8) == "89");  // short read at the end of the file
  CHECK(read_at(ctx, fd, 10, kCurrentPosition) == "89");
  close_fd(ctx, fd);
}

CORE_CASE("read past the end of the file returns 0") {
  std::string path = in_scratch(ctx, "short");
  plain_write_file(path, "abc");
  int fd = open_file(ctx, path, O_RDONLY);
  CHECK(fd >= 0);
  char buf[16];
  CHECK_EQ(run_one(ctx, op_rw(OpCode::kRead, 5, fd, buf, sizeof buf, 3)), 0);
  CHECK_EQ(run_one(ctx, op_rw(OpCode::kRead, 6, fd, buf, sizeof buf, 1000)), 0);
  CHECK_EQ(run_one(ctx, op_rw(OpCode::kRead, 7, fd, buf, sizeof buf, kCurrentPosition)), 3);
  CHECK_EQ(run_one(ctx, op_rw(OpCode::kRead, 8, fd, buf, sizeof buf, kCurrentPosition)), 0);
  close_fd(ctx, fd);
}

CORE_CASE("zero-length write returns 0 and changes nothing") {
  std::string path = in_scratch(ctx, "empty");
  int fd = open_file(ctx, path, O_CREAT | O_RDWR);
  CHECK(fd >= 0);
  char byte = 'x';
  CHECK_EQ(run_one(ctx, op_rw(OpCode::kWrite, 5, fd, &byte, 0, 0)), 0);
  CHECK_EQ(run_one(ctx, op_rw(OpCode::kWrite, 6, fd, &byte, 0, kCurrentPosition)), 0);
  close_fd(ctx, fd);
  CHECK_EQ(int64_t(plain_stat(path).size), int64_t(0));
}

CORE_CASE("writev and readv move several buffers at once") {
  std::string path = in_scratch(ctx, "vectors");
  int fd = open_file(ctx, path, O_CREAT | O_RDWR | O_TRUNC);
  CHECK(fd >= 0);
  std::string p1 = "abc", p2 = "", p3 = "defg", p4 = "h";
  IoVec out[4] = {{p1.data(), p1.size()}, {p2.data(), 0}, {p3.data(), p3.size()}, {p4.data(), p4.size()}};
  CHECK_EQ(run_one(ctx, op_vec(OpCode::kWritev, 5, fd, out, 4, 3)), 8);
  check_bytes(plain_read_file(path), std::string("\0\0\0abcdefgh", 11), "file after writev");

  char b1[2], b2[5], b3[10];
  IoVec in[3] = {{b1, sizeof b1}, {b2, sizeof b2}, {b3, sizeof b3}};
  CHECK_EQ(run_one(ctx, op_vec(OpCode::kReadv, 6, fd, in, 3, 0)), 11);
  check_bytes(std::string(b1, 2) + std::string(b2, 5) + std::string(b3, 4), std::string("\0\0\0abcdefgh", 11),
              "readv at 0");

  // At the current position: readv consumes the file, then writev continues where it stopped.
  std::memset(b3, 0, sizeof b3);
  CHECK_EQ(run_one(ctx, op_vec(OpCode::kReadv, 7, fd, in, 3, kCurrentPosition)), 11);
  std::string x = "XY", z = "Z";
  IoVec tail[2] = {{x.data(), x.size()}, {z.data(), z.size()}};
  CHECK_EQ(run_one(ctx, op_vec(OpCode::kWritev, 8, fd, tail, 2, kCurrentPosition)), 3);
  close_fd(ctx, fd);
  check_bytes(plain_read_file(path), std::string("\0\0\0abcdefghXYZ", 14), "file after writev at position");
}

// ---- sync, truncate, stat ----------------------------------------------------------------------------

CORE_CASE("fsync and fdatasync return 0") {
  int fd = open_file(ctx, in_scratch(ctx, "synced"), O_CREAT | O_WRONLY);
  CHECK(fd >= 0);
  CHECK_EQ(write_at(ctx, fd, "data", 0), 4);
  CHECK_EQ(run_one(ctx, op_fd(OpCode::kFsync, 5, fd)), 0);
  CHECK_EQ(run_one(ctx, op_fd(OpCode::kFdatasync, 6, fd)), 0);
  close_fd(ctx, fd);
}

CORE_CASE("ftruncate grows and shrinks the file") {
  std::string path = in_scratch(ctx, "truncated");
  plain_write_file(path, "abcdefghij");
  int fd = open_file(ctx, path, O_RDWR);
  CHECK(fd >= 0);
  Submission grow = op_fd(OpCode::kFtruncate, 5, fd);
  grow.offset = 4096;
  CHECK_EQ(run_one(ctx, grow), 0);
  CHECK_EQ(int64_t(plain_stat(path).size), int64_t(4096));
  Submission shrink = op_fd(OpCode::kFtruncate, 6, fd);
  shrink.offset = 3;
  CHECK_EQ(run_one(ctx, shrink), 0);
  CHECK_EQ(int64_t(plain_stat(path).size), int64_t(3));
  Submission regrow = op_fd(OpCode::kFtruncate, 7, fd);
  regrow.offset = 6;
  CHECK_EQ(run_one(ctx, regrow), 0);
  close_fd(ctx, fd);
  check_bytes(plain_read_file(path), std::string("abc\0\0\0", 6), "file");  // the cut bytes stay gone
}

CORE_CASE("fstat reports size, type and inode") {
  std::string path = in_scratch(ctx, "stated");
  plain_write_file(path, std::string(1234, 's'));
  int fd = open_file(ctx, path, O_RDONLY);
  CHECK(fd >= 0);
  StatResult sr;
  std::memset(&sr, 0xff, sizeof sr);
  Submission s = op_fd(OpCode::kFstat, 5, fd);
  s.stat = &sr;
  CHECK_EQ(run_one(ctx, s), 0);
  shim::FileInfo st = plain_stat(path);
  CHECK_EQ(sr.size, int64_t(1234));
  CHECK(S_ISREG(mode_t(sr.mode)));
  CHECK_EQ(sr.mode, st.mode);
  CHECK_EQ(sr.ino, st.ino);
  CHECK_EQ(sr.dev, st.dev);
  CHECK_EQ(sr.nlink, int64_t(1));
  CHECK_EQ(sr.mtime_ns, st.mtime_ns);
  close_fd(ctx, fd);
}

// ---- errors ------------------------------------------------------------------------------------------

CORE_CASE("operations on a closed or invalid descriptor are EBADF") {
  int fd = open_file(ctx, in_scratch(ctx, "closed"), O_CREAT | O_RDWR);
  CHECK(fd >= 0);
  close_fd(ctx, fd);
  // Nothing in this process opens descriptors between here and the checks, so `fd` stays unused.
  for (int bad : {fd, -1}) {
    char buf[8] = {};
    IoVec iov[1] = {{buf, sizeof buf}};
    StatResult sr;
    Submission stat = op_fd(OpCode::kFstat, 10, bad);
    stat.stat = &sr;
    Submission truncate = op_fd(OpCode::kFtruncate, 18, bad);
    truncate.offset = 0;  // a valid length, so the descriptor is the only thing wrong
    CHECK_EQ(run_one(ctx, op_rw(OpCode::kWrite, 11, bad, buf, sizeof buf, 0)), -EBADF);
    CHECK_EQ(run_one(ctx, op_rw(OpCode::kWrite, 12, bad, buf, sizeof buf, kCurrentPosition)), -EBADF);
    CHECK_EQ(run_one(ctx, op_rw(OpCode::kRead, 13, bad, buf, sizeof buf, 0)), -EBADF);
    CHECK_EQ(run_one(ctx, op_vec(OpCode::kWritev, 14, bad, iov, 1, 0)), -EBADF);
    CHECK_EQ(run_one(ctx, op_vec(OpCode::kReadv, 15, bad, iov, 1, 0)), -EBADF);
    CHECK_EQ(run_one(ctx, op_fd(OpCode::kFsync, 16, bad)), -EBADF);
    CHECK_EQ(run_one(ctx, op_fd(OpCode::kFdatasync, 17, bad)), -EBADF);
    CHECK_EQ(run_one(ctx, truncate), -EBADF);
    CHECK_EQ(run_one(ctx, stat), -EBADF);
  }
}

CORE_CASE("close twice: the second close is EBADF") {
  int fd = open_file(ctx, in_scratch(ctx, "twice"), O_CREAT | O_WRONLY);
  CHECK(fd >= 0);
  CHECK_EQ(run_one(ctx, op_fd(OpCode::kClose, 5, fd)), 0);
  CHECK_EQ(run_one(ctx, op_fd(OpCode::kClose, 6, fd)), -EBADF);
}

CORE_CASE("an unknown opcode completes once with an error") {
  Submission s = op_fd(OpCode::kCount, 9, -1);
  ctx.backend->submit(s);
  auto got = collect(*ctx.backend, 1);
  CHECK_EQ(got.size(), size_t(1));
  CHECK_EQ(got[0].token, uint32_t(9));
  CHECK(got[0].result < 0);
}

// ---- many operations ---------------------------------------------------------------------------------

CORE_CASE("5,000 writes in flight each complete once and land intact") {
  constexpr uint32_t kWrites = 5000, kRecord = 128;
  std::string path = in_scratch(ctx, "many");
  int fd = open_file(ctx, path, O_CREAT | O_RDWR | O_TRUNC);
  CHECK(fd >= 0);
  std::string data(size_t(kWrites) * kRecord, '\0');
  for (uint32_t i = 0; i < kWrites; i++) {
    std::string head = "#" + std::to_string(i) + ":";
    for (uint32_t j = 0; j < kRecord; j++) data[i * kRecord + j] = j < head.size() ? head[j] : char('a' + (i + j) % 26);
  }
  BackendStats before = ctx.backend->stats();
  for (uint32_t i = 0; i < kWrites; i++)
    ctx.backend->submit(op_rw(OpCode::kWrite, i + 1, fd, data.data() + i * kRecord, kRecord, int64_t(i) * kRecord));
  auto results = collect_each_once(*ctx.backend, kWrites);
  for (uint32_t t = 1; t <= kWrites; t++) CHECK_EQ(results[t], int32_t(kRecord));
  BackendStats after = ctx.backend->stats();
  CHECK_EQ(after.submitted - before.submitted, uint64_t(kWrites));
  CHECK_EQ(after.completed - before.completed, uint64_t(kWrites));
  CHECK_EQ(after.in_flight, uint32_t(0));
  CHECK_EQ(after.queued, uint32_t(0));
  close_fd(ctx, fd);
  check_bytes(plain_read_file(path), data, "file");
}

// Contract 8: one descriptor's operations start in submission order, so appends land in that order.
static void check_appends_in_order(Backend& backend, const std::string& path, uint32_t count) {
  std::string want;
  std::vector<std::string> records;
  for (uint32_t i = 0; i < count; i++) {
    char rec[16];
    std::snprintf(rec, sizeof rec, "%07u\n", i);
    records.push_back(rec);
    want += rec;
  }
  backend.submit(op_open(1, path.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_TRUNC));
  int fd = collect(backend, 1)[0].result;
  CHECK(fd >= 0);
  for (uint32_t i = 0; i < count; i++)
    backend.submit(op_rw(OpCode::kWrite, i + 1, fd, records[i].data(), records[i].size(), kCurrentPosition));
  auto results = collect_each_once(backend, count);
  for (uint32_t t = 1; t <= count; t++) CHECK_EQ(results[t], 8);
  backend.submit(op_fd(OpCode::kClose, 1, fd));
  CHECK_EQ(collect(backend, 1)[0].result, 0);
  check_bytes(plain_read_file(path), want, "appended file");
}

CORE_CASE("1,000 appends to one descriptor land in submission order") {
  check_appends_in_order(*ctx.backend, in_scratch(ctx, "ordered"), 1000);
}

CORE_CASE("operations beyond the in-flight cap wait and keep their order") {
  BackendOptions options = ctx.options;
  options.max_in_flight = 4;
  auto choice = create_backend(ctx.kind, options);
  CHECK(choice.backend != nullptr);
  check_appends_in_order(*choice.backend, in_scratch(ctx, "capped"), 300);
}

// ---- waiting and waking ------------------------------------------------------------------------------

CORE_CASE("wake from another thread ends wait(-1)") {
  Watchdog dog("wait(-1) after wake()", std::chrono::seconds(20));
  Backend* backend = ctx.backend;
  std::thread waker([backend] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    backend->wake();
  });
  Completion out[4];
  int n = backend->wait(out, 4, -1);
  waker.join();
  CHECK_EQ(n, 0);
}

CORE_CASE("wake before wait ends the next wait(-1)") {
  Watchdog dog("wait(-1) after an earlier wake()", std::chrono::seconds(20));
  ctx.backend->wake();
  Completion out[4];
  CHECK_EQ(ctx.backend->wait(out, 4, -1), 0);
}

CORE_CASE("wait(0) with nothing pending returns 0") {
  Completion out[4];
  CHECK_EQ(ctx.backend->wait(out, 4, 0), 0);
  CHECK_EQ(ctx.backend->wait(out, 4, 0), 0);
}

CORE_CASE("wait(0.4) with nothing pending sleeps instead of spinning") {
  Completion out[4];
  // Once on a fresh backend and once after an operation, whose wake-up signal must not end the sleep early.
  for (int round = 0; round < 2; round++) {
    if (round == 1) {
      int fd = open_file(ctx, in_scratch(ctx, "tick"), O_CREAT | O_WRONLY);
      CHECK(fd >= 0);
      close_fd(ctx, fd);
    }
    for (int i = 0; i < 5; i++) {
      auto start = std::chrono::steady_clock::now();
      CHECK_EQ(ctx.backend->wait(out, 4, 0.4), 0);
      double ms = elapsed_ms(start);
      if (ms < 0.3) throw Failure{"wait(0.4) returned after " + std::to_string(ms) + " ms"};
    }
  }
}

CORE_CASE("wait with a timeout returns the completion as soon as it is ready") {
  int fd = open_file(ctx, in_scratch(ctx, "soon"), O_CREAT | O_WRONLY);
  CHECK(fd >= 0);
  ctx.backend->submit(op_rw(OpCode::kWrite, 7, fd, "abc", 3, 0));
  Completion out[4];
  int n = 0;
  for (int i = 0; i < 100 && n == 0; i++) n = ctx.backend->wait(out, 4, 100000);  // returns long before 100 s
  CHECK_EQ(n, 1);
  CHECK_EQ(out[0].token, uint32_t(7));
  CHECK_EQ(out[0].result, 3);
  close_fd(ctx, fd);
}

CORE_CASE("wait hands out at most `capacity` completions and keeps the rest") {
  constexpr uint32_t kOps = 10;
  std::string path = in_scratch(ctx, "capacity");
  int fd = open_file(ctx, path, O_CREAT | O_RDWR | O_TRUNC);
  CHECK(fd >= 0);
  std::string bytes = "abcdefghij";
  for (uint32_t i = 0; i < kOps; i++) ctx.backend->submit(op_rw(OpCode::kWrite, i + 1, fd, &bytes[i], 1, i));
  std::vector<int> seen(kOps + 1, 0);
  Completion out[8];
  auto take = [&](int n) {
    CHECK(n >= 0 && n <= 3);
    for (int i = 0; i < n; i++) {
      CHECK(out[i].token >= 1 && out[i].token <= kOps);
      CHECK_EQ(++seen[out[i].token], 1);
      CHECK_EQ(out[i].result, 1);
    }
    return n;
  };
  uint32_t got = uint32_t(take(ctx.backend->wait(out, 3, 0)));  // hands the batch over
  // Every write has run once every byte is in the file; a moment later all completions are ready.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (plain_read_file(path) != bytes) {
    if (std::chrono::steady_clock::now() > deadline) throw Failure{"writes did not reach the file"};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_EQ(take(ctx.backend->wait(out, 3, 0)), 3);  // at least 7 were ready: capacity cuts it to 3
  got += 3;
  while (got < kOps) got += uint32_t(take(ctx.backend->wait(out, 3, 10000)));
  CHECK_EQ(got, kOps);
  CHECK_EQ(ctx.backend->wait(out, 3, 0), 0);
  close_fd(ctx, fd);
}

// ---- cancellation ------------------------------------------------------------------------------------

CORE_CASE("cancel of an unknown or finished token is false") {
  CHECK(!ctx.backend->cancel(12345));
  int fd = open_file(ctx, in_scratch(ctx, "done"), O_CREAT | O_WRONLY);
  CHECK(fd >= 0);
  CHECK_EQ(run_one(ctx, op_fd(OpCode::kFsync, 77, fd)), 0);
  CHECK(!ctx.backend->cancel(77));
  close_fd(ctx, fd);
}

namespace {

// A pipe whose reader can be started late and that never leaves a writer blocked: the destructor closes
// the write end and drains to EOF, so even a failing case lets blocked writes finish before the backend
// is destroyed (which waits for them, contract 9).
class DrainedPipe {
 public:
  DrainedPipe() {
    shim::make_pipe(fds_);
  }
  ~DrainedPipe() {
    close_write_end();
    start_reader();
    reader_.join();
    shim::close_fd(fds_[0]);
  }
  int write_end() const { return fds_[1]; }
  // Bytes written into the pipe and not read yet (FIONREAD does not consume them).
  uint64_t buffered() const { return shim::pipe_buffered(fds_[0]); }
  void start_reader() {
    if (reader_.joinable()) return;
    reader_ = std::thread([this] {
      char chunk[65536];
      for (;;) {
        long n = shim::read_fd(fds_[0], chunk, sizeof chunk);
        if (n <= 0) return;
        drained_ += uint64_t(n);
      }
    });
  }
  void close_write_end() {
    if (fds_[1] >= 0) shim::close_fd(fds_[1]);
    fds_[1] = -1;
  }
  uint64_t finish() {  // closes the write end and returns every byte that went through the pipe
    close_write_end();
    start_reader();
    reader_.join();
    return drained_;
  }

 private:
  int fds_[2] = {-1, -1};
  std::thread reader_;
  std::atomic<uint64_t> drained_{0};
};

// Every token in `lens` completed exactly once with -ECANCELED or a byte count in (0, len]; returns the sum
// of the byte counts (bytes written are never hidden, contract 2).
uint64_t check_cancel_results(const std::map<uint32_t, int>& seen, const std::map<uint32_t, int32_t>& results,
                              const std::map<uint32_t, size_t>& lens) {
  uint64_t written = 0;
  for (auto& [token, len] : lens) {
    auto s = seen.find(token);
    if (s == seen.end() || s->second != 1)
      throw Failure{"token " + std::to_string(token) + " completed " +
                    std::to_string(s == seen.end() ? 0 : s->second) + " times"};
    int32_t r = results.at(token);
    if (r != -ECANCELED && !(r > 0 && size_t(r) <= len))
      throw Failure{"token " + std::to_string(token) + " result " + std::to_string(r)};
    if (r > 0) written += uint64_t(r);
  }
  return written;
}

// Waits on `backend` until `ready()` holds, recording any completion that arrives meanwhile. Used to see
// that an operation has reached the kernel (bytes appear in a pipe) instead of guessing a delay.
template <typename Ready>
void drive_until(Backend& backend, Ready ready, std::map<uint32_t, int>* seen, std::map<uint32_t, int32_t>* results) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Completion out[8];
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) throw Failure{"the operation never reached the kernel"};
    int n = backend.wait(out, 8, 1);
    if (n < 0) throw Failure{"wait returned " + std::to_string(n)};
    for (int i = 0; i < n; i++) (*seen)[out[i].token]++, (*results)[out[i].token] = out[i].result;
  }
}

}  // namespace

// Nobody reads the pipe until every completion is in: the write can only end by being cancelled, on every
// backend (io_uring cancels it in the kernel, the pool interrupts its worker with a signal).
CORE_CASE("cancel of a 1 MiB write blocked on a pipe nobody reads completes it promptly") {
  shim::ignore_sigpipe();  // a failing case closes the read end early: let writes see EPIPE, not die
  DrainedPipe pipe;
  std::vector<char> big(1 << 20, 'B');  // larger than a pipe holds: the write blocks once the pipe is full
  std::string small(100, 's');
  ctx.backend->submit(op_rw(OpCode::kWrite, 1, pipe.write_end(), big.data(), big.size(), kCurrentPosition));
  ctx.backend->submit(op_rw(OpCode::kWrite, 2, pipe.write_end(), small.data(), small.size(), kCurrentPosition));

  std::map<uint32_t, int> seen;
  std::map<uint32_t, int32_t> results;
  // Bytes in the pipe mean the big write is in the kernel; it stays there, since nothing drains the pipe.
  drive_until(*ctx.backend, [&] { return pipe.buffered() > 0; }, &seen, &results);
  CHECK(seen.empty());  // neither write can have finished: the pipe holds less than 1 MiB

  CHECK(ctx.backend->cancel(1));  // running: accepted (true), whatever the backend does with it
  ctx.backend->cancel(2);         // queued behind it; may have been issued already: not checked
  for (const Completion& c : collect(*ctx.backend, 2, 10000)) seen[c.token]++, results[c.token] = c.result;
  Completion out[8];
  CHECK_EQ(ctx.backend->wait(out, 8, 1), 0);
  uint64_t written = check_cancel_results(seen, results, {{1u, big.size()}, {2u, small.size()}});
  CHECK(results[1] == -ECANCELED || size_t(results[1]) < big.size());  // it cannot have finished
  // What the results claim is exactly what the pipe holds: bytes written are never hidden (contract 2).
  CHECK_EQ(pipe.buffered(), written);
  CHECK_EQ(pipe.finish(), written);
}

CORE_CASE("cancel of a read on an empty pipe whose writer stays open is ECANCELED") {
  int fds[2];
  shim::make_pipe(fds);
  // If a check fails, closing the write end ends a read still blocked (EOF), so the backend the harness
  // destroys next does not wait for it forever.
  struct Closer {
    int* fds;
    ~Closer() {
      shim::close_fd(fds[1]);
      shim::close_fd(fds[0]);
    }
  } closer{fds};
  // The read is cancelled at three moments: before anything reached the kernel or the pool, right after
  // a poll handed it over, and after the backend had 20 ms to start it. Every one must end with
  // -ECANCELED (nothing was read), and none may consume data written afterwards. The 20 ms gives the
  // running path its chance; the result does not depend on it.
  for (int round = 0; round < 3; round++) {
    char buf[64];
    uint32_t token = uint32_t(10 + round);
    ctx.backend->submit(op_rw(OpCode::kRead, token, fds[0], buf, sizeof buf, kCurrentPosition));
    Completion out[8];
    if (round >= 1) CHECK_EQ(ctx.backend->wait(out, 8, round == 1 ? 0 : 20), 0);
    CHECK(ctx.backend->cancel(token));
    auto got = collect(*ctx.backend, 1, 10000);
    CHECK_EQ(got[0].token, token);
    CHECK_EQ(got[0].result, -ECANCELED);
    CHECK_EQ(ctx.backend->wait(out, 8, 1), 0);
    // The pipe is intact: a byte written now is there for a plain read.
    CHECK_EQ(shim::write_fd(fds[1], "x", 1), 1L);
    char byte = 0;
    CHECK_EQ(shim::read_fd(fds[0], &byte, 1), 1L);
    CHECK_EQ(byte, 'x');
  }
}

CORE_CASE("cancel of an open of a FIFO that has no reader is ECANCELED") {
  std::string path = in_scratch(ctx, "fifo");
  std::string why_not;
  if (!shim::make_fifo(path, &why_not)) SKIP(why_not);
  // open(O_WRONLY) of a FIFO waits for a reader, which never comes. If a check fails, a reader opened
  // and closed on the way out releases an open still blocked, so the harness can destroy the backend.
  struct Releaser {
    const std::string& path;
    ~Releaser() { shim::release_fifo(path); }
  } releaser{path};
  ctx.backend->submit(op_open(1, path.c_str(), O_WRONLY));
  Completion out[8];
  CHECK_EQ(ctx.backend->wait(out, 8, 20), 0);
  CHECK(ctx.backend->cancel(1));
  auto got = collect(*ctx.backend, 1, 10000);
  CHECK_EQ(got[0].token, uint32_t(1));
  if (got[0].result >= 0) {  // an open that won the race reports its descriptor (the truth): close it
    shim::close_fd(got[0].result);
    throw Failure{"a FIFO open for writing with no reader cannot succeed"};
  }
  CHECK_EQ(got[0].result, -ECANCELED);
}

CORE_CASE("cancel of an operation held back by the in-flight cap") {
  shim::ignore_sigpipe();
  BackendOptions options = ctx.options;
  options.max_in_flight = 1;
  auto choice = create_backend(ctx.kind, options);
  CHECK(choice.backend != nullptr);
  Backend& backend = *choice.backend;
  std::string path = in_scratch(ctx, "held");
  int fd = shim::open_fd(path, O_CREAT | O_RDWR, 0644);
  CHECK(fd >= 0);
  std::string record(128, 'h');
  {
    DrainedPipe pipe;  // declared after `backend`: drained before the backend is destroyed
    std::vector<char> big(1 << 20, 'B');
    backend.submit(op_rw(OpCode::kWrite, 1, pipe.write_end(), big.data(), big.size(), kCurrentPosition));
    backend.submit(op_rw(OpCode::kWrite, 2, fd, record.data(), record.size(), 0));
    Completion out[8];
    int n = backend.wait(out, 8, 50);
    CHECK(n >= 0);
    std::map<uint32_t, int> seen;
    std::map<uint32_t, int32_t> results;
    for (int i = 0; i < n; i++) seen[out[i].token]++, results[out[i].token] = out[i].result;
    backend.cancel(2);  // held, so it cannot have started; but the contract only promises best effort
    pipe.start_reader();
    for (const Completion& c : collect(backend, size_t(2 - n), 30000)) seen[c.token]++, results[c.token] = c.result;
    uint64_t drained = pipe.finish();
    check_cancel_results(seen, results, {{1u, big.size()}, {2u, record.size()}});
    CHECK_EQ(uint64_t(results[1] > 0 ? results[1] : 0), drained);
    // The held write either never ran (-ECANCELED, file untouched) or ran whole: its result tells the truth.
    std::string file = plain_read_file(path);
    if (results[2] == -ECANCELED) CHECK_EQ(file.size(), size_t(0));
    else check_bytes(file, record, "file");
  }
  shim::close_fd(fd);
}

// ---- destruction -------------------------------------------------------------------------------------

// An idle backend, and one whose operations have all completed, must drain in the first round: a round
// that runs out its timeout delays every program's exit (io_uring once waited a second in each destructor
// because an internal read armed at construction was only cancelled when readdir had been used).
CORE_CASE("destroying an idle backend, or one whose work is done, needs no timed-out drain round") {
  uint64_t before = slow_drain_rounds();
  { auto idle = create_backend(ctx.kind, ctx.options); CHECK(idle.backend != nullptr); }
  {
    auto used = create_backend(ctx.kind, ctx.options);
    CHECK(used.backend != nullptr);
    int fd = shim::open_fd(in_scratch(ctx, "drain-quick"), O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);
    char data[64] = {'x'};
    used.backend->submit(op_rw(OpCode::kWrite, 1, fd, data, sizeof data, 0));
    CHECK_EQ(collect(*used.backend, 1)[0].result, int32_t(sizeof data));
    shim::close_fd(fd);
  }
  CHECK_EQ(slow_drain_rounds(), before);
}

CORE_CASE("destroying a backend with operations in flight drains them") {
  constexpr uint32_t kWrites = 100, kRecord = 128;
  // Round 0 destroys right after submit; round 1 after a wait(0) has handed the batch over.
  for (int round = 0; round < 2; round++) {
    std::string path = in_scratch(ctx, round ? "drained1" : "drained0");
    int fd = shim::open_fd(path, O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);
    auto data = std::make_unique<std::vector<char>>(size_t(kWrites) * kRecord);
    for (uint32_t i = 0; i < kWrites; i++) std::memset(data->data() + i * kRecord, 'A' + int(i % 26), kRecord);
    {
      auto choice = create_backend(ctx.kind, ctx.options);
      CHECK(choice.backend != nullptr);
      for (uint32_t i = 0; i < kWrites; i++)
        choice.backend->submit(
            op_rw(OpCode::kWrite, i + 1, fd, data->data() + i * kRecord, kRecord, int64_t(i) * kRecord));
      if (round == 1) {
        Completion out[8];
        CHECK(choice.backend->wait(out, 8, 0) >= 0);
      }
    }  // destroyed here, without reaping
    data.reset();  // under ASan, a worker or kernel thread still touching the buffers now is reported
    shim::close_fd(fd);
    std::string file = plain_read_file(path);
    CHECK(file.size() <= size_t(kWrites) * kRecord);
    file.resize(size_t(kWrites) * kRecord, '\0');  // records past the end were never written
    for (uint32_t i = 0; i < kWrites; i++) {
      std::string rec = file.substr(i * kRecord, kRecord);
      bool untouched = rec == std::string(kRecord, '\0');
      bool whole = rec == std::string(kRecord, char('A' + int(i % 26)));
      if (!untouched && !whole) throw Failure{"record " + std::to_string(i) + " is torn"};
    }
  }
}

// Contract 9 with an operation that would never end on its own: the destructor must cancel it (io_uring in
// the kernel, the pool by interrupting its worker), not wait for a reader that never comes.
CORE_CASE("destroying a backend while a write is blocked on a pipe returns") {
  shim::ignore_sigpipe();
  Watchdog dog("destroying a backend with a write blocked on a pipe", std::chrono::seconds(20));
  DrainedPipe pipe;  // drained only after the backend is gone
  auto big = std::make_unique<std::vector<char>>(size_t(1) << 20, 'B');
  {
    auto choice = create_backend(ctx.kind, ctx.options);
    CHECK(choice.backend != nullptr);
    choice.backend->submit(op_rw(OpCode::kWrite, 1, pipe.write_end(), big->data(), big->size(), kCurrentPosition));
    std::map<uint32_t, int> seen;
    std::map<uint32_t, int32_t> results;
    drive_until(*choice.backend, [&] { return pipe.buffered() > 0; }, &seen, &results);
    CHECK(seen.empty());
  }  // destroyed here, with the write blocked and nobody reading
  uint64_t in_pipe = pipe.buffered();
  big.reset();  // under ASan, a worker or kernel thread still writing from the buffer now is reported
  CHECK(in_pipe < (uint64_t(1) << 20));
  if (shim::pipe_keeps_cancelled_bytes()) CHECK(in_pipe > 0);
  CHECK_EQ(pipe.finish(), in_pipe);  // nothing more arrived after the destructor returned
}

// ---- stats -------------------------------------------------------------------------------------------

CORE_CASE("stats count submissions and completions") {
  BackendStats s0 = ctx.backend->stats();
  CHECK_EQ(s0.submitted, uint64_t(0));
  CHECK_EQ(s0.in_flight, uint32_t(0));
  int fd = open_file(ctx, in_scratch(ctx, "counted"), O_CREAT | O_WRONLY);
  CHECK(fd >= 0);
  ctx.backend->submit(op_rw(OpCode::kWrite, 5, fd, "ab", 2, 0));
  CHECK_EQ(ctx.backend->stats().in_flight, uint32_t(1));
  collect(*ctx.backend, 1);
  close_fd(ctx, fd);
  BackendStats s1 = ctx.backend->stats();
  CHECK_EQ(s1.submitted, uint64_t(3));
  CHECK_EQ(s1.completed, uint64_t(3));
  CHECK_EQ(s1.in_flight, uint32_t(0));
  CHECK(s1.enters + s1.inline_ops + s1.worker_ops > 0);  // something did the work, and says so
}
