#!/bin/bash
# CTest: one room where 50 participants all publish and everyone subscribes to everyone, against
# a real switchboard (and its worker) on 127.0.0.1: every track must reach every other
# participant (50 x 49 x 2 = 4,900 streams, 98 m-lines per subscriber), each video stream with a
# key frame, and the whole test must take under 60 s.
#
# The media is light so that one worker core and the generator's core carry the fan-out on a
# shared 2-core machine: audio as 60 ms Opus packets (16.7 packets/s instead of 50) and video at
# 40 kbit/s and 8 fps (about one packet a frame): about 25 packets/s per publisher in, 61k/s out
# (15 fps, 78k/s, failed with worker requests timing out when other work loaded the machine);
# subscribers decrypt one packet in 4 once a stream has shown its first key frame.
# Usage: load_room_test.sh SWITCHBOARD SWITCHBOARD_LOAD WORKDIR [LOAD_FLAG ...]; the flags go to
# switchboard-load (e.g. --no-video: 49 m-lines per subscriber, which a server limited to 64
# m-lines carries, to check this test itself against such a server).
set -eu
server_bin=$1
load_bin=$2
workdir=$3
shift 3
participants=50
mkdir -p "$workdir"
report="$workdir/room.json"
rm -f "$report"
start_s=$(date +%s)

. "$(dirname "$0")/switchboard_server.sh"
trap stop_switchboard EXIT INT TERM
# The default room capacity is 16.
start_switchboard "$server_bin" "$workdir" --room-capacity=$participants

rc=0
"$load_bin" --server="ws://127.0.0.1:$port/ws" --rooms=1 --participants=$participants \
  --audio-ptime=60 --video-kbps=40 --fps=8 --keyframe-interval=2 --ramp-up=20 \
  --setup-timeout=30 --duration=5 --decrypt-one-in=4 --report="$report" --check "$@" || rc=$?
elapsed=$(( $(date +%s) - start_s ))
test -s "$report" || { echo "no report (switchboard-load exited $rc)"; exit 1; }

python3 - "$report" "$participants" "$elapsed" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n, elapsed = int(sys.argv[2]), int(sys.argv[3])
c = r["clients"]
def fail(why):
    sys.exit(f"room of {n} failed: {why}")
# Every participant joined and published: the harness did its part.
if r["setup"]["joins"] != n:
    fail(f"{r['setup']['joins']} of {n} joined (signaling errors {r['setup']['signaling_errors']})")
kinds = [k for k in ("audio", "video") if r["scenario"][k]]
if "video" in kinds and r["sent"]["video_layers"][0]["streams"] != n:
    fail(f"{r['sent']['video_layers'][0]['streams']} of {n} publishers sent video")
# Every track reached every other participant, live and with packets.
pairs = {}
for s in r["streams"]:
    if s["packets"] > 0 and not s["ended"]:
        pairs.setdefault((s["subscriber"], s["publisher"]), {})[s["kind"]] = s
missing = [f"{sub} <- {pub} {kind}"
           for sub in (f"r0-u{i}" for i in range(n))
           for pub in (f"r0-u{i}" for i in range(n)) if sub != pub
           for kind in kinds if kind not in pairs.get((sub, pub), {})]
expected = n * (n - 1) * len(kinds)
if missing or c["streams_received"] != c["streams_expected"] or c["streams_expected"] != expected:
    fail(f"{c['streams_received']} of {c['streams_expected']} streams received; "
         f"{len(missing)} tracks missing, first: {', '.join(missing[:12])}")
no_key = [f"{k[0]} <- {k[1]}" for k, v in pairs.items()
          if "video" in kinds and v["video"]["keyframes"] == 0]
if no_key:
    fail(f"{len(no_key)} video streams without a key frame, first: {', '.join(no_key[:12])}")
print(f"room of {n}: {c['streams_received']} streams, loss {c['loss_percent']} %, latency p50 "
      f"{c['latency_ms']['p50']} ms p99 {c['latency_ms']['p99']} ms, setup "
      f"{r['setup']['seconds']} s, test {elapsed} s")
if elapsed >= 60:
    fail(f"took {elapsed} s (limit 60 s)")
PY
[ "$rc" = 0 ] || { echo "switchboard-load --check failed ($rc)"; exit 1; }
echo "load room test passed"
