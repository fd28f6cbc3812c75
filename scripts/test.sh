#!/usr/bin/env bash
# The project's test command (npm test): the native core cases on every backend (no Node), then the
# TypeScript suite on every backend. Ends with one line "N passed, N failed" summing both, which CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."

# Tests that run examples or child processes use dist/: compile it first so it matches src/.
npx tsc -p tsconfig.json || { echo "TypeScript build failed"; echo "0 passed, 1 failed"; exit 1; }

core_passed=0; core_failed=0; core_skipped=0
if bash native/test/build.sh >/dev/null; then
  build/core-test | tee build/core-test.out
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' build/core-test.out | tail -1)
  read -r core_passed core_failed core_skipped < <(echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
  [[ -n "$line" ]] || core_failed=$((core_failed + 1))
else
  echo "native core test program failed to build"
  core_failed=1
fi

report=build/vitest-report.json
rm -f "$report"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
vitest_status=$?
read -r js_passed js_failed js_skipped < <(node -e '
  const fs = require("fs");
  try {
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    // A suite that failed to load counts as a failure even though it ran no test.
    const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + broken, r.numPendingTests + r.numTodoTests);
  } catch { console.log(0, 1, 0); }
' "$report")
if [[ $vitest_status -ne 0 && $js_failed -eq 0 ]]; then js_failed=1; fi

echo "native core: $core_passed passed, $core_failed failed, $core_skipped skipped; TypeScript: $js_passed passed, $js_failed failed, $js_skipped skipped"
echo "$((core_passed + js_passed)) passed, $((core_failed + js_failed)) failed, $((core_skipped + js_skipped)) skipped"
[[ $((core_failed + js_failed)) -eq 0 ]]
