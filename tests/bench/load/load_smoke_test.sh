#!/bin/bash
# CTest smoke test of switchboard-load: starts a real switchboard (and its worker) bound to
# 127.0.0.1 on a random high port, runs 1 room x 3 participants for a few seconds and checks
# that media flowed (the generator's --check) and that the JSON report has its fields.
# Usage: load_smoke_test.sh SWITCHBOARD SWITCHBOARD_LOAD WORKDIR
set -eu
server_bin=$1
load_bin=$2
workdir=$3
mkdir -p "$workdir"
report="$workdir/smoke.json"
rm -f "$report"

server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT INT TERM

# A random port in 20000-29999; retry a few times if it is taken.
for attempt in 1 2 3 4 5; do
  port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 10000 ))
  "$server_bin" --listen=127.0.0.1 --port="$port" --rtc-listen=127.0.0.1 --workers=1 \
    --log-level=warn >"$workdir/server.log" 2>&1 &
  server_pid=$!
  up=0
  for i in $(seq 1 50); do
    if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
    sleep 0.1
  done
  [ "$up" = 1 ] && break
  cleanup
  server_pid=""
done
[ -n "$server_pid" ] || { echo "switchboard did not start"; cat "$workdir/server.log"; exit 1; }

"$load_bin" --server="ws://127.0.0.1:$port/ws" --rooms=1 --participants=3 --duration=5 \
  --keyframe-interval=2 --report="$report" --check

test -s "$report" || { echo "no report"; exit 1; }
# The fields the capacity benchmark reads.
for field in .clients.loss_percent .clients.latency_ms.p50 .clients.latency_ms.p95 \
    .clients.latency_ms.p99 .clients.time_to_first_keyframe_ms.p50 \
    .clients.time_to_first_keyframe_ms.max .sent.packets_per_s .sent.mbit_per_s \
    .received.packets_per_s .received.mbit_per_s .generator.cpu_seconds \
    .generator.us_per_packet; do
  python3 -c "
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].strip('.').split('.'):
    v = v[k]
assert isinstance(v, (int, float)), sys.argv[2]
" "$report" "$field" || { echo "report lacks $field"; exit 1; }
done
python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
assert r['received']['packets_per_s'] > 0 and r['sent']['packets_per_s'] > 0
assert r['clients']['latency_ms']['samples'] > 0
assert r['clients']['time_to_first_keyframe_ms']['count'] == 6, r['clients']['time_to_first_keyframe_ms']
" "$report"
echo "load smoke test passed"
