// The Node-API layer: the only file that includes napi.h.
//
// It converts and validates arguments, keeps JS buffers alive while the kernel or a worker uses them, and
// exports one class, NativeBackend, that src/native.ts wraps with types. Validation happens once, here, so no
// JS input can make native code read or write outside a buffer, and bad input is a TypeError/RangeError with
// a Node-style `code` rather than a crash.
//
// Crossing cost (DESIGN.md): one call per operation (submit), one per loop iteration (wait), and no JS
// allocation per completion: wait() writes (token, result) pairs straight into an Int32Array the loop owns.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding/binding.h"
#include "core/backend.h"
#include "core/trace.h"
#include "core/signals.h"

namespace {

using corio::Backend;
using corio::Completion;
using corio::OpCode;
using corio::Submission;

// Linux caps one read/write at 0x7ffff000 bytes (MAX_RW_COUNT); keeping every length under it means a byte
// count always fits the contract's int32 result on every platform.
constexpr double kMaxIoLength = 0x7ffff000;
// Tokens index the slot table below, so they are bounded; the loop allocates them densely from 0.
constexpr uint32_t kMaxTokens = 1u << 20;
constexpr double kMaxSafeInteger = 9007199254740991.0;
constexpr uint32_t kMaxIov = 1024;  // IOV_MAX on Linux and macOS
constexpr napi_type_tag kNativeBackendTag = {0x636f72696f4e4254ull, 0x6261636b656e6431ull};

[[noreturn]] void throw_error(Napi::Env env, const char* type, const char* code, const std::string& message) {
  Napi::Error err = std::strcmp(type, "range") == 0   ? Napi::RangeError::New(env, message)
                    : std::strcmp(type, "type") == 0 ? Napi::TypeError::New(env, message)
                                                     : Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

double integer_arg(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max) {
  Napi::Value v = info[i];
  if (!v.IsNumber())
    throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE",
                std::string("The \"") + name + "\" argument must be of type number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d || d < min || d > max)
    throw_error(info.Env(), "range", "ERR_OUT_OF_RANGE",
                std::string("The value of \"") + name + "\" is out of range. It must be an integer >= " +
                    std::to_string(int64_t(min)) + " and <= " + std::to_string(int64_t(max)) + ". Received " +
                    v.ToString().Utf8Value());
  return d;
}

struct View {
  uint8_t* data;
  size_t length;
};

// Returns false when `v` is not an ArrayBufferView. A detached buffer reports no data: it is treated as empty,
// so any non-zero range over it is rejected by the bounds checks. The data pointer comes from the view itself
// (napi_get_typedarray_info / napi_get_dataview_info), not from its ArrayBuffer: Napi::ArrayBuffer::Data()
// fails with an untyped "Invalid argument" when the view is backed by a SharedArrayBuffer (issue 6, fuzz).
bool as_view(Napi::Value v, View* out) {
  napi_env env = v.Env();
  void* data = nullptr;
  size_t length = 0;
  napi_status status;
  if (v.IsTypedArray()) {
    napi_typedarray_type type;
    size_t elements = 0;
    status = napi_get_typedarray_info(env, v, &type, &elements, &data, nullptr, nullptr);
    length = v.As<Napi::TypedArray>().ByteLength();
  } else if (v.IsDataView()) {
    status = napi_get_dataview_info(env, v, &length, &data, nullptr, nullptr);
  } else {
    return false;
  }
  if (status != napi_ok || data == nullptr) {
    *out = View{nullptr, 0};
  } else {
    *out = View{static_cast<uint8_t*>(data), length};
  }
  return true;
}

View view_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  View view;
  if (!as_view(info[i], &view))
    throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE",
                std::string("The \"") + name + "\" argument must be a Buffer, TypedArray or DataView");
  return view;
}

// What one in-flight operation keeps alive: the JS objects whose memory the kernel may still touch. Holding
// them here, not only in the loop's tables, means no JS bug can free a buffer the kernel is still using.
struct Slot {
  bool busy = false;
  std::vector<Napi::ObjectReference> held;
};

class NativeBackend : public Napi::ObjectWrap<NativeBackend> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeBackend",
                       {
                           InstanceMethod<&NativeBackend::Open>("open"),
                           InstanceMethod<&NativeBackend::CloseFd>("close"),
                           InstanceMethod<&NativeBackend::Read>("read"),
                           InstanceMethod<&NativeBackend::Write>("write"),
                           InstanceMethod<&NativeBackend::Readv>("readv"),
                           InstanceMethod<&NativeBackend::Writev>("writev"),
                           InstanceMethod<&NativeBackend::Fsync>("fsync"),
                           InstanceMethod<&NativeBackend::Fdatasync>("fdatasync"),
                           InstanceMethod<&NativeBackend::Ftruncate>("ftruncate"),
                           InstanceMethod<&NativeBackend::Fstat>("fstat"),
                           InstanceMethod<&NativeBackend::Unlink>("unlink"),
                           InstanceMethod<&NativeBackend::Rename>("rename"),
                           InstanceMethod<&NativeBackend::Mkdir>("mkdir"),
                           InstanceMethod<&NativeBackend::Rmdir>("rmdir"),
                           InstanceMethod<&NativeBackend::StatPath>("stat"),
                           InstanceMethod<&NativeBackend::Fallocate>("fallocate"),
                           InstanceMethod<&NativeBackend::Readdir>("readdir"),
                           InstanceMethod<&NativeBackend::Cancel>("cancel"),
                           InstanceMethod<&NativeBackend::Wait>("wait"),
                           InstanceMethod<&NativeBackend::Wake>("wake"),
                           InstanceMethod<&NativeBackend::Stats>("stats"),
                           InstanceMethod<&NativeBackend::Destroy>("destroy"),
                           InstanceMethod<&NativeBackend::SetTrace>("setTrace"),
                           InstanceMethod<&NativeBackend::TakeTrace>("takeTrace"),
                           InstanceAccessor<&NativeBackend::Name>("name"),
                           InstanceAccessor<&NativeBackend::Reason>("reason"),
                       });
  }

  // new NativeBackend(kind, completions: Int32Array, options?: {queueDepth, maxInFlight, poolThreads,
  //                   forceUringErrno, pollable})
  explicit NativeBackend(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBackend>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsString())
      throw_error(env, "type", "ERR_INVALID_ARG_TYPE", "The \"kind\" argument must be of type string");
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      throw_error(env, "type", "ERR_INVALID_ARG_TYPE", "The \"completions\" argument must be an Int32Array");
    auto ring = info[1].As<Napi::Int32Array>();
    // Shared memory is refused: another thread could rewrite a token between the backend writing it and
    // this object reading it back to release that token's buffers, which would free a buffer the kernel is
    // still writing (issue 11: heap-use-after-free under ASan with a worker writing into the array).
    if (!ring.ArrayBuffer().IsArrayBuffer())
      throw_error(env, "type", "ERR_INVALID_ARG_TYPE",
                  "The \"completions\" argument must be an Int32Array over an ArrayBuffer, not a SharedArrayBuffer");
    if (ring.ElementLength() < 2 || ring.ElementLength() % 2 != 0)
      throw_error(env, "range", "ERR_OUT_OF_RANGE", "The \"completions\" array needs an even length >= 2");
    completions_ = Napi::Persistent(ring);

    corio::BackendOptions options;
    if (info.Length() > 2 && info[2].IsObject()) {
      auto o = info[2].As<Napi::Object>();
      auto opt = [&](const char* key, double min, double max, double fallback) {
        Napi::Value v = o.Get(key);
        if (v.IsUndefined()) return fallback;
        if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue()))
          throw_error(env, "type", "ERR_INVALID_ARG_TYPE", std::string("options.") + key + " must be a number");
        double d = v.As<Napi::Number>().DoubleValue();
        if (std::trunc(d) != d || d < min || d > max)
          throw_error(env, "range", "ERR_OUT_OF_RANGE",
                      std::string("options.") + key + " must be an integer in [" + std::to_string(int64_t(min)) +
                          ", " + std::to_string(int64_t(max)) + "]");
        return d;
      };
      options.queue_depth = uint32_t(opt("queueDepth", 1, 32768, options.queue_depth));
      options.max_in_flight = uint32_t(opt("maxInFlight", 1, kMaxTokens, options.max_in_flight));
      options.pool_threads = uint32_t(opt("poolThreads", 1, 256, options.pool_threads));
      options.force_uring_errno = int(opt("forceUringErrno", 0, 4095, 0));
      Napi::Value pollable = o.Get("pollable");
      if (!pollable.IsUndefined() && !pollable.IsBoolean())
        throw_error(env, "type", "ERR_INVALID_ARG_TYPE", "options.pollable must be a boolean");
      options.pollable = pollable.IsBoolean() && pollable.As<Napi::Boolean>().Value();
    }
    auto choice = corio::create_backend(info[0].As<Napi::String>().Utf8Value(), options);
    reason_ = choice.reason;
    if (!choice.backend) throw_error(env, "error", "ERR_CORIO_BACKEND_UNAVAILABLE", choice.reason);
    backend_ = std::move(choice.backend);
    // Lets backend_of() tell a NativeBackend from any other object before unwrapping it.
    napi_type_tag_object(env, Value(), &kNativeBackendTag);
  }

  ~NativeBackend() override { Shutdown(); }

 private:
  Backend& live(const Napi::CallbackInfo& info) {
    if (!backend_) throw_error(info.Env(), "error", "ERR_CORIO_CLOSED", "The backend has been destroyed");
    return *backend_;
  }

  // Claims the slot for `token` (argument 0). A token still in flight is refused: the contract promises one
  // completion per submission, and reusing a live token would make two indistinguishable.
  Slot& claim(const Napi::CallbackInfo& info, Submission& sub) {
    live(info);
    sub.token = uint32_t(integer_arg(info, 0, "token", 0, kMaxTokens - 1));
    if (sub.token >= slots_.size()) slots_.resize(size_t(sub.token) + 1);
    Slot& slot = slots_[sub.token];
    if (slot.busy)
      throw_error(info.Env(), "error", "ERR_CORIO_TOKEN_IN_USE",
                  "Token " + std::to_string(sub.token) + " is already in flight");
    return slot;
  }

  void start(Slot& slot, const Submission& sub) {
    slot.busy = true;
    backend_->submit(sub);
  }

  static int32_t fd_arg(const Napi::CallbackInfo& info, size_t i) {
    return int32_t(integer_arg(info, i, "fd", 0, 2147483647));
  }

  // position: -1 means "at the file position" (Node's null); else a non-negative safe integer.
  static int64_t position_arg(const Napi::CallbackInfo& info, size_t i) {
    return int64_t(integer_arg(info, i, "position", -1, kMaxSafeInteger));
  }

  // A non-empty path without NUL bytes (the C string would end early and name another file).
  static std::string path_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
    if (!info[i].IsString())
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE",
                  std::string("The \"") + name + "\" argument must be of type string");
    std::string path = info[i].As<Napi::String>().Utf8Value();
    if (path.empty() || path.find('\0') != std::string::npos)
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_VALUE",
                  std::string("The argument '") + name + "' must be a non-empty string without null bytes");
    return path;
  }

  static bool boolean_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
    if (!info[i].IsBoolean())
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE",
                  std::string("The \"") + name + "\" argument must be of type boolean");
    return info[i].As<Napi::Boolean>().Value();
  }

  // A BigInt64Array with room for one StatResult, written by the backend when the operation completes.
  static corio::StatResult* stat_out_arg(const Napi::CallbackInfo& info, size_t i) {
    if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array)
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE", "The \"out\" argument must be a BigInt64Array");
    auto out = info[i].As<Napi::BigInt64Array>();
    if (out.ElementLength() < corio::kStatFields || out.Data() == nullptr)
      throw_error(info.Env(), "range", "ERR_OUT_OF_RANGE",
                  "The \"out\" array needs " + std::to_string(corio::kStatFields) + " elements");
    return reinterpret_cast<corio::StatResult*>(out.Data());
  }

  // open(token, path, flags, mode)
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    std::string path = path_arg(info, 1, "path");
    sub.op = OpCode::kOpen;
    sub.path = path.c_str();  // the backend copies it before submit() returns (contract 4)
    sub.flags = int32_t(integer_arg(info, 2, "flags", -2147483648.0, 2147483647));
    sub.mode = int32_t(integer_arg(info, 3, "mode", 0, 07777));
    start(slot, sub);
    return info.Env().Undefined();
  }

  // close(token, fd), fsync(token, fd), fdatasync(token, fd)
  Napi::Value FdOnly(const Napi::CallbackInfo& info, OpCode op) {
    Submission sub;
    Slot& slot = claim(info, sub);
    sub.op = op;
    sub.fd = fd_arg(info, 1);
    start(slot, sub);
    return info.Env().Undefined();
  }
  Napi::Value CloseFd(const Napi::CallbackInfo& info) { return FdOnly(info, OpCode::kClose); }
  Napi::Value Fsync(const Napi::CallbackInfo& info) { return FdOnly(info, OpCode::kFsync); }
  Napi::Value Fdatasync(const Napi::CallbackInfo& info) { return FdOnly(info, OpCode::kFdatasync); }

  // read/write(token, fd, buffer, offset, length, position)
  Napi::Value Transfer(const Napi::CallbackInfo& info, OpCode op) {
    Submission sub;
    Slot& slot = claim(info, sub);
    sub.op = op;
    sub.fd = fd_arg(info, 1);
    View view = view_arg(info, 2, "buffer");
    double offset = integer_arg(info, 3, "offset", 0, kMaxSafeInteger);
    double length = integer_arg(info, 4, "length", 0, kMaxIoLength);
    if (offset + length > double(view.length))
      throw_error(info.Env(), "range", "ERR_OUT_OF_RANGE",
                  "The range [" + std::to_string(int64_t(offset)) + ", " + std::to_string(int64_t(offset + length)) +
                      ") is outside the buffer of " + std::to_string(view.length) + " bytes");
    sub.offset = position_arg(info, 5);
    sub.buf = view.data ? view.data + size_t(offset) : nullptr;
    sub.len = uint32_t(length);
    slot.held.push_back(Napi::Persistent(info[2].As<Napi::Object>()));
    start(slot, sub);
    return info.Env().Undefined();
  }
  Napi::Value Read(const Napi::CallbackInfo& info) { return Transfer(info, OpCode::kRead); }
  Napi::Value Write(const Napi::CallbackInfo& info) { return Transfer(info, OpCode::kWrite); }

  // readv/writev(token, fd, buffers: ArrayBufferView[], position)
  //
  // Reading the array's elements can run JS (an accessor, a Proxy trap) that calls back into this object:
  // submitting with a higher token (slots_ grows, so a Slot& taken earlier dangles), reusing this token,
  // destroying the backend, or detaching an element read earlier. So the elements are read first, with no
  // native state touched; then their views are taken again from the held objects (no JS runs there); only
  // then is the token claimed. (Issue 6: a getter that submitted 5,000 operations crashed the process.)
  Napi::Value Vectored(const Napi::CallbackInfo& info, OpCode op) {
    if (!info[2].IsArray())
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE", "The \"buffers\" argument must be an array");
    auto list = info[2].As<Napi::Array>();
    uint32_t count = list.Length();
    if (count > kMaxIov)
      throw_error(info.Env(), "range", "ERR_OUT_OF_RANGE",
                  "At most " + std::to_string(kMaxIov) + " buffers per vectored call, got " + std::to_string(count));
    std::vector<Napi::ObjectReference> held;
    for (uint32_t i = 0; i < count; i++) {
      Napi::Value item = list.Get(i);  // may run JS
      View v;
      if (!as_view(item, &v))
        throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE",
                    "buffers[" + std::to_string(i) + "] must be a Buffer, TypedArray or DataView");
      held.push_back(Napi::Persistent(item.As<Napi::Object>()));
    }
    Submission sub;
    Slot& slot = claim(info, sub);  // from here to start(), no JS runs
    sub.op = op;
    sub.fd = fd_arg(info, 1);
    sub.offset = position_arg(info, 3);
    iov_scratch_.clear();
    double total = 0;
    for (auto& ref : held) {
      View v;
      as_view(ref.Value(), &v);
      total += double(v.length);
      iov_scratch_.push_back({v.data, v.length});
    }
    if (total > kMaxIoLength)
      throw_error(info.Env(), "range", "ERR_OUT_OF_RANGE", "A vectored call may move at most 0x7ffff000 bytes");
    sub.iov = iov_scratch_.data();
    sub.iovcnt = count;
    slot.held = std::move(held);
    start(slot, sub);
    return info.Env().Undefined();
  }
  Napi::Value Readv(const Napi::CallbackInfo& info) { return Vectored(info, OpCode::kReadv); }
  Napi::Value Writev(const Napi::CallbackInfo& info) { return Vectored(info, OpCode::kWritev); }

  // ftruncate(token, fd, length)
  Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    sub.op = OpCode::kFtruncate;
    sub.fd = fd_arg(info, 1);
    sub.offset = int64_t(integer_arg(info, 2, "length", 0, kMaxSafeInteger));
    start(slot, sub);
    return info.Env().Undefined();
  }

  // fstat(token, fd, out: BigInt64Array with at least kStatFields elements)
  Napi::Value Fstat(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    sub.op = OpCode::kFstat;
    sub.fd = fd_arg(info, 1);
    sub.stat = stat_out_arg(info, 2);
    slot.held.push_back(Napi::Persistent(info[2].As<Napi::Object>()));
    start(slot, sub);
    return info.Env().Undefined();
  }

  // unlink(token, path), rmdir(token, path)
  Napi::Value PathOnly(const Napi::CallbackInfo& info, OpCode op) {
    Submission sub;
    Slot& slot = claim(info, sub);
    std::string path = path_arg(info, 1, "path");
    sub.op = op;
    sub.path = path.c_str();  // copied by the backend before submit() returns (contract 4)
    start(slot, sub);
    return info.Env().Undefined();
  }
  Napi::Value Unlink(const Napi::CallbackInfo& info) { return PathOnly(info, OpCode::kUnlink); }
  Napi::Value Rmdir(const Napi::CallbackInfo& info) { return PathOnly(info, OpCode::kRmdir); }

  // rename(token, from, to)
  Napi::Value Rename(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    std::string from = path_arg(info, 1, "from");
    std::string to = path_arg(info, 2, "to");
    sub.op = OpCode::kRename;
    sub.path = from.c_str();
    sub.path2 = to.c_str();  // both copied by the backend before submit() returns (contract 4)
    start(slot, sub);
    return info.Env().Undefined();
  }

  // mkdir(token, path, mode)
  Napi::Value Mkdir(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    std::string path = path_arg(info, 1, "path");
    sub.op = OpCode::kMkdir;
    sub.path = path.c_str();
    sub.mode = int32_t(integer_arg(info, 2, "mode", 0, 07777));
    start(slot, sub);
    return info.Env().Undefined();
  }

  // stat(token, path, out: BigInt64Array with at least kStatFields elements, noFollow: boolean) — lstat
  // when noFollow is true.
  Napi::Value StatPath(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    std::string path = path_arg(info, 1, "path");
    sub.op = OpCode::kStat;
    sub.path = path.c_str();
    sub.stat = stat_out_arg(info, 2);
    sub.flags = boolean_arg(info, 3, "noFollow") ? corio::kStatNoFollow : 0;
    slot.held.push_back(Napi::Persistent(info[2].As<Napi::Object>()));
    start(slot, sub);
    return info.Env().Undefined();
  }

  // fallocate(token, fd, offset, length, keepSize: boolean)
  Napi::Value Fallocate(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    sub.op = OpCode::kFallocate;
    sub.fd = fd_arg(info, 1);
    sub.offset = int64_t(integer_arg(info, 2, "offset", 0, kMaxSafeInteger));
    sub.length = int64_t(integer_arg(info, 3, "length", 0, kMaxSafeInteger));  // 0: the kernel says EINVAL
    sub.flags = boolean_arg(info, 4, "keepSize") ? corio::kFallocKeepSize : 0;
    start(slot, sub);
    return info.Env().Undefined();
  }

  // readdir(token, path, buffer, offset, length): entries packed into buffer[offset, offset + length) in
  // the kReaddir format (backend.h); the result is the bytes used, or -ENOBUFS when they do not fit.
  Napi::Value Readdir(const Napi::CallbackInfo& info) {
    Submission sub;
    Slot& slot = claim(info, sub);
    std::string path = path_arg(info, 1, "path");
    View view = view_arg(info, 2, "buffer");
    double offset = integer_arg(info, 3, "offset", 0, kMaxSafeInteger);
    double length = integer_arg(info, 4, "length", 0, kMaxIoLength);  // the result is a byte count: int32
    if (offset + length > double(view.length))
      throw_error(info.Env(), "range", "ERR_OUT_OF_RANGE",
                  "The range [" + std::to_string(int64_t(offset)) + ", " + std::to_string(int64_t(offset + length)) +
                      ") is outside the buffer of " + std::to_string(view.length) + " bytes");
    sub.op = OpCode::kReaddir;
    sub.path = path.c_str();
    sub.buf = view.data ? view.data + size_t(offset) : nullptr;
    sub.len = uint32_t(length);
    slot.held.push_back(Napi::Persistent(info[2].As<Napi::Object>()));
    start(slot, sub);
    return info.Env().Undefined();
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    Backend& b = live(info);
    auto token = uint32_t(integer_arg(info, 0, "token", 0, kMaxTokens - 1));
    bool known = token < slots_.size() && slots_[token].busy && b.cancel(token);
    return Napi::Boolean::New(info.Env(), known);
  }

  // wait(timeoutMs) → number of completions written as (token, result) pairs into the completions array.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Backend& b = live(info);
    if (!info[0].IsNumber() || std::isnan(info[0].As<Napi::Number>().DoubleValue()))
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE", "The \"timeout\" argument must be a number");
    double timeout = info[0].As<Napi::Number>().DoubleValue();
    if (timeout > 2147483647.0) timeout = -1;  // beyond ~24 days is "no limit" (and Infinity maps here)
    // Re-read the array each time rather than caching its pointer: cheap, and safe if JS swapped storage.
    Napi::Int32Array ring = completions_.Value();
    static_assert(sizeof(Completion) == 2 * sizeof(int32_t), "Completion is two int32 in the JS array");
    int capacity = int(ring.ElementLength() / 2);  // 0 once the array was detached: nothing is handed out
    // The backend writes into native memory, and slots are released from that copy: what JS can see is
    // only ever written by this thread, after the release, so no JS write can make us release the wrong
    // token (refusing shared memory above already rules out writes during wait; this rules out reading
    // back anything JS-visible at all).
    if (scratch_.size() < size_t(capacity)) scratch_.resize(size_t(capacity));
    int n = b.wait(scratch_.data(), capacity, timeout);
    for (int i = 0; i < n; i++) {
      uint32_t token = scratch_[i].token;
      if (token < slots_.size()) {
        slots_[token].busy = false;
        slots_[token].held.clear();  // the kernel is done with these bytes: let GC have them
      }
    }
    if (n > 0) std::memcpy(ring.Data(), scratch_.data(), size_t(n) * sizeof(Completion));
    return Napi::Number::New(info.Env(), n);
  }

  Napi::Value Wake(const Napi::CallbackInfo& info) {
    live(info).wake();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    auto s = live(info).stats();
    auto o = Napi::Object::New(info.Env());
    o.Set("submitted", double(s.submitted));
    o.Set("completed", double(s.completed));
    o.Set("enters", double(s.enters));
    o.Set("inlineOps", double(s.inline_ops));
    o.Set("workerOps", double(s.worker_ops));
    o.Set("cancelRequests", double(s.cancel_requests));
    o.Set("inFlight", double(s.in_flight));
    o.Set("queued", double(s.queued));
    return o;
  }

  // setTrace(on: boolean): the backend starts or stops recording where each operation runs (trace.h).
  // The sink lives as long as this object once made: a pool worker may still hold the pointer it loaded
  // just before tracing was switched off, so it is never freed while the backend exists.
  Napi::Value SetTrace(const Napi::CallbackInfo& info) {
    Backend& backend = live(info);
    if (!info[0].IsBoolean())
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE", "The \"on\" argument must be of type boolean");
    bool on = info[0].As<Napi::Boolean>().Value();
    if (on && !trace_) trace_ = std::make_unique<corio::TraceSink>();
    backend.set_trace(on ? trace_.get() : nullptr);
    return info.Env().Undefined();
  }

  // takeTrace(out: Float64Array): moves up to out.length / 5 records into `out`, five numbers each —
  // token, where it ran (RanOn), worker index, start and end in ms on the steady clock (0: not known) —
  // and returns how many. Called once per loop iteration while tracing, so records arrive in batches.
  Napi::Value TakeTrace(const Napi::CallbackInfo& info) {
    live(info);
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw_error(info.Env(), "type", "ERR_INVALID_ARG_TYPE", "The \"out\" argument must be a Float64Array");
    auto out = info[0].As<Napi::Float64Array>();
    if (!trace_ || out.Data() == nullptr) return Napi::Number::New(info.Env(), 0);
    size_t capacity = out.ElementLength() / 5;
    trace_scratch_.resize(std::min<size_t>(capacity, 4096));
    size_t n = trace_->take(trace_scratch_.data(), trace_scratch_.size());
    double* d = out.Data();
    for (size_t i = 0; i < n; i++) {
      const corio::TraceRecord& r = trace_scratch_[i];
      d[5 * i] = double(r.token);
      d[5 * i + 1] = double(uint8_t(r.ran_on));
      d[5 * i + 2] = double(r.worker);
      d[5 * i + 3] = r.start_ns ? double(r.start_ns) / 1e6 : 0;
      d[5 * i + 4] = r.end_ns ? double(r.end_ns) / 1e6 : 0;
    }
    return Napi::Number::New(info.Env(), double(n));
  }

  // Drains everything in flight (contract 9) and frees the backend. Idempotent.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  void Shutdown() {
    corio::signals::forget(backend_.get());  // no signal handler may wake a backend being freed
    backend_.reset();  // blocks until no kernel or pool thread can touch a held buffer
    slots_.clear();    // only now may the buffers go
  }

  Napi::Value Name(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), backend_ ? backend_->name() : "closed");
  }
  Napi::Value Reason(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), reason_); }

  std::unique_ptr<corio::TraceSink> trace_;  // declared before backend_: outlives it (SetTrace)
  std::vector<corio::TraceRecord> trace_scratch_;
  friend Backend* corio::binding::backend_of(Napi::Value value);

  std::unique_ptr<Backend> backend_;
  std::string reason_;
  Napi::Reference<Napi::Int32Array> completions_;
  std::vector<Slot> slots_;
  std::vector<corio::IoVec> iov_scratch_;
  std::vector<Completion> scratch_;  // wait() writes here first (see Wait)
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeBackend", NativeBackend::Define(env));
  auto names = Napi::Array::New(env);
  uint32_t i = 0;
  for (const char* const* k = corio::compiled_backends(); *k; k++) names.Set(i++, Napi::String::New(env, *k));
  exports.Set("compiledBackends", names);
  exports.Set("statFields", Napi::Number::New(env, double(corio::kStatFields)));
  exports.Set("slowDrainRounds", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), double(corio::slow_drain_rounds()));
  }));
  exports.Set("threadCpuMs", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), corio::thread_cpu_ms());
  }));
  corio::binding::register_signals(env, exports);
  corio::binding::register_hosted(env, exports);
  return exports;
}

}  // namespace

namespace corio::binding {

Backend* backend_of(Napi::Value value) {
  bool tagged = false;
  if (!value.IsObject() ||
      napi_check_object_type_tag(value.Env(), value, &kNativeBackendTag, &tagged) != napi_ok || !tagged)
    return nullptr;
  return NativeBackend::Unwrap(value.As<Napi::Object>())->backend_.get();
}

}  // namespace corio::binding

NODE_API_MODULE(corio, Init)
