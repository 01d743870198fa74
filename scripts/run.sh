#!/usr/bin/env bash
# Sets up, builds and runs the server: http://127.0.0.1:8080/ with embedded defaults.
# Flags are passed to switchboard (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/signaling/switchboard "$@"
