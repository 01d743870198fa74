#!/bin/bash
# CTest: the load generator spread over the nodes of a cluster (issue 14). A real redis-server
# and two switchboard nodes with --redis, all on 127.0.0.1 (each node its own media ports);
# switchboard-load --server=NODE_A,NODE_B puts the participants of each room on both nodes in
# turn, so every track crosses between the nodes to half its subscribers. 2 rooms x 4
# participants for 5 s: every subscriber receives every other participant's audio and video
# (--check), each node hosted half of them and piped the other node's tracks in.
# Usage: load_cluster_test.sh SWITCHBOARD SWITCHBOARD_LOAD WORKDIR
# Exits 77 (skipped) without /usr/bin/redis-server.
set -eu
server_bin=$1
load_bin=$2
workdir=$3
mkdir -p "$workdir"
report="$workdir/cluster.json"
rm -f "$report"
[ -x /usr/bin/redis-server ] || { echo "no redis-server (scripts/setup.sh installs it)"; exit 77; }

redis_pid="" node_a="" node_b=""
cleanup() {
  for pid in $node_a $node_b $redis_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in $node_a $node_b $redis_pid; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

random_port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 10000 )); }
wait_port() {
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on $1"; cat "$workdir"/*.log; exit 1
}

redis_port=$(random_port)
/usr/bin/redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  >"$workdir/redis.log" 2>&1 &
redis_pid=$!
wait_port "$redis_port"

start_node() {
  local id=$1 port=$2
  "$server_bin" --listen=127.0.0.1 --port="$port" --rtc-listen=127.0.0.1 --workers=1 \
    --rtc-port=0 --ice-tcp-port=0 --log-level=warn --redis="127.0.0.1:$redis_port" \
    --node-id="$id" >"$workdir/node-$id.log" 2>&1 &
  echo $!
}
port_a=$(random_port)
port_b=$(( port_a + 1 ))
node_a=$(start_node a "$port_a")
node_b=$(start_node b "$port_b")
wait_port "$port_a"
wait_port "$port_b"
# Both registered: each node's first scan of the registry comes one TTL (3 s) after it connects.
for i in $(seq 1 100); do
  n=$(python3 -c "
import json, sys, urllib.request
print(len(json.load(urllib.request.urlopen('http://127.0.0.1:$port_a/api/nodes'))['nodes']))")
  [ "$n" = 2 ] && break
  sleep 0.1
done
[ "$n" = 2 ] || { echo "the nodes do not see each other"; cat "$workdir"/*.log; exit 1; }

"$load_bin" --server="ws://127.0.0.1:$port_a/ws,ws://127.0.0.1:$port_b/ws" --rooms=2 \
  --participants=4 --duration=5 --keyframe-interval=2 --report="$report" --check

python3 - "$report" "$port_a" "$port_b" <<'PY'
import json, sys, urllib.request
r = json.load(open(sys.argv[1]))
c = r["clients"]
# 2 rooms x 4 subscribers x 3 others x (audio + video).
assert c["streams_expected"] == 48 and c["streams_received"] == 48, c
# Nothing lost once a stream ran (by sequence numbers): the pipe between the nodes carries all.
# (Loss against sent also counts what went out before a subscriber's piped stream started, a
# matter of setup time on a machine busy with other work.)
assert c["sequence_loss_percent"] < 1, c
for port in sys.argv[2:]:
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    values = {line.split()[0]: float(line.split()[1]) for line in metrics.splitlines()
              if line and not line.startswith("#") and len(line.split()) == 2}
    # Each node piped in the other node's two participants' audio and video, in both rooms.
    assert values.get("switchboard_producers_piped_total", 0) >= 8, (port, values.get("switchboard_producers_piped_total"))
    assert values.get("switchboard_pipe_failures_total", 1) == 0, port
    assert values.get("switchboard_cluster_nodes") == 2, port
PY
echo "load cluster test passed"
