#!/bin/bash
# CTest of switchboard-load's transport-cc feedback reaching the server's estimator: starts a
# real switchboard (and its worker) on a random port of 127.0.0.1, runs 1 room x 3 participants
# (each subscriber receives about 2 Mbit/s: two publishers' ~1 Mbit/s video and audio) while
# sampling GET /api/rooms every 0.25 s, and checks each participant's `bandwidth`:
#   on   (default): the generator sent feedback (its report counts it) and the server's estimate
#        for every participant rose from its 300 kbit/s start past 1 Mbit/s (only feedback moves
#        it: probes are judged by it), and in the last samples what was allocated covers what
#        the tracks want (the allocator paused or lowered nothing on loopback).
#   off  (--no-transport-feedback): no feedback sent, and the estimate never left 300 kbit/s
#        (or was never reported).
# Usage: load_feedback_test.sh SWITCHBOARD SWITCHBOARD_LOAD WORKDIR on|off
set -eu
server_bin=$1
load_bin=$2
workdir=$3
mode=$4
mkdir -p "$workdir"
report="$workdir/feedback-$mode.json"
samples="$workdir/rooms-$mode.jsonl"
rm -f "$report" "$samples"

. "$(dirname "$0")/switchboard_server.sh"
trap stop_switchboard EXIT INT TERM
start_switchboard "$server_bin" "$workdir"

flags=()
[ "$mode" = off ] && flags+=(--no-transport-feedback)
"$load_bin" --server="ws://127.0.0.1:$port/ws" --rooms=1 --participants=3 --duration=6 \
  --keyframe-interval=2 --report="$report" --check "${flags[@]}" &
load_pid=$!
# /api/rooms until the generator exits, one JSON line per sample.
python3 - "$port" "$samples" "$load_pid" <<'PY' &
import json, os, sys, time, urllib.request
port, out, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.monotonic()
with open(out, "w") as f:
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        try:
            rooms = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/rooms", timeout=2))
            f.write(json.dumps({"t": round(time.monotonic() - t0, 2), "rooms": rooms["rooms"]}) + "\n")
            f.flush()
        except Exception as e:  # the server is up; a failed sample is only reported
            print(f"sample failed: {e}", file=sys.stderr)
        time.sleep(0.25)
PY
poll_pid=$!
load_rc=0
wait "$load_pid" || load_rc=$?
wait "$poll_pid" || true
[ "$load_rc" = 0 ] || { echo "switchboard-load failed ($load_rc)"; exit 1; }

python3 - "$report" "$samples" "$mode" <<'PY'
import json, sys
report, samples_path, mode = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
START_BPS = 300_000
samples = [json.loads(line) for line in open(samples_path)]
def fail(why):
    sys.exit(f"load_feedback_{mode} failed: {why}")
if len(samples) < 10:
    fail(f"only {len(samples)} samples of /api/rooms")
# participant name -> [(t, bandwidth or None)]
series = {}
for s in samples:
    for room in s["rooms"]:
        for p in room["participants"]:
            series.setdefault(p.get("name") or p["id"], []).append((s["t"], p.get("bandwidth")))
if len(series) != 3:
    fail(f"participants seen: {sorted(series)}")
sent = report["received"]["transport_feedback_sent"]
summary = {}
for name, points in sorted(series.items()):
    est = [b["estimateBps"] for _, b in points if b]
    summary[name] = {"max_estimate_bps": max(est, default=None),
                     "last": next((b for _, b in reversed(points) if b), None)}
print(json.dumps({"transport_feedback_sent": sent,
                  "transport_cc_packets": report["received"]["transport_cc_packets_total"],
                  "participants": summary}, indent=1))
if mode == "on":
    if not report["scenario"]["transport_feedback"] or sent <= 0:
        fail(f"the generator sent no feedback ({sent})")
    for name, points in series.items():
        est = [b["estimateBps"] for _, b in points if b]
        if not est or max(est) <= 1_000_000:
            fail(f"{name}: the server's estimate never passed 1 Mbit/s: {est}")
        # The last samples with a bandwidth, before the participants leave: nothing held back.
        tail = [b for _, b in points if b][-8:-2]
        held_back = [b for b in tail if b["allocatedBps"] < b["desiredBps"]]
        if held_back:
            fail(f"{name}: the allocator held back tracks on loopback: {held_back}")
else:
    if report["scenario"]["transport_feedback"] or sent != 0:
        fail(f"feedback was sent although off ({sent})")
    for name, points in series.items():
        moved = [b["estimateBps"] for _, b in points if b and b["estimateBps"] != START_BPS]
        if moved:
            fail(f"{name}: the estimate moved without feedback: {moved}")
print(f"load_feedback_{mode} passed")
PY
