// Cases that need POSIX process control (fork, setrlimit): Linux and macOS only, kept out of the Windows
// build by its file list.
#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "harness.h"

using namespace corio;

// A write at the file position that the kernel cuts short (here by RLIMIT_FSIZE) must report the bytes that
// really landed, and never continue at a file position the kernel did not move: on io_uring that overwrote
// the start of the file (see may_continue_short_write in uring.cc). Runs in a child with its own backend so
// the limit does not touch the test program.
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
