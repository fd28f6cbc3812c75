// Backend choice on macOS: kqueue + the worker pool is the only mechanism (kqueue cannot wait on regular
// files, and XNU has no usable EVFILT_AIO), so "auto" and "kqueue" are the same request.
#include <memory>
#include <string>

#include "kqueue.h"

namespace corio {

const char* const* compiled_backends() {
  static const char* const names[] = {"kqueue", nullptr};
  return names;
}

BackendChoice create_backend(const std::string& kind, const BackendOptions& options) {
  BackendChoice choice;
  std::string why;
  if (kind == "kqueue" || kind == "auto") {
    choice.backend = make_kqueue_backend(options, &why);
    choice.reason = choice.backend ? (kind == "auto" ? "macOS: " : "requested: ") + why : "kqueue unavailable: " + why;
  } else {
    choice.reason = "unknown backend '" + kind + "' (this build has: kqueue)";
  }
  return choice;
}

}  // namespace corio
