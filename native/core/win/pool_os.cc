// pool_os.h on Windows. There are no signals to interrupt a blocked worker; two things do the same work:
//
//  - An APC (QueueUserAPC with a no-op function) ends an alertable wait with WAIT_IO_COMPLETION. Every
//    overlapped transfer a worker runs (win/ops.cc) sleeps in WaitForSingleObjectEx(alertable), so the
//    APC wakes it, it sees its `cancelled` flag and CancelIoEx()s its own request.
//  - CancelSynchronousIo ends a synchronous call the thread is blocked in (ReadFile on an anonymous pipe,
//    a CreateFile of a named pipe), which then fails with ERROR_OPERATION_ABORTED.
//
// The race pool.cc describes exists here too: a CancelSynchronousIo that lands just before the call
// starts finds nothing to cancel. So the flag is cleared at once after each interrupt, which makes
// reinterrupt() repeat it every few milliseconds until the operation returns. Repeating is harmless:
// CancelSynchronousIo queues nothing, and the APC is queued only when the previous one has run (an APC
// waits, queued, until the thread next waits alertably, so unconditional repeats would pile up while a
// worker is stuck in a synchronous call).
#include "../pool_os.h"

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

namespace corio::pool_os {
namespace {

struct WinWorker {
  HANDLE thread = nullptr;            // a real handle to the worker (GetCurrentThread() is a pseudo-handle)
  std::atomic<bool> apc_pending{false};
};

void CALLBACK on_interrupt_apc(ULONG_PTR arg) {
  reinterpret_cast<WinWorker*>(arg)->apc_pending.store(false);
}

}  // namespace

int interrupt_id() { return 1; }
const char* interrupt_status() { return "APC + CancelSynchronousIo"; }

void spawn_workers(const std::function<void()>& spawn) { spawn(); }  // no signal mask to inherit

uintptr_t worker_started(std::atomic<bool>*) {
  auto* w = new WinWorker;
  if (!::DuplicateHandle(::GetCurrentProcess(), ::GetCurrentThread(), ::GetCurrentProcess(), &w->thread,
                         THREAD_SET_CONTEXT | THREAD_TERMINATE | SYNCHRONIZE, FALSE, 0))
    w->thread = nullptr;  // interrupt() then reports "not sent" and the flag alone has to do
  return reinterpret_cast<uintptr_t>(w);
}

void worker_exiting(uintptr_t os_ref) {
  auto* w = reinterpret_cast<WinWorker*>(os_ref);
  if (!w) return;
  // Run any APC still queued for this thread before its argument is freed (an alertable zero sleep runs
  // them all). Nothing queues a new one: the pool interrupts only workers that are running a job.
  ::SleepEx(0, TRUE);
  if (w->thread) ::CloseHandle(w->thread);
  delete w;
}

bool interrupt(std::thread&, uintptr_t os_ref, std::atomic<bool>* signal_unhandled) {
  auto* w = reinterpret_cast<WinWorker*>(os_ref);
  if (!w || !w->thread) return false;
  ::CancelSynchronousIo(w->thread);  // ERROR_NOT_FOUND when nothing synchronous runs: fine
  if (!w->apc_pending.exchange(true) && !::QueueUserAPC(on_interrupt_apc, w->thread, ULONG_PTR(w)))
    w->apc_pending.store(false);
  signal_unhandled->store(false);  // see the top of this file: always allow the next repeat
  return true;
}

}  // namespace corio::pool_os
