// The FIFO read-open rule every POSIX backend must keep: open(2) of a FIFO for reading waits for a writer.
// POSIX-only (Linux, macOS): Windows has no FIFOs in the file system, so native/test/build-windows.sh
// leaves this file out, as it does the io_uring and signal cases. Split from path_cases.cc, which runs on
// every platform.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "harness.h"

using namespace corio;
using corio::test::collect;
using corio::test::run_one;

namespace {

std::string at(const corio::test::Context& ctx, const std::string& name) { return ctx.scratch_dir + "/" + name; }

Submission open_op(const std::string& path) {
  Submission s;
  s.op = OpCode::kOpen;
  s.token = 1;
  s.path = path.c_str();
  return s;
}

}  // namespace


CORE_CASE("open of a FIFO for reading waits for a writer, as open(2) does") {
  // io_uring's first attempt at an open does not block and would open a FIFO at once with no writer
  // (uring.cc, handle_cqe). A read from that descriptor would then report end of file straight away.
  std::string fifo = at(ctx, "fifo-r");
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  // On the way out (also after a failed check) a writer releases an open still blocked.
  struct Releaser {
    const std::string& path;
    ~Releaser() {
      int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd >= 0) ::close(fd);
    }
  } releaser{fifo};
  Submission s = open_op(fifo);
  s.flags = O_RDONLY;
  ctx.backend->submit(s);
  Completion out[4];
  CHECK_EQ(ctx.backend->wait(out, 4, 30), 0);  // still waiting for a writer, not opened
  // A reader is already there (open(2) counts itself before it waits), so a non-blocking writer opens.
  int wfd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  CHECK(wfd >= 0);
  auto got = collect(*ctx.backend, 1);
  CHECK(got[0].result >= 0);
  int rfd = got[0].result;
  CHECK(::write(wfd, "x", 1) == 1);
  char ch = 0;
  CHECK(::read(rfd, &ch, 1) == 1 && ch == 'x');
  CHECK((::fcntl(rfd, F_GETFL) & O_NONBLOCK) == 0);  // a blocking descriptor, as asked
  ::close(rfd);
  ::close(wfd);
}

CORE_CASE("open of a FIFO for reading with a writer present completes at once") {
  std::string fifo = at(ctx, "fifo-w");
  CHECK(::mkfifo(fifo.c_str(), 0600) == 0);
  int keep_r = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // lets the writer open
  CHECK(keep_r >= 0);
  int wfd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  CHECK(wfd >= 0);
  ::close(keep_r);
  Submission s = open_op(fifo);
  s.flags = O_RDONLY;
  int32_t fd = run_one(ctx, s, 5000);
  CHECK(fd >= 0);
  CHECK(::write(wfd, "y", 1) == 1);
  char ch = 0;
  CHECK(::read(fd, &ch, 1) == 1 && ch == 'y');
  ::close(fd);
  ::close(wfd);
}
