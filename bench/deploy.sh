#!/usr/bin/env bash
# Benchmark: deploy overhead (deploy requested → new version serving through the proxy, minus the
# build time Rhone measured) and the idle RSS of `rhone serve`. Prints numbers; asserts nothing.
# usage: bench/deploy.sh <path-to-rhone> [rounds]
set -euo pipefail
BIN=${1:?path to the rhone binary}
ROUNDS=${2:-5}
cd "$(dirname "$0")/.."
source bench/start-rhone.sh
python3 bench/deploy.py --api "http://127.0.0.1:$API" --proxy-port "$PROXY" --pid "$PID" --work "$TMP" --rounds "$ROUNDS"
