#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build-fuzz/ and runs each for
# SECONDS_PER_TARGET (default 8) on a scratch copy of its seed corpus; the repository is never
# written. Prints one line per target with executions and coverage, then a summary line:
#   fuzz: PASS rtp_packet_fuzz  8 s  executions 123456  cov 812  ft 2301  corpus 5 -> 48
#   fuzz: 7 passed, 0 failed
# Exits non-zero when a target crashed (the crash input's path is on its FAIL line) or the build
# failed. Targets run FUZZ_JOBS at a time. Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_JOBS
# (nproc: build jobs and targets at a time), FUZZ_TARGETS (all),
# FUZZ_KEEP=1 keeps the scratch folder (grown corpora, logs) even when everything passed,
# FUZZ_FLAGS adds libFuzzer flags (e.g. -len_control=0: mutate up to max_len from the start).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-8}"
build_dir="${FUZZ_BUILD_DIR:-build-fuzz}"

# target:max_len, at the sizes production accepts (docs: tests/fuzz/README.md). Datagram targets:
# the worker reads UDP datagrams of up to 64 KiB (transport/udp_socket.cc), whatever the MTU.
# Client text: a WebSocket message (JSON, the SDP inside it) may have 1 MiB; the fuzz inputs go
# a little past each limit so the refusal is fuzzed too. HTTP: a 16 KiB head and a 1 MiB body.
# DCEP: the largest DATA_CHANNEL_OPEN is 12 + 2 x 65535 bytes. SCTP input: a DTLS record carries
# at most 16 KiB; 64 KiB holds several packets per sctp_input_fuzz input. RESP: one read of the
# Redis client is 64 KiB (signaling/cluster/redis_client.cc); its limits are fuzzed smaller too.
# A message between nodes may have 64 KiB (signaling/cluster_messages.h).
all_targets=(rtp_packet_fuzz:65536 rtcp_fuzz:65536 stun_fuzz:65536 srtp_fuzz:65537 codecs_fuzz:65536
             sdp_fuzz:1048576 signaling_json_fuzz:1052672 ipc_fuzz:8192
             http_request_fuzz:20480 auth_fuzz:8192
             transport_cc_fuzz:65536 bwe_feedback_fuzz:65536 remb_fuzz:65536
             tcp_framing_fuzz:65536 dcep_fuzz:131088 sctp_input_fuzz:65536
             sctp_app_packet_fuzz:65536 pipe_channel_protocol_fuzz:65600
             load_data_messages_fuzz:65600 resp_fuzz:65537
             cluster_messages_fuzz:65600)

if [ ! -f "$build_dir/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSB_FUZZ=ON -DSB_BUILD_TESTS=OFF >/dev/null
fi
if ! cmake --build "$build_dir" -j"${FUZZ_JOBS:-$(nproc)}" --target fuzz; then
  echo "fuzz: build failed"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d /tmp/sb-fuzz.XXXXXX)

# One target: runs it and writes its summary line to $work/<target>/result ("PASS ..." or
# "FAIL ..." and the first error line).
run_target() {
  local target=$1 max_len=$2
  local dir="$work/$target"
  mkdir -p "$dir/corpus"
  if [ -d "tests/fuzz/corpus/$target" ]; then cp -r "tests/fuzz/corpus/$target/." "$dir/corpus/"; fi
  local seeds status execs stats cov ft corpus artifact figures
  seeds=$(find "$dir/corpus" -type f | wc -l)
  set +e
  # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
  "$build_dir/tests/fuzz/$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=25 \
    -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_FLAGS:-} -artifact_prefix="$dir/" \
    "$dir/corpus" >"$dir/log" 2>&1
  status=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$dir/log" | tail -n1)
  stats=$(grep 'cov: ' "$dir/log" | tail -n1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$stats")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$stats")
  corpus=$(find "$dir/corpus" -type f | wc -l)
  artifact=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
    -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | head -n1)
  figures="${seconds} s  executions ${execs:-?}  cov ${cov:-?}  ft ${ft:-?}  corpus ${seeds} -> ${corpus}"
  if [ "$status" -eq 0 ] && [ -z "$artifact" ]; then
    echo "PASS $target  $figures" >"$dir/result"
  else
    {
      echo "FAIL $target  $figures  exit $status  input ${artifact:-none}  log $dir/log"
      grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|invariant failed' \
        "$dir/log" | sed 's/^/  /' || true
    } >"$dir/result"
  fi
}

# As many targets at a time as there are cores (FUZZ_JOBS): each is single-threaded.
jobs_max=${FUZZ_JOBS:-$(nproc)}
targets=()
for entry in "${all_targets[@]}"; do
  target=${entry%%:*}
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $target "* ]]; then continue; fi
  targets+=("$target")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  run_target "$target" "${entry##*:}" &
done
wait
passed=0
failed=0
for target in "${targets[@]}"; do
  result="$work/$target/result"
  [ -f "$result" ] || echo "FAIL $target  no result (the runner died)" >"$result"
  sed 's/^/fuzz: /' "$result"
  if head -n1 "$result" | grep -q '^PASS'; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

if [ "$failed" -eq 0 ] && [ "${FUZZ_KEEP:-0}" != 1 ]; then
  rm -rf "$work"
else
  echo "fuzz: scratch folder kept: $work"
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
