// Constructor of the Windows backend, used only by win/select.cc (as linux/backends.h is by linux/select.cc).
// Returns null and sets *reason when it cannot run; on success *reason says what it uses.
#pragma once

#include <memory>
#include <string>

#include "../backend.h"

namespace corio {

std::unique_ptr<Backend> make_iocp_backend(const BackendOptions& options, std::string* reason);

}  // namespace corio
