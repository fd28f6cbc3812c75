// Constructors of the Linux backends, used only by linux/select.cc. Each returns null and sets *reason
// when it cannot run here; on success *reason says what was found (e.g. the io_uring features in use).
#pragma once

#include <memory>
#include <string>

#include "../backend.h"

struct statx;

namespace corio {

// statx → StatResult, shared by the io_uring backend (IORING_OP_STATX) and the pool's Linux stat hook, so
// both Linux backends report the same fields — birthtime included — for the same file.
void fill_stat_from_statx(StatResult* out, const struct statx& x);

std::unique_ptr<Backend> make_uring_backend(const BackendOptions& options, std::string* reason);
std::unique_ptr<Backend> make_epoll_backend(const BackendOptions& options, std::string* reason);

}  // namespace corio
