// The Node-API part of hosted mode (src/drivers/hosted.ts). The watcher itself (libuv handles) is in
// hosted_uv.cc on POSIX; Windows gets hosted_win.cc, which has none (see there). Nothing else is needed:
// the driver flushes submissions with an ordinary wait(0), never with a flush-only call, because the
// backends' flush also reaps completions into their own queues, where the polled descriptor does not
// show them (a hosted readdir on io_uring waited forever that way).
#include "binding.h"

namespace corio::binding {

void register_hosted(Napi::Env env, Napi::Object exports) {
  register_hosted_watcher(env, exports);
}

}  // namespace corio::binding
