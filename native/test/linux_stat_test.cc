// Linux only (statx): both Linux backends report the same stat fields for the same file, birth time
// included. io_uring asks with IORING_OP_STATX; the pool used to call fstat(2), whose struct stat has no birth
// time, so epoll reported 0 where io_uring reported the real value.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "harness.h"

using namespace corio;

CORE_CASE("fstat and stat report the birth time statx reports (0 only where the fs records none)") {
  std::string path = ctx.scratch_dir + "/born";
  int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
  CHECK(fd >= 0);
  struct statx x;
  CHECK(::statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS | STATX_BTIME, &x) == 0);
  int64_t expected = (x.stx_mask & STATX_BTIME) ? int64_t(x.stx_btime.tv_sec) * 1000000000 + x.stx_btime.tv_nsec : 0;

  StatResult by_fd{}, by_path{};
  Submission f;
  f.op = OpCode::kFstat;
  f.token = 1;
  f.fd = fd;
  f.stat = &by_fd;
  CHECK_EQ(test::run_one(ctx, f), 0);
  Submission p;
  p.op = OpCode::kStat;
  p.token = 2;
  p.path = path.c_str();
  p.stat = &by_path;
  CHECK_EQ(test::run_one(ctx, p), 0);
  CHECK_EQ(by_fd.birthtime_ns, expected);
  CHECK_EQ(by_path.birthtime_ns, expected);
  CHECK_EQ(by_fd.ino, int64_t(x.stx_ino));
  CHECK_EQ(by_path.size, int64_t(x.stx_size));
  ::close(fd);
}
