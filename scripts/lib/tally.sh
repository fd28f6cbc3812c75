# Sourced by scripts/test.sh, test-windows.sh and test-kqueue.sh: each part of a test run (a native core
# program, a vitest run) is turned into "PASSED FAILED SKIPPED", which the scripts add up into the one
# "N passed, N failed, N skipped" line .ci/run reads. A part that ended without its summary counts as one
# failure, so a crash, hang or build error can never read as green.

# A line matching the native core program's summary ("N passed, N failed, N skipped").
TALLY_SUMMARY_RE='^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped'

# tally_core OUTPUT_FILE: the counts of the last summary line in a core program's output; "0 1 0" if none.
tally_core() {
  local line
  line=$(grep -E "$TALLY_SUMMARY_RE" "$1" 2>/dev/null | tail -1)
  if [[ -n $line ]]; then
    sed -E 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/' <<<"$line"
  else
    echo "0 1 0"
  fi
}

# tally_vitest REPORT_JSON EXIT_STATUS: the counts from vitest's JSON reporter. A test file that failed to
# load ran no test but counts as a failure; a nonzero exit with nothing counted as failed counts as one; a
# missing or unreadable report is "0 1 0".
tally_vitest() {
  node -e '
    const fs = require("fs");
    const status = Number(process.argv[2]);
    try {
      const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
      let failed = r.numFailedTests + broken;
      if (status !== 0 && failed === 0) failed = 1;
      console.log(r.numPassedTests, failed, r.numPendingTests + r.numTodoTests);
    } catch { console.log(0, 1, 0); }' "$1" "$2"
}
