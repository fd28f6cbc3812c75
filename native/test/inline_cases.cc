// Inline writes (inline_writes.h) on every backend that has them: io_uring, and the pool behind epoll and
// kqueue. The same behaviour through the Backend interface, whichever code path gives it: small positional
// writes to a quiet regular file run on the loop thread (BackendStats::inline_ops), the option turns that
// off, O_DSYNC descriptors never take it, and writes issued together over the same bytes land in issue
// order. POSIX-only (O_DSYNC, pread, setenv): IOCP has no inline path, and native/test/build-windows.sh leaves this
// file out. io_uring's own details (its gate, the ring's ESPIPE stream fallback, the trace record) are in
// uring_test.cc; the pool's, with injected writers, in pool_test.cc.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "harness.h"

using namespace corio;
using corio::test::collect;
using corio::test::write_at;

namespace {

int open_through(Backend& backend, const std::string& path, int flags) {
  Submission op;
  op.op = OpCode::kOpen;
  op.token = 9000;
  op.path = path.c_str();
  op.flags = flags;
  op.mode = 0644;
  backend.submit(op);
  int fd = collect(backend, 1)[0].result;
  CHECK(fd >= 0);
  return fd;
}

void close_through(Backend& backend, int fd) {
  Submission cl;
  cl.op = OpCode::kClose;
  cl.token = 9001;
  cl.fd = fd;
  backend.submit(cl);
  CHECK_EQ(collect(backend, 1)[0].result, 0);
}

// 200 records of 128 B, one in flight at a time (a task that waits for each write); returns how many ran
// inline, having checked every completion and the file's bytes.
uint64_t one_at_a_time(Backend& backend, const std::string& path) {
  constexpr uint32_t kN = 200, kRec = 128;
  std::vector<char> data(kN * kRec);
  for (size_t i = 0; i < data.size(); i++) data[i] = char('a' + i % 26);
  int fd = open_through(backend, path, O_RDWR | O_CREAT | O_TRUNC);
  const uint64_t before = backend.stats().inline_ops;
  for (uint32_t i = 0; i < kN; i++) {
    backend.submit(write_at(i, fd, &data[i * kRec], kRec, int64_t(i) * kRec));
    auto c = collect(backend, 1)[0];
    CHECK_EQ(c.token, i);
    CHECK_EQ(c.result, int32_t(kRec));
  }
  const uint64_t ran = backend.stats().inline_ops - before;
  std::vector<char> back(data.size());
  CHECK_EQ(::pread(fd, back.data(), back.size(), 0), ssize_t(back.size()));
  CHECK(back == data);
  close_through(backend, fd);
  return ran;
}

}  // namespace

CORE_CASE("inline writes: one small write at a time runs on the loop thread; off by the option or the environment, same bytes") {
  // Normally all 200; a write preempted on this shared 2-vCPU machine can make the policy back off (the
  // next 256 go the usual way), so "some ran inline" is what is certain. Off, the count is exactly 0.
  CHECK(one_at_a_time(*ctx.backend, ctx.scratch_dir + "/on") >= 1);
  // Switched off: by the option, and by CORIO_INLINE_WRITES=0 (read when the backend is made).
  for (int how = 0; how < 2; how++) {
    BackendOptions off = ctx.options;
    if (how == 0) off.inline_writes = false;
    if (how == 1) ::setenv("CORIO_INLINE_WRITES", "0", 1);
    auto choice = create_backend(ctx.kind, off);
    if (how == 1) ::unsetenv("CORIO_INLINE_WRITES");
    CHECK(choice.backend != nullptr);
    CHECK_EQ(one_at_a_time(*choice.backend, ctx.scratch_dir + (how == 0 ? "/off-option" : "/off-env")), uint64_t(0));
  }
}

CORE_CASE("inline writes: a descriptor opened with O_DSYNC through the backend never runs inline") {
  int fd = open_through(*ctx.backend, ctx.scratch_dir + "/dsync", O_RDWR | O_CREAT | O_TRUNC | O_DSYNC);
  static const char rec[4] = {'d', 's', 'y', 'n'};
  const uint64_t before = ctx.backend->stats().inline_ops;
  for (uint32_t i = 0; i < 5; i++) {
    ctx.backend->submit(write_at(i, fd, rec, sizeof rec, int64_t(i) * 4));
    CHECK_EQ(collect(*ctx.backend, 1)[0].result, 4);
  }
  CHECK_EQ(ctx.backend->stats().inline_ops, before);
  close_through(*ctx.backend, fd);
}

CORE_CASE("inline writes: a large write then a small one over the same bytes, issued together, land in order") {
  int fd = open_through(*ctx.backend, ctx.scratch_dir + "/order", O_RDWR | O_CREAT | O_TRUNC);
  // The large one is past the inline limit, so it goes to the kernel or a worker; the small one must not
  // overtake it while it is there.
  std::vector<char> big(256 * 1024, 'A');
  static const char small[4] = {'b', 'b', 'b', 'b'};
  const uint64_t before = ctx.backend->stats().inline_ops;
  for (int round = 0; round < 20; round++) {
    ctx.backend->submit(write_at(1, fd, big.data(), big.size(), 0));
    ctx.backend->submit(write_at(2, fd, small, sizeof small, 0));
    auto got = collect(*ctx.backend, 2);
    for (auto& c : got) CHECK_EQ(c.result, c.token == 1 ? int32_t(big.size()) : 4);
    char head[5] = {};
    CHECK_EQ(::pread(fd, head, 4, 0), 4);
    CHECK(std::string(head) == "bbbb");
  }
  // The small write waits while the large one is in the kernel or with a worker, or runs inline once it has
  // completed (io_uring can finish it during the same submit); never before it: at most one inline a round.
  CHECK(ctx.backend->stats().inline_ops - before <= 20);
  close_through(*ctx.backend, fd);
}
