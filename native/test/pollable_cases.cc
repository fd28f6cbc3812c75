// A pollable backend (BackendOptions::pollable, contract 12) as hosted mode uses it: another loop watches
// pollable_fd() with a level-triggered poll and calls wait(0) when it is readable. POSIX-only (Linux,
// macOS): IOCP has no such descriptor, so native/test/build-windows.sh leaves this file out.
//
// The case that matters: once wait(0) has taken every completion, the descriptor must stop being
// readable. The epoll and kqueue backends used to leave their pool's signal pending on a poll, so libuv
// called the guest back on every turn of Node's loop with nothing to do (issue 13: ~24 iterations per
// 64 KiB write in bench W2, hosted at half of run()'s rate).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "harness.h"

using namespace corio;
using corio::test::write_at;

namespace {

// A run that knows the host loop cannot watch this descriptor says why (CORIO_TEST_NO_HOSTED, as
// test/helpers.ts hostedSkip reads it), and these cases report that instead of failing. No run sets it
// today: test:kqueue did until kqueue.cc's hosted mode got a wake pipe.
void skip_if_not_hostable() {
  const char* why = std::getenv("CORIO_TEST_NO_HOSTED");
  if (why != nullptr && *why != '\0') SKIP(why);
}

// The backend of this run made as hosted mode makes it (BackendOptions::pollable); skips where the run
// cannot host (skip_if_not_hostable) or the backend has no descriptor (IOCP).
std::unique_ptr<Backend> pollable_backend(corio::test::Context& ctx) {
  skip_if_not_hostable();
  BackendOptions options = ctx.options;
  options.pollable = true;
  auto choice = create_backend(ctx.kind, options);
  CHECK(choice.backend != nullptr);
  if (choice.backend->pollable_fd() < 0) SKIP("this backend has no pollable descriptor");
  return std::move(choice.backend);
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  return r > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace

CORE_CASE("a pollable backend's descriptor wakes on a completion and is quiet once wait(0) took it") {
  auto owned = pollable_backend(ctx);
  Backend& backend = *owned;
  const int pfd = backend.pollable_fd();
  Completion out[8];
  backend.wait(out, 8, 0);  // io_uring arms its wake read here, as the hosted driver does first
  CHECK(!readable(pfd, 0));

  std::string path = ctx.scratch_dir + "/pollable";
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  static const char data[] = "corio";
  for (uint32_t round = 1; round <= 3; round++) {
    backend.submit(write_at(round, fd, data, sizeof data - 1, 0));
    int got = backend.wait(out, 8, 0);  // the flush; a fast kernel may already have the completion
    // As the host loop does: sleep on the descriptor until the completion shows there.
    if (got == 0) {
      CHECK(readable(pfd, 10000));
      got = backend.wait(out, 8, 0);
    }
    CHECK_EQ(got, 1);
    CHECK_EQ(out[0].token, round);
    CHECK_EQ(out[0].result, int32_t(sizeof data - 1));
    // Nothing is left: a level-triggered watcher must not call back again. One stale signal is allowed
    // on the pool backends: a worker pushes its completion and only then signals, so a wait(0) between the
    // two takes the completion and the signal lands after it. The next wait(0) must find nothing and
    // consume it (one spurious turn, not one per Node turn).
    if (readable(pfd, 0)) {
      CHECK_EQ(backend.wait(out, 8, 0), 0);
      CHECK(!readable(pfd, 0));
    }
  }
  ::close(fd);
}

CORE_CASE("a pollable backend's descriptor shows a wake() and is quiet once wait(0) reported it") {
  auto owned = pollable_backend(ctx);
  Backend& backend = *owned;
  const int pfd = backend.pollable_fd();
  Completion out[4];
  backend.wait(out, 4, 0);
  backend.wake();
  CHECK(readable(pfd, 10000));
  CHECK_EQ(backend.wait(out, 4, 0), 0);
  backend.wait(out, 4, 0);  // io_uring re-arms its wake read on the wait after the one that saw it
  CHECK(!readable(pfd, 0));
}
