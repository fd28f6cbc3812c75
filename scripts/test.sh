#!/usr/bin/env bash
# The project's test command (npm test): the native core cases on every backend (no Node), then the
# TypeScript suite on every backend. Ends with one line "N passed, N failed" summing both, which CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/tally.sh

# Tests that run examples or child processes use dist/: compile it first so it matches src/.
npx tsc -p tsconfig.json || { echo "TypeScript build failed"; echo "0 passed, 1 failed"; exit 1; }

core_passed=0; core_failed=0; core_skipped=0
if bash native/test/build.sh >/dev/null; then
  build/core-test | tee build/core-test.out
  read -r core_passed core_failed core_skipped < <(tally_core build/core-test.out)
else
  echo "native core test program failed to build"
  core_failed=1
fi

report=build/vitest-report.json
rm -f "$report"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
vitest_status=$?
read -r js_passed js_failed js_skipped < <(tally_vitest "$report" "$vitest_status")

echo "native core: $core_passed passed, $core_failed failed, $core_skipped skipped; TypeScript: $js_passed passed, $js_failed failed, $js_skipped skipped"
echo "$((core_passed + js_passed)) passed, $((core_failed + js_failed)) failed, $((core_skipped + js_skipped)) skipped"
[[ $((core_failed + js_failed)) -eq 0 ]]
