// Runner for the native core cases: every case against every compiled backend.
// Usage: core-test [--backend NAME] [--filter SUBSTRING]
// Prints one line per case and ends with "N passed, N failed, N skipped" (the line CI reads).
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <unistd.h>

#include "harness.h"

namespace corio::test {

std::vector<CaseInfo>& registry() {
  static std::vector<CaseInfo> cases;
  return cases;
}

std::vector<Completion> collect(Backend& backend, size_t count, double timeout_ms) {
  std::vector<Completion> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(timeout_ms);
  Completion buf[64];
  while (got.size() < count) {
    double left = std::chrono::duration<double, std::milli>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0)
      throw Failure{"timed out waiting for completions: got " + std::to_string(got.size()) + " of " +
                    std::to_string(count)};
    int n = backend.wait(buf, 64, left);
    if (n < 0) throw Failure{"wait returned " + std::to_string(n)};
    got.insert(got.end(), buf, buf + n);
  }
  return got;
}

int32_t run_one(Context& ctx, const Submission& sub, double timeout_ms) {
  ctx.backend->submit(sub);
  auto got = collect(*ctx.backend, 1, timeout_ms);
  if (got[0].token != sub.token)
    throw Failure{"completion token " + std::to_string(got[0].token) + " != " + std::to_string(sub.token)};
  return got[0].result;
}

}  // namespace corio::test

int main(int argc, char** argv) {
  using namespace corio::test;
  std::string only_backend, filter;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--backend") && i + 1 < argc) only_backend = argv[++i];
    else if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
    else {
      std::cerr << "usage: core-test [--backend NAME] [--filter SUBSTRING]\n";
      return 2;
    }
  }
  auto root = std::filesystem::temp_directory_path() / ("corio-core-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root);
  int passed = 0, failed = 0, skipped = 0, serial = 0;
  for (const char* const* k = corio::compiled_backends(); *k; k++) {
    std::string kind = *k;
    if (!only_backend.empty() && kind != only_backend) continue;
    for (auto& c : registry()) {
      if (c.only_kind && kind != c.only_kind) continue;
      if (!filter.empty() && std::string(c.name).find(filter) == std::string::npos) continue;
      std::string label = "[" + kind + "] " + c.name;
      corio::BackendOptions options;
      auto choice = corio::create_backend(kind, options);
      if (!choice.backend) {
        std::cout << "SKIP " << label << " — " << choice.reason << "\n";
        skipped++;
        continue;
      }
      Context ctx{kind, options, choice.backend.get(), (root / std::to_string(serial++)).string()};
      std::filesystem::create_directories(ctx.scratch_dir);
      try {
        c.body(ctx);
        choice.backend.reset();  // contract 9: destruction drains; a hang here is a failure CI will see
        std::cout << "ok   " << label << "\n";
        passed++;
      } catch (const Skipped& s) {
        std::cout << "SKIP " << label << " — " << s.reason << "\n";
        skipped++;
      } catch (const Failure& f) {
        std::cout << "FAIL " << label << "\n     " << f.message << "\n";
        failed++;
      } catch (const std::exception& e) {
        std::cout << "FAIL " << label << "\n     exception: " << e.what() << "\n";
        failed++;
      }
      std::cout.flush();
    }
  }
  std::filesystem::remove_all(root);
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return failed == 0 ? 0 : 1;
}
