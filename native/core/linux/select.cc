// Backend choice on Linux, kept in one function like libuv's uv__use_io_uring(): io_uring is an accelerator
// that is probed, never assumed (Docker's seccomp profile, io_uring_disabled and gVisor all refuse it), and
// epoll + the worker pool is the always-available floor.
#include <memory>
#include <string>

#include "backends.h"

namespace corio {

const char* const* compiled_backends() {
  static const char* const names[] = {"uring", "epoll", nullptr};
  return names;
}

BackendChoice create_backend(const std::string& kind, const BackendOptions& options) {
  BackendChoice choice;
  std::string why;
  if (kind == "uring") {
    choice.backend = make_uring_backend(options, &why);
    choice.reason = choice.backend ? "requested: " + why : "io_uring unavailable: " + why;
  } else if (kind == "epoll") {
    choice.backend = make_epoll_backend(options, &why);
    choice.reason = choice.backend ? "requested" : "epoll unavailable: " + why;
  } else if (kind == "auto") {
    choice.backend = make_uring_backend(options, &why);
    if (choice.backend) {
      choice.reason = "io_uring permitted: " + why;
    } else {
      std::string epoll_why;
      choice.backend = make_epoll_backend(options, &epoll_why);
      choice.reason = "io_uring unavailable (" + why + "), using epoll + worker pool";
      if (!choice.backend) choice.reason += "; epoll unavailable: " + epoll_why;
    }
  } else {
    choice.reason = "unknown backend '" + kind + "' (this build has: uring, epoll)";
  }
  return choice;
}

}  // namespace corio
