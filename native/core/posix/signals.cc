// signals.h on POSIX (Linux, macOS): a sigaction() handler for SIGINT and SIGTERM that records the request
// and wakes the loop's backend. signals.h says why a handler and not signalfd / EVFILT_SIGNAL.
#include "../signals.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

namespace corio::signals {
namespace {

struct Watched {
  int number;
  int32_t bit;
};
constexpr Watched kWatched[] = {{SIGINT, kInterrupt}, {SIGTERM, kTerminate}};

static_assert(std::atomic<Backend*>::is_always_lock_free && std::atomic<int32_t*>::is_always_lock_free &&
                  std::atomic<int>::is_always_lock_free,
              "the handler only touches lock-free atomics");

std::atomic<Backend*> g_target{nullptr};
std::atomic<int32_t*> g_flags{nullptr};
std::atomic<bool> g_exit_on_next{false};
// Handler invocations running now. stop() and forget() wait for it to reach 0 before the memory the handler
// uses (the backend, the flags) may go away. A handler runs for a few instructions and one system call.
std::atomic<int> g_in_handler{0};
bool g_installed = false;  // loop thread only
struct sigaction g_previous[2];

void exit_now(int number) {
  // Contract 3: the process ends as Node's would without a handler. Node's own handler (SignalExit) also
  // restores the terminal's mode; a corio program that put stdin in raw mode loses that on a forced exit.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(number, &dfl, nullptr);
  // The signal is blocked while its handler runs, so this stays pending and kills on return. raise() sends
  // to this thread, so it cannot land on a thread that blocks it.
  raise(number);
}

void on_signal(int number) {
  const int saved_errno = errno;  // write() in wake() may change it under the interrupted code
  // seq_cst throughout: stop() and forget() clear a pointer and then wait for this count to be 0, and this
  // handler counts itself in and then loads the pointer; either order leaves no use after free.
  g_in_handler.fetch_add(1);
  int32_t bit = number == SIGINT ? kInterrupt : kTerminate;
  int32_t* flags = g_flags.load();
  if (flags == nullptr) {
    // stop() is putting the old handlers back and this invocation began just before: hand the signal to
    // them. It is blocked while this handler runs, so it is delivered, to them, when the handler returns.
    raise(number);
  } else if ((__atomic_fetch_or(flags, bit, __ATOMIC_SEQ_CST) & bit) != 0 || g_exit_on_next.load()) {
    exit_now(number);
  } else if (Backend* target = g_target.load()) {
    target->wake();
  }
  g_in_handler.fetch_sub(1);
  errno = saved_errno;
}

void wait_for_handlers() {
  while (g_in_handler.load() != 0) std::this_thread::yield();
}

}  // namespace

bool start(Backend* target, int32_t* flags, std::string* error) {
  if (g_installed) {
    *error = "a signal watcher is already running in this process";
    return false;
  }
  g_exit_on_next.store(false);
  g_flags.store(flags);
  g_target.store(target);
  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  // SA_RESTART: other threads' system calls (libuv's pool, corio's workers) resume rather than failing with
  // EINTR; the loop thread does not rely on EINTR, wake() ends its wait. The other watched signal is masked
  // while the handler runs so the two never nest.
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (const Watched& w : kWatched) sigaddset(&sa.sa_mask, w.number);
  for (size_t i = 0; i < 2; i++) {
    if (sigaction(kWatched[i].number, &sa, &g_previous[i]) != 0) {
      int e = errno;
      for (size_t j = 0; j < i; j++) sigaction(kWatched[j].number, &g_previous[j], nullptr);
      g_target.store(nullptr);
      g_flags.store(nullptr);
      *error = std::string("sigaction: errno ") + std::to_string(e);
      return false;
    }
  }
  g_installed = true;
  return true;
}

void stop() {
  if (!g_installed) return;
  for (size_t i = 0; i < 2; i++) {
    struct sigaction current = {};
    sigaction(kWatched[i].number, nullptr, &current);
    // Contract 4: only our own handler is replaced; a handler libuv installed meanwhile is the program's now.
    if ((current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == on_signal)
      sigaction(kWatched[i].number, &g_previous[i], nullptr);
  }
  g_target.store(nullptr);
  g_flags.store(nullptr);
  wait_for_handlers();
  g_installed = false;
}

void forget(Backend* target) {
  Backend* expected = target;
  if (g_target.compare_exchange_strong(expected, nullptr)) wait_for_handlers();
}

void exit_on_next() { g_exit_on_next.store(true); }

}  // namespace corio::signals
