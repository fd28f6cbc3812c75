// Blocking implementations of every OpCode for POSIX systems.
//
// Shared by the worker pools (epoll on Linux, kqueue on macOS) and by the io_uring backend for opcodes an
// older kernel does not have (IORING_OP_FTRUNCATE arrived in 6.9; Ubuntu 24.04 ships 6.8). One place means
// the same short-write handling and the same errno on every backend.
#pragma once

#include <atomic>

#include "../backend.h"

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

// The inline-write path (inline_writes.h): `sub`, a kWrite or kWritev with an explicit offset, written here
// on the calling thread with pwrite/pwritev, looping on short writes and retrying EINTR as run_blocking
// does. Returns false, having written nothing, when the descriptor cannot seek (a pipe, FIFO or socket,
// where a write could block the loop): the caller then sends it the usual way. Else *result is the
// contract's result.
bool write_in_place(const Submission& sub, int32_t* result);

// Fills `out` from a struct stat. Kept separate so the io_uring backend's statx path shares the layout.
void fill_stat_result(StatResult* out, const void* posix_stat);

// Packs the entries of directory `path` into buf[0, len) in the kReaddir format (backend.h); returns the
// bytes used or -errno (-ENOBUFS when they do not fit). Exposed for the io_uring backend, which has no
// opcode for it.
int32_t read_directory(const char* path, void* buf, uint32_t len, const std::atomic<bool>* cancelled);

// ---- platform hooks: each POSIX platform's own file defines these (linux/posix.cc on Linux) ----------
// What has no portable spelling lives behind one function per platform, chosen by the build's file list,
// so this shared file carries no platform #ifdef for it (STYLE.md).

// kFallocate: reserve [offset, offset + length). keep_size: do not change the file size (Linux
// FALLOC_FL_KEEP_SIZE); else the file grows to cover the range, as posix_fallocate does. One system call:
// returns 0 or -errno, EINTR included (the caller decides whether to retry).
int32_t platform_fallocate(int fd, int64_t offset, int64_t length, bool keep_size);
// fstat (path null) or stat/lstat of `path`, in system-call convention: 0, or -1 with errno set.
long platform_stat(int fd, const char* path, bool no_follow, StatResult* out);

}  // namespace corio
