// Blocking implementations of every OpCode for POSIX systems.
//
// Shared by the worker pools (epoll on Linux, kqueue on macOS) and by the io_uring backend for opcodes an
// older kernel does not have (IORING_OP_FTRUNCATE arrived in 6.9; Ubuntu 24.04 ships 6.8). One place means
// the same short-write handling and the same errno on every backend.
#pragma once

#include "backend.h"

namespace corio {

// Runs `sub` to completion on the calling thread and returns the contract's result (bytes/fd or -errno).
// Retries EINTR. Loops on short writes until everything is written or an error stops it; a write that
// stops part-way reports the bytes that reached the file, not the error (the caller learns the truth, and
// a retry of the rest would report the error).
int32_t run_blocking(const Submission& sub);

// Fills `out` from a struct stat. Kept separate so the io_uring backend's statx path shares the layout.
void fill_stat_result(StatResult* out, const void* posix_stat);

}  // namespace corio
