#!/usr/bin/env bash
# Benchmark: deploy overhead (deploy requested → new version serving through the proxy, minus the
# build time Rhone measured) and the idle RSS of `rhone serve`. Prints numbers; asserts nothing.
# usage: bench/deploy.sh <path-to-rhone> [rounds]
set -euo pipefail
BIN=${1:?path to the rhone binary}
ROUNDS=${2:-5}
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
PORTS=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r API PROXY <<<"$PORTS"
RHONE_DATA_DIR=$TMP/data RHONE_ADDR=127.0.0.1:$API RHONE_PROXY_ADDR=127.0.0.1:$PROXY \
  RHONE_ADMIN_EMAIL=bench@example.com RHONE_ADMIN_PASSWORD=bench-password-1 RHONE_DRAIN_TIMEOUT_SECS=5 \
  RUST_LOG=warn "$BIN" serve >"$TMP/rhone.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
python3 bench/deploy.py --api "http://127.0.0.1:$API" --proxy-port "$PROXY" --pid "$PID" --work "$TMP" --rounds "$ROUNDS"
