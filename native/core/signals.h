// The stop-request watcher: SIGINT and SIGTERM (POSIX) or the console's Ctrl-C event (Windows) recorded and turned into a wake() of the loop's backend, so a loop blocked in wait() notices them.
//
// Why not signalfd, EVFILT_SIGNAL or a signal op in the ring: all three only see a signal that is *blocked*
// in every thread (signalfd, io_uring) or that the process still takes its default action on (kqueue's
// EVFILT_SIGNAL observes, it does not handle). Node runs threads corio does not own (libuv's pool, V8's
// platform workers, the inspector), which never block SIGINT; a process-directed signal would reach one of
// them and take Node's own handler (exit) before any descriptor became readable. A sigaction() handler is
// the one mechanism that catches the signal on whichever thread it lands; it records the signal with one
// atomic OR and wakes the backend with wake(), which every backend implements with a lock-free atomic store
// and one system call (eventfd write, kevent EVFILT_USER, PostQueuedCompletionStatus): async-signal-safe.
// Windows runs console control handlers on a new thread, so nothing there is signal-restricted.
//
// Contract:
//  1. start() installs the watcher process-wide, remembering the dispositions it replaces (Node's own
//     handlers); one watcher at a time: a second start() fails with `error` set, the first stays.
//  2. A request sets its bit (kInterrupt, kTerminate) in *flags with an atomic OR and wakes the target
//     backend (if any). The caller reads and clears *flags with an atomic exchange; it must keep the memory
//     valid until stop() returns.
//  3. A request arriving while the same request is still unread in *flags, or after exit_on_next(), ends
//     the process at once with the platform's default action for it (POSIX: killed by the signal, as Node is
//     without a handler; Windows: the default console handler, ExitProcess).
//  4. stop() puts back the dispositions start() replaced, unless someone else replaced them meanwhile
//     (libuv, when the program added a process.on() listener): theirs stay. It returns only when no handler
//     invocation is still using the target or *flags.
//  5. forget(target) detaches a backend that is about to be destroyed: requests still set flags but wake
//     nothing. Returns only when no handler invocation still uses it. Safe to call with any pointer.
#pragma once

#include <cstdint>
#include <string>

#include "backend.h"

namespace corio::signals {

constexpr int32_t kInterrupt = 1;  // SIGINT; Windows: Ctrl-C
// SIGTERM. Windows has no such request: TerminateProcess cannot be caught, and Ctrl-Break and closing the
// console are SIGBREAK and SIGHUP in Node, which corio leaves to Node.
constexpr int32_t kTerminate = 2;

bool start(Backend* target, int32_t* flags, std::string* error);
void stop();
void forget(Backend* target);
void exit_on_next();

}  // namespace corio::signals
