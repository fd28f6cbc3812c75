// Blocking implementations of every OpCode for POSIX systems.
//
// Shared by the worker pools (epoll on Linux, kqueue on macOS) and by the io_uring backend for opcodes an
// older kernel does not have (IORING_OP_FTRUNCATE arrived in 6.9; Ubuntu 24.04 ships 6.8). One place means
// the same short-write handling and the same errno on every backend.
#pragma once

#include <atomic>

#include "backend.h"

namespace corio {

// Runs `sub` to completion on the calling thread and returns the contract's result (bytes/fd or -errno).
// Loops on short writes until everything is written or an error stops it; a write that stops part-way
// reports the bytes that reached the file, not the error (the caller learns the truth, and a retry of the
// rest would report the error).
//
// `cancelled` (optional) is how a worker pool tells a running operation that it was cancelled: the pool
// sets it and then interrupts the thread with a signal (pool.cc), so the blocking call returns EINTR or a
// short count. Without it (null, as the io_uring backend's inline fallback passes) EINTR is retried, as
// before. With it, the flag is checked before each system call and after each EINTR or short write: once
// set, the operation stops and reports -ECANCELED, or the bytes a write had already moved (contract 2).
// A call that completes despite the request reports what it did. close is never stopped: it always runs
// once, because its descriptor is released even when it fails.
int32_t run_blocking(const Submission& sub, const std::atomic<bool>* cancelled = nullptr);

// Fills `out` from a struct stat. Kept separate so the io_uring backend's statx path shares the layout.
void fill_stat_result(StatResult* out, const void* posix_stat);

}  // namespace corio
