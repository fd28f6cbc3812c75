// The Node-API part of hosted mode (src/drivers/hosted.ts) that every platform shares. The watcher itself
// (libuv handles) is in hosted_uv.cc on POSIX; Windows gets hosted_win.cc, which has none (see there).
//
//   hostedFlush(backend)   hands pending submissions to the kernel or the pool without taking completions
//                          (backend.h contract 11): a hosted turn that leaves I/O in flight calls it, since
//                          the next wait() may be far away, after libuv reports the descriptor readable.
#include "binding.h"

namespace corio::binding {
namespace {

Napi::Value Flush(const Napi::CallbackInfo& info) {
  Backend* backend = backend_of(info[0]);
  if (backend == nullptr) {
    Napi::TypeError err = Napi::TypeError::New(info.Env(), "The \"backend\" argument must be a live NativeBackend");
    err.Set("code", Napi::String::New(info.Env(), "ERR_INVALID_ARG_TYPE"));
    throw err;
  }
  backend->wait(nullptr, 0, 0);
  return info.Env().Undefined();
}

}  // namespace

void register_hosted(Napi::Env env, Napi::Object exports) {
  exports.Set("hostedFlush", Napi::Function::New(env, Flush, "hostedFlush"));
  register_hosted_watcher(env, exports);
}

}  // namespace corio::binding
