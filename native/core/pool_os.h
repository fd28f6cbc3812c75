// The worker pool's only platform hook: how a worker blocked in a system call is interrupted when its
// operation is cancelled. pool.cc is portable C++; one file per platform implements this page, chosen by
// the build's file list: posix/pool_os.cc (a signal without SA_RESTART, so the call returns EINTR) and
// win/pool_os.cc (an APC plus CancelSynchronousIo, so an alertable wait or a synchronous call returns).
//
// Threads: interrupt_id()/interrupt_status() from any thread; spawn_workers() on the pool's creator;
// worker_started()/worker_exiting() on each worker; interrupt() on the owner, under the pool's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

namespace corio::pool_os {

// Sets up the interrupt once per process; 0 when there is none (the runner then only sees its
// `cancelled` flag between system calls). POSIX: the signal number. Windows: a non-zero marker.
int interrupt_id();
const char* interrupt_status();  // e.g. "signal 39 (SIGRTMIN+5)", or why it is off

// Runs `spawn`, which creates every worker thread, with whatever the threads must inherit from their
// creator (POSIX: a signal mask that blocks everything but the interrupt and the faults). Exceptions
// from `spawn` propagate after the creator's own state is restored.
void spawn_workers(const std::function<void()>& spawn);

// First thing on each worker thread. `signal_unhandled` is the worker's flag: true from the moment an
// interrupt is sent until it has been handled on the worker (pool.cc explains why). Returns what
// interrupt() needs to reach this thread (0 if the platform needs nothing beyond the std::thread).
uintptr_t worker_started(std::atomic<bool>* signal_unhandled);
// Last thing on each worker thread: releases what worker_started() returned.
void worker_exiting(uintptr_t os_ref);

// Interrupts `thread` (the worker that returned `os_ref`). The caller has set *signal_unhandled; the
// platform clears it when the interrupt has been handled, or at once when repeating is always safe.
// Returns false when nothing could be sent (the caller clears the flag and tries again later).
bool interrupt(std::thread& thread, uintptr_t os_ref, std::atomic<bool>* signal_unhandled);

}  // namespace corio::pool_os
