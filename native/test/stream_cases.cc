// Positional transfers on descriptors that cannot seek behave as streams on every backend (io_uring ignores
// the offset there; the pool retries pread/pwrite's ESPIPE as read/write). corio's FileHandle always passes
// positions, so a FIFO opened through it must work the same on io_uring and on the pool.
#include <algorithm>
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

// A write at the file position that the kernel cuts short (here by RLIMIT_FSIZE) must report the bytes that
// really landed, and never continue at a file position the kernel did not move: on io_uring that overwrote
// the start of the file (see may_continue_short_write in uring.cc). Runs in a child with its own backend so
// the limit does not touch the test program.
#include <csignal>
#include <sys/resource.h>
#include <sys/wait.h>
#include <vector>

CORE_CASE("a short write at the file position reports what landed and never rewrites the start") {
  std::string path = ctx.scratch_dir + "/limited";
  pid_t pid = ::fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // make the limit an EFBIG error instead of a killing signal
    struct rlimit lim = {1 << 20, 1 << 20};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    auto child = create_backend(ctx.kind, ctx.options);
    if (!child.backend) ::_exit(3);
    int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
    std::vector<char> buf(2 << 20, 'A');
    std::fill(buf.begin() + (1 << 20), buf.end(), 'B');
    Submission w;
    w.op = OpCode::kWrite;
    w.token = 1;
    w.fd = fd;
    w.buf = buf.data();
    w.len = uint32_t(buf.size());
    w.offset = kCurrentPosition;
    child.backend->submit(w);
    Completion c{};
    while (child.backend->wait(&c, 1, -1) == 0) {}
    struct stat st;
    ::fstat(fd, &st);
    char first = 0;
    ::pread(fd, &first, 1, 0);
    // Exit codes: 0 all good; 4 result and file size disagree; 5 the start was overwritten.
    if (c.result != st.st_size) ::_exit(4);
    if (first != 'A') ::_exit(5);
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
}
