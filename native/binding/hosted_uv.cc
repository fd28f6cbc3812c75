// Hosted mode's watcher on POSIX: the backend's pollable descriptor (backend.h contract 12) in Node's own
// libuv loop, as trio's guest mode puts its I/O wait into the host loop.
//
//   new HostedWatcher(backend, onReady)   one uv_poll_t on backend.pollable_fd() and one uv_timer_t, both
//                                         idle; onReady() is called (as a Node callback, so microtasks run
//                                         after it) when the descriptor is readable or the timer fires
//   arm(timeoutMs, holdLoop)              timer: -1 stopped, else fires once after timeoutMs (rounded up,
//                                         so 0.4 ms is not a 0 ms spin); holdLoop: whether the descriptor's
//                                         poll keeps Node's loop alive (I/O in flight)
//   close()                               stops both and closes them; idempotent
//
// The descriptor is polled from construction to close(), also with nothing in flight: wake() (from the
// signal watcher, on any thread) must reach the guest whenever it comes. References on Node's loop: the
// guest holds one exactly while it has work of its own — I/O in flight (the poll uv_ref'd) or a timer
// pending (the timer started) — so a program whose only remaining corio task waits on a Promise lets Node
// exit as it would for that Promise alone.
//
// libuv's uv_poll_t is level-triggered on epoll and kqueue, so a descriptor that stays readable (more
// completions than one wait() took) calls back again on the next loop turn.
#include <uv.h>

#include <cmath>

#include "binding.h"

namespace corio::binding {
namespace {

[[noreturn]] void type_error(Napi::Env env, const char* message) {
  Napi::TypeError err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  throw err;
}

// What the libuv handles point at. It outlives the JS object when needed: uv_close is asynchronous, and the
// memory goes only when both handles' close callbacks have run.
struct Handles {
  uv_poll_t poll;
  uv_timer_t timer;
  napi_env env = nullptr;
  Napi::FunctionReference on_ready;
  Napi::ObjectReference backend;  // keeps the backend object (and so its descriptor) alive while polled
  Napi::AsyncContext* context = nullptr;
  bool holding = true;  // a started handle is ref'd
  bool closed = false;
  int open_handles = 2;
};

void call_back(Handles* h) {
  if (h->closed) return;
  Napi::Env env(h->env);
  Napi::HandleScope scope(env);
  try {
    // MakeCallback, not Call: Node runs the microtask queue and process.nextTick callbacks when it returns,
    // so a Promise a task resolved during this turn settles before libuv polls again.
    h->on_ready.MakeCallback(env.Global(), {}, *h->context);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(h->env, e.Value());  // onReady reports its own errors; this is a corio bug
  }
}

void on_poll(uv_poll_t* handle, int status, int events) {
  call_back(static_cast<Handles*>(handle->data));
}

void on_timer(uv_timer_t* handle) {
  call_back(static_cast<Handles*>(handle->data));
}

void on_closed(uv_handle_t* handle) {
  auto* h = static_cast<Handles*>(handle->data);
  if (--h->open_handles == 0) delete h;
}

void close_handles(Handles* h) {
  if (h->closed) return;
  h->closed = true;
  h->on_ready.Reset();
  h->backend.Reset();
  delete h->context;
  h->context = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&h->poll), on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&h->timer), on_closed);
}

// An environment torn down with the watcher still open (process.exit() during start(), a worker
// terminated): close the handles, or libuv would find them live when the environment's loop closes.
void on_env_teardown(void* arg) {
  close_handles(static_cast<Handles*>(arg));
}

class HostedWatcher : public Napi::ObjectWrap<HostedWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "HostedWatcher",
                       {InstanceMethod<&HostedWatcher::Arm>("arm"), InstanceMethod<&HostedWatcher::Close>("close")});
  }

  explicit HostedWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HostedWatcher>(info) {
    Napi::Env env = info.Env();
    Backend* backend = backend_of(info[0]);
    if (backend == nullptr) type_error(env, "The \"backend\" argument must be a live NativeBackend");
    if (!info[1].IsFunction()) type_error(env, "The \"onReady\" argument must be a function");
    int fd = backend->pollable_fd();
    if (fd < 0) {
      Napi::Error err = Napi::Error::New(env, std::string("the ") + backend->name() + " backend has no pollable descriptor");
      err.Set("code", Napi::String::New(env, "ERR_CORIO_NOT_POLLABLE"));
      throw err;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr)
      throw Napi::Error::New(env, "corio: Node's event loop is not available");
    auto* h = new Handles();
    h->env = env;
    if (uv_poll_init(loop, &h->poll, fd) != 0) {
      delete h;
      throw Napi::Error::New(env, "corio: uv_poll_init failed on the backend's descriptor");
    }
    uv_timer_init(loop, &h->timer);
    h->poll.data = h;
    h->timer.data = h;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    uv_unref(reinterpret_cast<uv_handle_t*>(&h->poll));  // nothing in flight yet
    h->holding = false;
    h->on_ready = Napi::Persistent(info[1].As<Napi::Function>());
    h->backend = Napi::Persistent(info[0].As<Napi::Object>());
    h->context = new Napi::AsyncContext(env, "corio.hosted");
    napi_add_env_cleanup_hook(env, on_env_teardown, h);
    handles_ = h;
  }

  ~HostedWatcher() override { CloseNow(); }

 private:
  Napi::Value Arm(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) type_error(env, "The \"timeoutMs\" argument must be a number");
    if (!info[1].IsBoolean()) type_error(env, "The \"holdLoop\" argument must be a boolean");
    Handles* h = handles_;
    if (h == nullptr) return env.Undefined();
    double ms = info[0].As<Napi::Number>().DoubleValue();
    if (std::isnan(ms) || ms < 0) {
      uv_timer_stop(&h->timer);
    } else {
      // Whole milliseconds, rounded up (backend.h contract 5's rule); beyond ~24 days, a day at a time.
      double whole = std::ceil(ms);
      uv_timer_start(&h->timer, on_timer, whole > 86400000.0 ? 86400000u : uint64_t(whole), 0);
    }
    bool hold = info[1].As<Napi::Boolean>().Value();
    if (hold != h->holding) {
      if (hold) uv_ref(reinterpret_cast<uv_handle_t*>(&h->poll));
      else uv_unref(reinterpret_cast<uv_handle_t*>(&h->poll));
      h->holding = hold;
    }
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseNow();
    return info.Env().Undefined();
  }

  void CloseNow() {
    Handles* h = handles_;
    if (h == nullptr) return;
    handles_ = nullptr;
    napi_remove_env_cleanup_hook(h->env, on_env_teardown, h);
    close_handles(h);
  }

  Handles* handles_ = nullptr;
};

}  // namespace

void register_hosted_watcher(Napi::Env env, Napi::Object exports) {
  exports.Set("HostedWatcher", HostedWatcher::Define(env));
}

}  // namespace corio::binding
