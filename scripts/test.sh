#!/usr/bin/env bash
# Sets up, builds and runs every test: the capacity, load and soak runs of the plain build (CTest,
# tests/bench), every GoogleTest suite and the short load runs under ASan + UBSan in build-asan/
# (scripts/sanitize.sh; any sanitizer report, from a test or from a process it started, fails;
# the measuring runs are left out there), the fuzz smoke runs
# (scripts/fuzz.sh; FUZZ_SECONDS per target, default 8) and the end-to-end browser tests in a
# loopback-only network namespace. SANITIZE=0 skips the sanitized run and runs every suite in the
# plain build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# How long each phase took, for the suite's time budget (40 minutes on 2 cores).
phase_times=()
mark() { phase_times+=("$1 $(( (SECONDS - started) / 60 ))m$(( (SECONDS - started) % 60 ))s"); started=$SECONDS; }
scripts/setup.sh
mark setup
# The unit and integration suites run in the sanitized build (they are compiled once, there); the
# plain build has the servers, the load generator and tests/bench (capacity, load, soak, the load
# generator's own tests), which measure or need the unsanitized binaries, and the e2e tests use it.
# With SANITIZE=0 the plain build has every suite.
if [ "${SANITIZE:-1}" != 0 ]; then
  scripts/build.sh -DSB_UNIT_TESTS=OFF
else
  scripts/build.sh -DSB_UNIT_TESTS=ON
fi
mark build

echo "== capacity, load and soak tests of the plain build (ctest; every suite with SANITIZE=0)"
ctest_log=$(mktemp)
set +e
(cd build && ctest --output-on-failure -j"$(nproc)" --timeout 300) 2>&1 | tee "$ctest_log"
ctest_status=${PIPESTATUS[0]}
set -e
mark ctest

echo "== the same under ASan + UBSan (build-asan/; scripts/sanitize.sh)"
san_log=$(mktemp)
san_status=0
if [ "${SANITIZE:-1}" != 0 ]; then
  set +e
  scripts/sanitize.sh 2>&1 | tee "$san_log"
  san_status=${PIPESTATUS[0]}
  set -e
fi
mark sanitized

echo "== fuzz smoke run (libFuzzer, ${FUZZ_SECONDS:-8} s per target; scripts/fuzz.sh)"
fuzz_log=$(mktemp)
set +e
scripts/fuzz.sh "${FUZZ_SECONDS:-8}" 2>&1 | tee "$fuzz_log"
fuzz_status=${PIPESTATUS[0]}
set -e
mark fuzz

echo "== end-to-end tests (headless Chromium, network namespace with loopback only)"
e2e_log=$(mktemp)
set +e
unshare -n sh -c 'ip link set lo up && exec node --test --test-concurrency=1 tests/e2e/' \
  2>&1 | tee "$e2e_log"
e2e_status=${PIPESTATUS[0]}
set -e
mark e2e

# One closing line for all runners; each fuzz target counts as one test. Skipped tests are
# not passed ones: CTest counts a test that exits with its SKIP_RETURN_CODE (or a GTEST_SKIP)
# in "out of N" and lists it under "did not run" as "(Skipped)"; a DISABLED test is listed there
# as "(Disabled)" and not counted in N. node's TAP summary has "# skipped N" (and "# todo N";
# "# cancelled N" are tests that never finished: failures).
ctest_total=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$ctest_log")
ctest_failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$ctest_log")
ctest_skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$ctest_log" || true)
ctest_disabled=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Disabled\)$' "$ctest_log" || true)
ctest_passed=$(( ${ctest_total:-0} - ${ctest_failed:-0} - ${ctest_skipped:-0} ))
e2e_passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$e2e_log")
e2e_failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$e2e_log")
e2e_cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$e2e_log")
e2e_skipped=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$e2e_log")
e2e_todo=$(sed -n 's/^# todo \([0-9]*\)$/\1/p' "$e2e_log")
san_passed=$(sed -n 's/^sanitize: \([0-9]*\) passed, .*/\1/p' "$san_log")
san_failed=$(sed -n 's/^sanitize: [0-9]* passed, \([0-9]*\) failed, .*/\1/p' "$san_log")
san_skipped=$(sed -n 's/^sanitize: [0-9]* passed, [0-9]* failed, \([0-9]*\) skipped.*/\1/p' "$san_log")
fuzz_passed=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$fuzz_log")
fuzz_failed=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$fuzz_log")
passed=$(( ctest_passed + ${san_passed:-0} + ${fuzz_passed:-0} + ${e2e_passed:-0} ))
failed=$(( ${ctest_failed:-0} + ${san_failed:-0} + ${fuzz_failed:-0} + ${e2e_failed:-0} +
           ${e2e_cancelled:-0} ))
skipped=$(( ${ctest_skipped:-0} + ${ctest_disabled:-0} + ${san_skipped:-0} + ${e2e_skipped:-0} +
            ${e2e_todo:-0} ))
if [ "$ctest_status" -ne 0 ] || [ "$san_status" -ne 0 ] || [ "$fuzz_status" -ne 0 ] ||
   [ "$e2e_status" -ne 0 ]; then
  [ "$failed" -gt 0 ] || failed=1
fi
rm -f "$ctest_log" "$san_log" "$fuzz_log" "$e2e_log"
# The sanitized run counts each of its tests again (and each sanitizer report as a failure).
echo "of which sanitized (ASan + UBSan): ${san_passed:-0} passed, ${san_failed:-0} failed, ${san_skipped:-0} skipped"
echo "time: ${phase_times[*]}"
echo "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
