// The Node-API face of native/core/signals.h: the stop-request watcher that run() installs while it blocks.
//
//   signalWatch(backend, flags: Int32Array over a SharedArrayBuffer) → true, or false if a watcher runs
//   signalUnwatch()        puts Node's handlers back (idempotent)
//   signalExitOnNext()     the next request ends the process at once (the first one is being handled)
//
// The flags live in a SharedArrayBuffer the loop reads with Atomics after every iteration: no crossing per
// iteration, and a SharedArrayBuffer's memory never moves, so the handler may write to it from any thread.
#include <string>

#include "../core/signals.h"
#include "binding.h"

namespace corio::binding {
namespace {

// The flags array and backend object stay referenced while the watcher may touch them (signals.h 2). The
// watcher is process-wide; the environment (main thread or worker) that started it is the one that may stop
// it, and its teardown stops it if run() could not (process.exit() from a listener inside run()).
napi_env g_owner = nullptr;
Napi::Reference<Napi::Int32Array>* g_flags_ref = nullptr;
Napi::Reference<Napi::Object>* g_backend_ref = nullptr;

[[noreturn]] void type_error(Napi::Env env, const char* message) {
  Napi::TypeError err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  throw err;
}

void stop_and_release() {
  corio::signals::stop();
  delete g_flags_ref;
  delete g_backend_ref;
  g_flags_ref = nullptr;
  g_backend_ref = nullptr;
  g_owner = nullptr;
}

void on_env_teardown(void* env) {
  if (g_owner == env) stop_and_release();
}

Napi::Value Watch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Backend* backend = backend_of(info[0]);
  if (backend == nullptr) type_error(env, "The \"backend\" argument must be a live NativeBackend");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    type_error(env, "The \"flags\" argument must be an Int32Array over a SharedArrayBuffer");
  auto flags = info[1].As<Napi::Int32Array>();
  void* data = nullptr;
  size_t length = 0;
  napi_value buffer = nullptr;
  napi_get_typedarray_info(env, flags, nullptr, &length, &data, &buffer, nullptr);
  // Only a SharedArrayBuffer's memory can neither move nor be detached under the handler.
  if (buffer == nullptr || Napi::Value(env, buffer).IsArrayBuffer() || data == nullptr || length < 1)
    type_error(env, "The \"flags\" argument must be an Int32Array over a SharedArrayBuffer");
  if (g_owner != nullptr) return Napi::Boolean::New(env, false);  // another run() or environment has it
  std::string error;
  if (!corio::signals::start(backend, static_cast<int32_t*>(data), &error)) return Napi::Boolean::New(env, false);
  g_owner = env;
  g_flags_ref = new Napi::Reference<Napi::Int32Array>(Napi::Persistent(flags));
  g_backend_ref = new Napi::Reference<Napi::Object>(Napi::Persistent(info[0].As<Napi::Object>()));
  napi_add_env_cleanup_hook(env, on_env_teardown, env);
  return Napi::Boolean::New(env, true);
}

Napi::Value Unwatch(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  if (g_owner == env) {
    napi_remove_env_cleanup_hook(env, on_env_teardown, env);
    stop_and_release();
  }
  return info.Env().Undefined();
}

Napi::Value ExitOnNext(const Napi::CallbackInfo& info) {
  if (g_owner == napi_env(info.Env())) corio::signals::exit_on_next();
  return info.Env().Undefined();
}

}  // namespace

void register_signals(Napi::Env env, Napi::Object exports) {
  exports.Set("signalWatch", Napi::Function::New(env, Watch, "signalWatch"));
  exports.Set("signalUnwatch", Napi::Function::New(env, Unwatch, "signalUnwatch"));
  exports.Set("signalExitOnNext", Napi::Function::New(env, ExitOnNext, "signalExitOnNext"));
}

}  // namespace corio::binding
