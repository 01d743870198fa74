#!/bin/bash
# CTest of switchboard-load's data channels against a real switchboard (and its worker) on a
# random port of 127.0.0.1: 1 room x 3 participants, two publishing media and the third only
# data channels, each sending 20 chat messages/s and 400 kbit/s of 16-64 KiB file messages for
# 5 s. --check demands every channel open to the end and every message sent in the window
# delivered intact and in order to both others; the report's data figures are checked here.
# Usage: load_data_test.sh SWITCHBOARD SWITCHBOARD_LOAD WORKDIR
set -eu
server_bin=$1
load_bin=$2
workdir=$3
mkdir -p "$workdir"
report="$workdir/data.json"
rm -f "$report"

. "$(dirname "$0")/switchboard_server.sh"
trap stop_switchboard EXIT INT TERM
start_switchboard "$server_bin" "$workdir"

"$load_bin" --server="ws://127.0.0.1:$port/ws" --rooms=1 --participants=3 --publishers=2 \
  --duration=5 --keyframe-interval=2 --chat-rate=20 --file-kbps=400 --report="$report" --check

python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d = r['data']
assert r['scenario']['data_channels'] is True
# 3 receivers x 2 senders x (chat, file), all open to the end.
assert d['channels_expected'] == 12 and d['channels_open'] == 12, d
assert d['sctp_failures'] == 0 and d['channels_closed_by_server'] == 0, d
w = r['window_s']
chat, f = d['chat'], d['file']
# Every participant sent ~20 chat messages/s; each reached the two others.
assert 0.8 * 3 * 20 * w <= chat['sent_messages'] <= 1.2 * 3 * 20 * w, chat
assert chat['received_messages'] == chat['expected_messages'] == 2 * chat['sent_messages'], chat
assert f['received_messages'] == f['expected_messages'] == 2 * f['sent_messages'] > 0, f
assert f['received_bytes'] == 2 * f['sent_bytes'], f
# 400 kbit/s each, in 16-64 KiB messages.
assert 0.6 * 3 * 400e3 / 8 * w <= f['sent_bytes'] <= 1.4 * 3 * 400e3 / 8 * w + 3 * 2 * 65536, f
assert 16384 <= f['sent_bytes'] / f['sent_messages'] <= 65536, f
for l in (chat, f):
    assert l['missing_messages'] == 0 and l['sequence_errors'] == 0 and l['corrupt_messages'] == 0, l
assert chat['latency_ms']['samples'] == chat['received_messages'], chat
# Per participant over the run: each sent on both channels and received from both others, at
# most what they sent (the first messages may precede the server's channels to it).
ps = {p['name']: p for p in d['participants']}
assert sorted(ps) == ['r0-u0', 'r0-u1', 'r0-u2'], ps
for name, p in ps.items():
    for label in ('chat', 'file'):
        c = p[label]
        others = sum(q[label]['sent_messages'] for n, q in ps.items() if n != name)
        assert c['sent_messages'] > 0 and 0 < c['received_messages'] <= others, (name, label, c)
# Media kept flowing: the data-only participant receives both publishers, they each other.
assert r['clients']['streams_expected'] == 8 == r['clients']['streams_received'], r['clients']
PY
echo "load data test passed"
