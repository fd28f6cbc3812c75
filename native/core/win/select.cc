// Backend choice on Windows: IOCP is the only mechanism, and it is always there (it has been since NT
// 3.5). "auto" and "iocp" are the same request; the reason says what the backend runs on.
#include <memory>
#include <string>

#include "backends.h"

namespace corio {

const char* const* compiled_backends() {
  static const char* const names[] = {"iocp", nullptr};
  return names;
}

BackendChoice create_backend(const std::string& kind, const BackendOptions& options) {
  BackendChoice choice;
  std::string why;
  if (kind == "iocp" || kind == "auto") {
    choice.backend = make_iocp_backend(options, &why);
    choice.reason = choice.backend ? (kind == "auto" ? "Windows: " : "requested: ") + why : "IOCP unavailable: " + why;
  } else {
    choice.reason = "unknown backend '" + kind + "' (this build has: iocp)";
  }
  return choice;
}

}  // namespace corio
