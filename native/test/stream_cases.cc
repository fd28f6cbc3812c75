// Positional transfers on descriptors that cannot seek behave as streams on every backend (io_uring ignores
// the offset there; the pool retries pread/pwrite's ESPIPE as read/write). corio's FileHandle always passes
// positions, so a FIFO opened through it must work the same on io_uring and on the pool.
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "shim.h"

using namespace corio;

CORE_CASE("positional write and read on a pipe act as a stream") {
  int fds[2];
  corio::test::shim::make_pipe(fds);  // through the shim: a named pipe on Windows
  char out[] = "hello";
  Submission w;
  w.op = OpCode::kWrite;
  w.token = 1;
  w.fd = fds[1];
  w.buf = out;
  w.len = 5;
  w.offset = 12345;  // meaningless for a pipe: ignored, not ESPIPE
  CHECK_EQ(test::run_one(ctx, w), 5);
  char in[8] = {};
  Submission r;
  r.op = OpCode::kRead;
  r.token = 2;
  r.fd = fds[0];
  r.buf = in;
  r.len = sizeof in;
  r.offset = 777;
  CHECK_EQ(test::run_one(ctx, r), 5);
  CHECK(std::memcmp(in, "hello", 5) == 0);
  corio::test::shim::close_fd(fds[0]);
  corio::test::shim::close_fd(fds[1]);
}
