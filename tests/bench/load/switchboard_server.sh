# Sourced by the load generator's CTest scripts. start_switchboard BIN WORKDIR [FLAG ...] starts
# a real switchboard (and its worker) bound to 127.0.0.1 on a random port in 20000-29999,
# retrying when the port is taken, with FLAGs added; it sets server_pid and port, logs to
# WORKDIR/server.log and exits the script when the server does not come up. stop_switchboard
# ends it (the caller traps it on EXIT).
server_pid=""

stop_switchboard() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

start_switchboard() {
  local bin=$1 dir=$2
  shift 2
  for attempt in 1 2 3 4 5; do
    port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 10000 ))
    "$bin" --listen=127.0.0.1 --port="$port" --rtc-listen=127.0.0.1 --workers=1 \
      --log-level=warn "$@" >"$dir/server.log" 2>&1 &
    server_pid=$!
    for i in $(seq 1 50); do
      if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
      sleep 0.1
    done
    stop_switchboard
  done
  echo "switchboard did not start"
  cat "$dir/server.log"
  exit 1
}
