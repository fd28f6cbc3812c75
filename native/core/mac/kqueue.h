// Constructor of the macOS backend, used only by mac/select.cc (as linux/backends.h is by linux/select.cc).
// Returns null and sets *reason when it cannot run here; on success *reason says what it uses.
#pragma once

#include <memory>
#include <string>

#include "../backend.h"

namespace corio {

std::unique_ptr<Backend> make_kqueue_backend(const BackendOptions& options, std::string* reason);

}  // namespace corio
