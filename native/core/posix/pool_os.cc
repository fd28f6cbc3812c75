// pool_os.h on POSIX (Linux, macOS): a cancelled worker is interrupted with a signal whose handler is
// installed without SA_RESTART, so the blocking call returns EINTR (or a short count) and run_blocking
// sees its `cancelled` flag. pool.cc explains the race a signal leaves and how repeating it closes it.
// Moved here unchanged from pool.cc when the Windows port needed the pool without signals; the macOS
// default signal below is new.
#include "../pool_os.h"

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <string>

namespace corio::pool_os {

// Which signal. Node owns the classic ones: SIGINT/SIGTERM (its exit handling and process.on), SIGUSR1
// (the inspector), SIGPROF (V8's CPU profiler), SIGCHLD (libuv's child processes), SIGWINCH (ttys), SIGPIPE
// (ignored), SIGSEGV (wasm trap handler); SIGUSR2 and SIGURG are free in Node but commonly taken by tools
// and applications (nodemon restarts on SIGUSR2). Real-time signals are free in Node and libuv, and
// process.on() cannot even name them. glibc (NPTL) reserves kernel signals 32 and 33 (SIGCANCEL,
// SIGSETXID) and moves SIGRTMIN above them, so SIGRTMIN is a run-time value and anything from it up is
// the application's. Code that uses "a real-time signal" usually takes SIGRTMIN or SIGRTMIN+1 (the
// timer_create and sigqueue examples); valgrind and others reach down from SIGRTMAX. SIGRTMIN+5 keeps
// clear of both. Override at build time with -DCORIO_INTERRUPT_SIGNAL=<number or expression>; 0 turns
// interruption off.
//
// macOS has no real-time signals. There it is SIGURG: its default action is to ignore, so a stray
// delivery to a thread without the handler (or after the handler was replaced) never kills the process;
// Node, libuv and V8 do not use it (Go's runtime uses it for preemption, and Go is not in a Node process);
// a process that already has a handler for it keeps it, and corio then says interruption is off. Classic
// signals do not queue, so the repeats reinterrupt() sends cannot pile up either.
#ifndef CORIO_INTERRUPT_SIGNAL
#if defined(SIGRTMIN)
#define CORIO_INTERRUPT_SIGNAL (SIGRTMIN + 5)
#elif defined(__APPLE__)
#define CORIO_INTERRUPT_SIGNAL SIGURG
#else
#define CORIO_INTERRUPT_SIGNAL 0
#endif
#endif

namespace {

static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler stores into an atomic<bool>");

// The worker's own Worker::signal_unhandled, set before the worker can be signalled, null on every other
// thread. initial-exec TLS: in a dlopen()ed addon the default model may allocate on a thread's first
// access, which a handler must never do; initial-exec is one load relative to the thread pointer.
thread_local std::atomic<bool>* t_signal_unhandled __attribute__((tls_model("initial-exec"))) = nullptr;

// Async-signal-safe by construction: one load of a thread-local pointer and one lock-free atomic store.
// It leaves errno alone. Its real work is being there: a caught signal without SA_RESTART makes the
// blocking call return EINTR instead of killing the process. On a thread that is not a worker (someone
// sent the signal to the whole process) it does nothing.
void on_interrupt_signal(int) {
  if (std::atomic<bool>* flag = t_signal_unhandled) flag->store(false);
}

struct InterruptSignal {
  int number = 0;      // 0: running operations are not interrupted
  std::string status;  // why, for interrupt_signal_status()
};

// Installs the handler once per process (a function-local static is initialised exactly once, even with
// pools created on several threads). Never replaces a handler someone else installed: their code would
// break silently, while ours only loses the ability to interrupt, which it says.
const InterruptSignal& interrupt_setup() {
  static const InterruptSignal setup = [] {
    InterruptSignal r;
    const int sig = CORIO_INTERRUPT_SIGNAL;
    if (sig <= 0) {
      r.status = "off: built with CORIO_INTERRUPT_SIGNAL=0";
      return r;
    }
#if defined(SIGRTMAX)
    if (sig > SIGRTMAX) {
      r.status = "off: signal " + std::to_string(sig) + " is above SIGRTMAX";
      return r;
    }
#endif
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0) {
      r.status = "off: sigaction(" + std::to_string(sig) + ") failed, errno " + std::to_string(errno);
      return r;
    }
    // sa_handler and sa_sigaction share storage, and SIG_DFL is 0 in both views. SIG_IGN counts as taken:
    // someone chose to ignore it. (Another thread installing a handler between this check and ours is a
    // race no sigaction API closes; it would need two libraries choosing the same signal at once.)
    if (old.sa_handler != SIG_DFL) {
      r.status = "off: signal " + std::to_string(sig) + " already has a handler (not replaced)";
      return r;
    }
    struct sigaction sa {};
    sa.sa_handler = on_interrupt_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the interrupted call must return EINTR, that is the whole point
    if (::sigaction(sig, &sa, nullptr) != 0) {
      r.status = "off: installing the handler for signal " + std::to_string(sig) + " failed";
      return r;
    }
    r.number = sig;
    r.status = "signal " + std::to_string(sig);
#if defined(SIGRTMIN)
    if (sig >= SIGRTMIN) r.status += " (SIGRTMIN+" + std::to_string(sig - SIGRTMIN) + ")";
#endif
    return r;
  }();
  return setup;
}

}  // namespace


int interrupt_id() { return interrupt_setup().number; }
const char* interrupt_status() { return interrupt_setup().status.c_str(); }

void spawn_workers(const std::function<void()>& spawn) {
  // Workers take no asynchronous signal but the interrupt: SIGINT, SIGTERM, SIGCHLD… belong to Node's
  // threads, and a handler run on a pool thread would also interrupt its I/O. The mask is set here, in
  // the creating thread, because a thread inherits its creator's mask: a worker that masked itself
  // would leave a window in which a process signal could still be delivered to it. Faults stay
  // unblocked: a blocked SIGSEGV is forced to its default action, bypassing Node's and ASan's handlers.
  // (glibc silently keeps its own SIGCANCEL and SIGSETXID deliverable.)
  sigset_t worker_mask, saved_mask;
  sigfillset(&worker_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&worker_mask, sig);
  if (int sig = interrupt_id()) sigdelset(&worker_mask, sig);
  pthread_sigmask(SIG_SETMASK, &worker_mask, &saved_mask);
  try {
    spawn();
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
}

uintptr_t worker_started(std::atomic<bool>* signal_unhandled) {
  // Before this worker can run a job, and so before anyone can signal it (see on_interrupt_signal).
  t_signal_unhandled = signal_unhandled;
  return 0;  // pthread_kill needs only the std::thread
}

void worker_exiting(uintptr_t) { t_signal_unhandled = nullptr; }

bool interrupt(std::thread& thread, uintptr_t, std::atomic<bool>*) {
  int sig = interrupt_id();
  // The handler clears the flag when it runs on the worker: that is what tells a repeat apart from a
  // pile-up of queued real-time signals (pool.cc).
  return sig != 0 && pthread_kill(thread.native_handle(), sig) == 0;
}

}  // namespace corio::pool_os
