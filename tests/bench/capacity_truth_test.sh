#!/bin/bash
# Tests of the capacity instrument itself (issue 10): a run in which the server's packets stop
# reaching some subscribers, or in which nothing the subscribers receive can be trusted, must not
# be reported as held. Each runs a real switchboard and switchboard-load on 127.0.0.1 inside a
# network namespace of its own (unshare -n: only loopback, so the nftables rule touches nothing
# else), and judges the report with bench/capacity_report.py, as bench/capacity does.
#
#   capacity_truth_test.sh drop BUILD_DIR WORKDIR
#       1 room of 6 for a 10 s window. 3 s into the window an nftables rule drops every RTP
#       packet the server sends whose ssrc is even: about half of the streams stop arriving
#       (whole streams, as when the worker's packets to half of the generator's ports are
#       dropped). Counting by sequence numbers cannot see packets after the last one that
#       arrived; the report must show the loss against what the publishers sent (about the
#       share of silent streams x 7/10), the silent streams, and held = false.
#   capacity_truth_test.sh decrypt BUILD_DIR WORKDIR
#       1 room of 4, twice: one in 10 of the packets the subscribers decrypt is corrupted
#       first (--break-decryption-for-test=10), then every one (=1). Both must fail --check
#       (exit 1) and be reported not held: for decryption failures, and when nothing decrypts
#       for the missing latency samples and key frames too (p99 was 0 and `held` before).
#
# Needs root (unshare -n, nft); exits 77 (skipped) without them.
set -euo pipefail
mode=$1 build=$2 workdir=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${SB_TRUTH_IN_NETNS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || ! command -v unshare >/dev/null; then
    echo "skipped: needs root, nft (nftables) and unshare"
    exit 77
  fi
  rm -rf "$workdir"
  mkdir -p "$workdir"
  exec env SB_TRUTH_IN_NETNS=1 unshare -n "$0" "$@"
fi
ip link set lo up
server_bin="$build/signaling/switchboard"
load_bin="$build/bench/load/switchboard-load"
report_py="$root/bench/capacity_report.py"
. "$root/tests/bench/load/switchboard_server.sh"
trap stop_switchboard EXIT INT TERM
start_switchboard "$server_bin" "$workdir" --rtc-ports=40000-49999
echo '{}' >"$workdir/limit.json"

case "$mode" in
  drop)
    nft add table inet sbtruth
    nft add chain inet sbtruth out '{ type filter hook output priority 0; }'
    "$load_bin" --server="ws://127.0.0.1:$port/ws" --rooms=1 --participants=6 --duration=10 \
      --video-kbps=300 --fps=15 --keyframe-interval=2 --decrypt-one-in=4 \
      --report="$workdir/load.json" --log-level=info >"$workdir/load.out" 2>"$workdir/load.err" &
    load_pid=$!
    for i in $(seq 1 300); do
      grep -q "measurement window started" "$workdir/load.err" && break
      kill -0 "$load_pid" 2>/dev/null || break
      sleep 0.1
    done
    grep -q "measurement window started" "$workdir/load.err" ||
      { echo "the window never started"; cat "$workdir/load.err"; exit 1; }
    sleep 3
    # Server -> generator, RTP (version 2) with an even ssrc (the last bit of RTP bytes 8-11;
    # @th counts bits from the UDP header, 8 bytes long).
    nft add rule inet sbtruth out udp sport 40000-49999 udp dport 50000-59999 \
      @th,64,2 2 @th,159,1 0 counter drop
    wait "$load_pid" || true
    cat "$workdir/load.out"
    nft list chain inet sbtruth out | grep counter
    python3 "$report_py" finish "$workdir/load.json" "$workdir/limit.json" switchboard \
      >"$workdir/final.json"
    python3 - "$workdir/final.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["clients"]
def fail(why):
    sys.exit(f"capacity_truth drop failed: {why}")
if not r["setup"]["all_ready"]:
    fail("the room did not connect before the window")
expected, silent = c["streams_expected"], c["streams_silent_at_end"]
if expected != 60 or not 0 < silent < expected:
    fail(f"{silent} of {expected} streams silent at the end: the rule should silence about half")
# Each silent stream lost its last ~7 s of 10 (the drop began 3 s in; a few tenths of a second
# for the rule to be in place): the loss against sent is about that share of the packets.
predicted = 100.0 * silent / expected * 0.7
if not 0.6 * predicted <= c["loss_percent"] <= 1.3 * predicted:
    fail(f"loss {c['loss_percent']} % against sent, predicted about {predicted:.1f} % "
         f"({silent} of {expected} streams silent for 7 s of 10)")
if r["held"]:
    fail("reported held")
why = " ".join(r["held_failures"])
if "loss" not in why or "silent" not in why:
    fail(f"not held, but not for the loss and the silent streams: {r['held_failures']}")
# What the accounting before issue 10 concluded from the same run: loss by sequence numbers,
# every stream that ever had packets "received", held = all of that and p99 <= 50 ms.
old_held = (r["setup"]["all_ready"] and c["sequence_loss_percent"] <= 1.0 and
            c["latency_ms"]["p99"] <= 50.0)
print(f"drop: the old accounting would have said loss {c['sequence_loss_percent']} %, "
      f"{'held' if old_held else 'not held'}")
print(f"drop: {silent} of {expected} streams silenced; loss {c['loss_percent']} % against sent "
      f"(predicted {predicted:.1f} %), {c['sequence_loss_percent']} % by sequence numbers "
      f"(the old method); not held: {'; '.join(r['held_failures'])}")
PY
    ;;
  decrypt)
    for n in 10 1; do
      rc=0
      "$load_bin" --server="ws://127.0.0.1:$port/ws" --rooms=1 --participants=4 --duration=4 \
        --video-kbps=300 --fps=15 --keyframe-interval=2 --decrypt-one-in=4 \
        --break-decryption-for-test="$n" --report="$workdir/load-$n.json" --check \
        >"$workdir/load-$n.out" 2>&1 || rc=$?
      cat "$workdir/load-$n.out"
      if [ "$rc" != 1 ]; then
        echo "capacity_truth decrypt failed: --check exited $rc with one in $n decryptions broken"
        exit 1
      fi
      grep -q "check failed" "$workdir/load-$n.out" ||
        { echo "capacity_truth decrypt failed: no 'check failed' line"; exit 1; }
      python3 "$report_py" finish "$workdir/load-$n.json" "$workdir/limit.json" switchboard \
        >"$workdir/final-$n.json"
      python3 - "$workdir/final-$n.json" "$n" <<'PY'
import json, sys
r, n = json.load(open(sys.argv[1])), int(sys.argv[2])
def fail(why):
    sys.exit(f"capacity_truth decrypt (one in {n} broken) failed: {why}")
failures = r["received"]["unprotect_failures"]
if failures == 0:
    fail("no decryption failure reported")
if r["held"]:
    fail("reported held")
why = " ".join(r["held_failures"])
if "decryption failures" not in why:
    fail(f"not held, but not for the decryption failures: {r['held_failures']}")
if n == 1 and ("latency samples" not in why or "key frame" not in why):
    fail(f"nothing decrypted, yet latency and key frames pass: {r['held_failures']}")
print(f"decrypt one in {n} broken: {failures} failures; not held: {'; '.join(r['held_failures'])}")
PY
    done
    ;;
  *)
    echo "unknown mode $mode"; exit 2 ;;
esac
echo "capacity_truth $mode passed"
