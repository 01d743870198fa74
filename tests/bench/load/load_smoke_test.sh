#!/bin/bash
# CTest smoke test of switchboard-load: starts a real switchboard (and its worker) bound to
# 127.0.0.1 on a random high port, runs 1 room x 3 participants for a few seconds and checks
# that media flowed (the generator's --check) and that the JSON report has its fields.
# Further arguments go to switchboard-load (load_smoke_simulcast passes --simulcast).
# Usage: load_smoke_test.sh SWITCHBOARD SWITCHBOARD_LOAD WORKDIR [LOAD_FLAG ...]
set -eu
server_bin=$1
load_bin=$2
workdir=$3
shift 3
mkdir -p "$workdir"
report="$workdir/smoke.json"
rm -f "$report"

. "$(dirname "$0")/switchboard_server.sh"
trap stop_switchboard EXIT INT TERM
start_switchboard "$server_bin" "$workdir"

"$load_bin" --server="ws://127.0.0.1:$port/ws" --rooms=1 --participants=3 --duration=5 \
  --keyframe-interval=2 --report="$report" --check "$@"

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
# Each of 3 subscribers receives one video stream from each of the 2 others, with simulcast
# too (the server forwards one layer, whichever it is).
assert r['clients']['time_to_first_keyframe_ms']['count'] == 6, r['clients']['time_to_first_keyframe_ms']
kinds = {}
for s in r['streams']:
    kinds.setdefault((s['subscriber'], s['publisher']), []).append(s['kind'])
assert len(kinds) == 6 and all(sorted(k) == ['audio', 'video'] for k in kinds.values()), kinds
# Every sending stream reported about once a second (audio and video, or each layer).
streams = 3 * (1 + (3 if r['scenario']['simulcast'] else 1))
assert r['sent']['srs_sent'] >= streams * 3, r['sent']['srs_sent']
layers = r['sent']['video_layers']
if r['scenario']['simulcast']:
    # What the publishers sent: three layers each, every one with key frames, in Chromium's
    # proportions (switchboard's answer takes all three).
    assert [l['rid'] for l in layers] == ['q', 'h', 'f'], layers
    for l in layers:
        assert l['streams'] == 3 and l['keyframes_total'] >= 3 * 3, l
        assert 0.7 * l['target_kbps'] < l['payload_kbps'] < 1.3 * l['target_kbps'], l
    assert layers[0]['target_kbps'] < layers[1]['target_kbps'] < layers[2]['target_kbps']
else:
    assert [l['rid'] for l in layers] == [''] and layers[0]['streams'] == 3, layers
" "$report"
echo "load smoke test passed"
