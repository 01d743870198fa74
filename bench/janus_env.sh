# Sourced by bench/capacity for vs-janus: runs Debian's Janus (videoroom plugin, WebSocket
# transport on 127.0.0.1) and the load generator inside a network namespace the script creates.
# Janus's ICE (libnice) does not gather on loopback (TESTING.md): the namespace has a veth pair
# with 192.0.2.1/192.0.2.2 (documentation range) and Janus gathers on it only (-E). Janus runs
# as ICE-lite (-I), as switchboard does, so the same controlling client works against both.
# Needs root (ip netns). Expects $work, $server_cpu, $load_cpu, $load_bin, run_load from
# bench/capacity.

janus_bin=${JANUS_BIN:-$(command -v janus || true)}
if [ -z "$janus_bin" ]; then
  echo "vs-janus needs Debian's janus package (scripts/setup.sh installs it)" >&2
  exit 2
fi
janus_ns="sbjanus$$"
janus_pid=""
janus_conf="$work/janus-conf"
janus_port=8188

ip netns add "$janus_ns"
extra_cleanup="janus_stop; ip netns del $janus_ns 2>/dev/null"
ip netns exec "$janus_ns" ip link set lo up
ip netns exec "$janus_ns" ip link add sbja type veth peer name sbjb
ip netns exec "$janus_ns" ip addr add 192.0.2.1/24 dev sbja
ip netns exec "$janus_ns" ip addr add 192.0.2.2/24 dev sbjb
ip netns exec "$janus_ns" ip link set sbja up
ip netns exec "$janus_ns" ip link set sbjb up
# Janus sends out of the veth it gathered on (IP_UNICAST_IF): its packets to the generator's
# 192.0.2.2 cross the pair and arrive on sbjb with a source that is local to the namespace,
# which the kernel drops unless told to accept it.
for conf in all sbja sbjb; do
  ip netns exec "$janus_ns" sysctl -qw "net.ipv4.conf.$conf.accept_local=1" \
    "net.ipv4.conf.$conf.rp_filter=0"
done

mkdir -p "$janus_conf"
cp /etc/janus/janus.jcfg /etc/janus/janus.plugin.videoroom.jcfg \
  /etc/janus/janus.transport.websockets.jcfg "$janus_conf/"
# Only the videoroom plugin and the WebSocket transport, bound to 127.0.0.1; no event handlers
# or loggers.
python3 - "$janus_conf" <<'PY'
import re, sys
d = sys.argv[1]
p = d + "/janus.jcfg"
s = open(p).read()
s = s.replace('#disable = "libjanus_voicemail.so,libjanus_recordplay.so"',
              'disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,'
              'libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,'
              'libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,'
              'libjanus_voicemail.so"')
s = s.replace('#disable = "libjanus_rabbitmq.so"',
              'disable = "libjanus_http.so,libjanus_mqtt.so,libjanus_nanomsg.so,'
              'libjanus_pfunix.so,libjanus_rabbitmq.so"')
s = s.replace('#disable = "libjanus_jsonlog.so"', 'disable = "libjanus_jsonlog.so"')
open(p, "w").write(s)
p = d + "/janus.transport.websockets.jcfg"
s = open(p).read()
s = s.replace('#ws_ip = "192.168.0.1"', 'ws_ip = "127.0.0.1"')
open(p, "w").write(s)
PY

janus_start() {
  ip netns exec "$janus_ns" taskset -c "$server_cpu" "$janus_bin" -C "$janus_conf/janus.jcfg" \
    -F "$janus_conf" -I -E sbja -d ${JANUS_DEBUG:-3} ${JANUS_EXTRA:-} -N -L "$work/janus.log" >"$work/janus.out" 2>&1 &
  janus_pid=$!
  for i in $(seq 1 100); do
    kill -0 "$janus_pid" 2>/dev/null || break
    if ip netns exec "$janus_ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$janus_port" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "janus did not start:" >&2
  tail -30 "$work/janus.log" >&2
  exit 1
}

janus_stop() {
  if [ -n "$janus_pid" ]; then
    kill "$janus_pid" 2>/dev/null || true
    wait "$janus_pid" 2>/dev/null || true
    janus_pid=""
  fi
}

# janus_run_load REPORT ROOMS DURATION: the generator inside the namespace, speaking Janus's API.
janus_run_load() {
  local report=$1 n=$2 d=$3
  ip netns exec "$janus_ns" taskset -c "$load_cpu" "$load_bin" --rooms="$n" --participants=10 \
    --video-kbps=1000 --fps=30 --keyframe-interval=5 --duration="$d" --ramp-up=20 \
    --setup-timeout=30 --poll-us=100 --report="$report" \
    --janus="ws://127.0.0.1:$janus_port/" --bind=192.0.2.2 --watch-pid="$janus_pid" >"$work/janus-load.log" 2>&1
}
