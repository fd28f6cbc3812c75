// What the binding files share with addon.cc: each native/binding/*.cc registers its exports through one
// function here, and may look up the backend behind a NativeBackend object.
#pragma once

#include <napi.h>

#include "../core/backend.h"

namespace corio::binding {

// The live backend behind a NativeBackend object; null if `value` is not one or it has been destroyed.
Backend* backend_of(Napi::Value value);

// signals.cc: signalWatch, signalUnwatch, signalExitOnNext.
void register_signals(Napi::Env env, Napi::Object exports);

// hosted.cc: through register_hosted_watcher (hosted_uv.cc on POSIX, hosted_win.cc on
// Windows) HostedWatcher, or null where the platform has no pollable backend.
void register_hosted(Napi::Env env, Napi::Object exports);
void register_hosted_watcher(Napi::Env env, Napi::Object exports);

}  // namespace corio::binding
