# Sourced by bench/capacity for vs-janus, after bench/netns_env.sh: runs Debian's Janus
# (videoroom plugin, WebSocket transport) in the server namespace on $srv_ip, gathering on the
# veth only (-E; libnice will not gather on loopback, TESTING.md), and the load generator in the
# generator namespace. Janus runs as ICE-lite (-I), as switchboard does, so the same
# controlling client works against both. Expects $work, $server_cpu, $load_cpu, $load_bin and
# the netns_env.sh variables.

janus_bin=${JANUS_BIN:-$(command -v janus || true)}
if [ -z "$janus_bin" ]; then
  echo "vs-janus needs Debian's janus package (scripts/setup.sh installs it)" >&2
  exit 2
fi
janus_pid=""
extra_cleanup="janus_stop${extra_cleanup:+; $extra_cleanup}"
janus_conf="$work/janus-conf"
janus_port=8188

mkdir -p "$janus_conf"
cp /etc/janus/janus.jcfg /etc/janus/janus.plugin.videoroom.jcfg \
  /etc/janus/janus.transport.websockets.jcfg "$janus_conf/"
# Only the videoroom plugin and the WebSocket transport, bound to the server namespace's veth
# address; no event handlers or loggers.
python3 - "$janus_conf" "$srv_ip" <<'PY'
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
s = s.replace('#ws_ip = "192.168.0.1"', 'ws_ip = "%s"' % sys.argv[2])
open(p, "w").write(s)
PY

janus_start() {
  "${in_srv[@]}" taskset -c "$server_cpu" "$janus_bin" -C "$janus_conf/janus.jcfg" \
    -F "$janus_conf" -I -E sbsrv -d ${JANUS_DEBUG:-3} ${JANUS_EXTRA:-} -N -L "$work/janus.log" \
    >"$work/janus.out" 2>&1 &
  janus_pid=$!
  if ! wait_tcp "$srv_ip" "$janus_port" "$janus_pid" "${in_srv[@]}"; then
    echo "janus did not start:" >&2
    tail -30 "$work/janus.log" >&2
    exit 1
  fi
}

janus_stop() {
  if [ -n "$janus_pid" ]; then
    kill "$janus_pid" 2>/dev/null || true
    wait "$janus_pid" 2>/dev/null || true
    janus_pid=""
  fi
}

# janus_run_load REPORT ROOMS DURATION: the generator in its namespace, speaking Janus's API.
janus_run_load() {
  local report=$1 n=$2 d=$3
  run_load "$report" "$n" "$d" --janus="ws://$srv_ip:$janus_port/" --watch-pid="$janus_pid" \
    >"$work/janus-load.log" 2>&1
}
