# Sourced by bench/capacity for vs-janus, after bench/netns_env.sh: runs Debian's Janus
# (videoroom plugin, WebSocket transport) in the server namespace on $srv_ip, gathering on the
# veth only (libnice will not gather on loopback, TESTING.md), and the load generator in the
# generator namespace, with the configuration in bench/janus/ (ICE-lite as switchboard, so the
# same controlling client works against both; one event loop on its one core). Expects $root,
# $work, $server_cpu, $load_cpu, $load_bin and the netns_env.sh variables.

janus_bin=${JANUS_BIN:-$(command -v janus || true)}
if [ -z "$janus_bin" ]; then
  echo "vs-janus needs Debian's janus package (scripts/setup.sh installs it)" >&2
  exit 2
fi
janus_pid=""
extra_cleanup="janus_stop${extra_cleanup:+; $extra_cleanup}"
# The configuration is checked in (bench/janus/, each setting explained there): event_loops = 1
# on its one core, warnings-only logging, ICE-lite on the server namespace's veth, the
# WebSocket API on its address, only the videoroom plugin. Its addresses are netns_env.sh's.
janus_conf="$root/bench/janus"
janus_port=8188
if [ "$srv_ip" != 192.0.2.1 ] || ! grep -q "ws_ip = \"$srv_ip\"" \
    "$janus_conf/janus.transport.websockets.jcfg"; then
  echo "bench/janus/*.jcfg expect the server namespace at 192.0.2.1 (netns_env.sh)" >&2
  exit 2
fi

janus_start() {
  "${in_srv[@]}" taskset -c "$server_cpu" "$janus_bin" -C "$janus_conf/janus.jcfg" \
    -F "$janus_conf" ${JANUS_DEBUG:+-d $JANUS_DEBUG} ${JANUS_EXTRA:-} -N -L "$work/janus.log" \
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
