// signals.h on Windows: a console control handler for Ctrl-C. Windows calls it on a new thread, so unlike a
// POSIX signal handler it may block and call anything; it records the request and wakes the loop's backend
// (PostQueuedCompletionStatus). Returning TRUE tells Windows the event is handled; returning FALSE passes it
// to the next handler, in the end the default one, which ends the process (contract 3).
#include "../signals.h"

#include <windows.h>

#include <atomic>
#include <thread>

namespace corio::signals {
namespace {

std::atomic<Backend*> g_target{nullptr};
std::atomic<int32_t*> g_flags{nullptr};
std::atomic<bool> g_exit_on_next{false};
std::atomic<int> g_in_handler{0};  // as in posix/signals.cc: stop() and forget() wait for it to be 0
bool g_installed = false;

BOOL WINAPI on_console_event(DWORD event) {
  if (event != CTRL_C_EVENT) return FALSE;  // Ctrl-Break, close, logoff, shutdown: Node's (signals.h)
  g_in_handler.fetch_add(1);
  BOOL handled = FALSE;
  if (int32_t* flags = g_flags.load()) {
    bool again = (__atomic_fetch_or(flags, kInterrupt, __ATOMIC_SEQ_CST) & kInterrupt) != 0;
    if (!again && !g_exit_on_next.load()) {
      handled = TRUE;
      if (Backend* target = g_target.load()) target->wake();
    }
  }
  g_in_handler.fetch_sub(1);
  return handled;
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
  if (!SetConsoleCtrlHandler(on_console_event, TRUE)) {
    g_flags.store(nullptr);
    g_target.store(nullptr);
    *error = "SetConsoleCtrlHandler: error " + std::to_string(GetLastError());
    return false;
  }
  g_installed = true;
  return true;
}

void stop() {
  if (!g_installed) return;
  SetConsoleCtrlHandler(on_console_event, FALSE);
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
