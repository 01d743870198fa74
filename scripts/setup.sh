#!/usr/bin/env bash
# Installs everything Switchboard needs to build, run and test, from Debian's packages and
# npm. Idempotent and quick when all is present. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries
  libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev libabsl-dev flatbuffers-compiler
  libflatbuffers-dev nlohmann-json3-dev libspdlog-dev libpcap-dev
  # join and admin tokens (JWT, HS256): signaling/auth.cc
  libjwt-dev
  # the HTTP/WebSocket port, plain or TLS, on our libuv loop: signaling/http (pulls in
  # libwebsockets-evlib-uv, the libuv event-loop plugin)
  libwebsockets-dev
  # tests, fuzzing, benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  # end-to-end tests: a real browser in a loopback-only network namespace
  chromium iproute2 util-linux
  # end-to-end tests: random packet loss on the server's media to a subscriber (tests/e2e/nack.test.mjs)
  nftables
  # end-to-end tests: the web app in Firefox too (tests/e2e/firefox.test.mjs, over WebDriver BiDi)
  firefox-esr
  # capturing test data (tests/data/chromium_call.pcap)
  tcpdump
  # bench/capacity vs-janus: Janus side by side, and the plot of latency and loss against load
  janus gnuplot-nox
  # bench/capacity churn: RSS after malloc_trim(0) in the server's processes (through gdb)
  gdb
  # end-to-end tests: a real TURN relay (turnserver), started by tests/e2e/turn.test.mjs
  coturn
  # clusters of nodes (issue 14): the room directory and node registry (signaling/directory)
  redis-server
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# Node.js: any installed node (Debian's nodejs + npm, or a repack that bundles npm) will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  # Debian's coturn enables and starts a system service (systemd; its SysV script needs
  # TURNSERVER_ENABLED=1) with /etc/turnserver.conf, listening on 3478 on every address. The
  # tests start their own turnserver: a system one would hold ports and relay for anyone.
  if [[ " ${missing[*]} " == *" coturn "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now coturn.service >/dev/null 2>&1 || true
  fi
  # Likewise redis-server: the tests start their own on a port of their choosing.
  if [[ " ${missing[*]} " == *" redis-server "* ]]; then
    if [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now redis-server.service >/dev/null 2>&1 || true
    else
      $SUDO service redis-server stop >/dev/null 2>&1 || true
    fi
  fi
fi

# npm packages for the end-to-end tests (playwright-core drives Debian's chromium; it never
# downloads a browser of its own).
if [ ! -d tests/e2e/node_modules/playwright-core ] ||
   [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
  echo "setup: npm install in tests/e2e"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: ok"
