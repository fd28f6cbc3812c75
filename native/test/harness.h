// A small test harness for the native core: no Node, no third-party framework.
//
// Cases are registered with CORE_CASE(name) { ... } and receive a freshly created backend of each kind
// compiled into the build, so every backend runs the same behavioural cases (STYLE.md 13). A case that
// cannot run (e.g. io_uring refused here) is reported as skipped with the reason, never as passed.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "../core/backend.h"

namespace corio::test {

struct Context {
  std::string kind;          // backend name under test
  BackendOptions options;    // options the backend was made with (cases may make more with these)
  Backend* backend;          // fresh for each case
  std::string scratch_dir;   // an empty directory owned by this case
};

struct CaseInfo {
  const char* name;
  std::function<void(Context&)> body;
  const char* only_kind;  // null: every backend
};

std::vector<CaseInfo>& registry();

struct Registrar {
  Registrar(const char* name, std::function<void(Context&)> body, const char* only_kind = nullptr) {
    registry().push_back({name, std::move(body), only_kind});
  }
};

struct Failure {
  std::string message;
};

// Thrown by SKIP(reason) inside a case.
struct Skipped {
  std::string reason;
};

// A write of `len` bytes from `buf` (the caller's, kept alive until its completion: contract 4) at `offset`.
inline Submission write_at(uint32_t token, int fd, const void* buf, size_t len, int64_t offset) {
  Submission s;
  s.op = OpCode::kWrite;
  s.token = token;
  s.fd = fd;
  s.buf = const_cast<void*>(buf);
  s.len = uint32_t(len);
  s.offset = offset;
  return s;
}

// Runs `sub` on ctx.backend and waits (up to `timeout_ms`) for its completion; returns the result.
int32_t run_one(Context& ctx, const Submission& sub, double timeout_ms = 10000);
// Waits until `count` completions have arrived (or fails after timeout_ms); returns them in arrival order.
std::vector<Completion> collect(Backend& backend, size_t count, double timeout_ms = 10000);

}  // namespace corio::test

#define CORE_CONCAT2(a, b) a##b
#define CORE_CONCAT(a, b) CORE_CONCAT2(a, b)
#define CORE_CASE(name)                                                                  \
  static void CORE_CONCAT(case_, __LINE__)(corio::test::Context & ctx);                  \
  static corio::test::Registrar CORE_CONCAT(reg_, __LINE__)(name, CORE_CONCAT(case_, __LINE__)); \
  static void CORE_CONCAT(case_, __LINE__)([[maybe_unused]] corio::test::Context & ctx)
// A case for one backend only (e.g. io_uring's CQ overflow handling).
#define CORE_CASE_FOR(kind, name)                                                        \
  static void CORE_CONCAT(case_, __LINE__)(corio::test::Context & ctx);                  \
  static corio::test::Registrar CORE_CONCAT(reg_, __LINE__)(name, CORE_CONCAT(case_, __LINE__), kind); \
  static void CORE_CONCAT(case_, __LINE__)([[maybe_unused]] corio::test::Context & ctx)

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      throw corio::test::Failure{std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #cond}; \
  } while (0)
#define CHECK_EQ(a, b)                                                                             \
  do {                                                                                             \
    auto _va = (a);                                                                                \
    auto _vb = (b);                                                                                \
    if (!(_va == _vb))                                                                             \
      throw corio::test::Failure{std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #a " == " #b \
                                 " (" + std::to_string(_va) + " vs " + std::to_string(_vb) + ")"};  \
  } while (0)
#define SKIP(reason) throw corio::test::Skipped{reason}
