// Hosted mode on Windows: no libuv watcher. An I/O completion port is not a descriptor libuv can poll
// (uv_poll_t takes sockets only there), and the two ways to get its completions into Node's loop both cost:
//  - a thread blocking in GetQueuedCompletionStatusEx on the port would dequeue the completions the loop
//    thread's wait() must hand out (the backend's bookkeeping lives on the loop thread, contract 10), so it
//    would need a locked hand-over queue inside the IOCP backend and a uv_async_t per wake;
//  - polling: while I/O is in flight, the hosted driver calls wait(0) from a short timer.
// The driver (src/drivers/hosted.ts) does the second with Node's own timers: nothing native is needed, and
// a completion waits at most one timer period (1 ms) longer than in run(). Exporting null tells it so.
// This build also has no uv.h: Node-API headers for Windows do not ship libuv's.
#include "binding.h"

namespace corio::binding {

void register_hosted_watcher(Napi::Env env, Napi::Object exports) {
  exports.Set("HostedWatcher", env.Null());
}

}  // namespace corio::binding
