#!/usr/bin/env bash
# Benchmark: resident memory of `rhone serve` after start, after one login, after a login and a
# deploy, and with 100 live apps (half Python processes on the process runtime, half static sites
# served by Rhone itself). Prints numbers; asserts nothing.
# usage: bench/memory.sh <path-to-rhone> [apps] [process-apps]
set -euo pipefail
BIN=${1:?path to the rhone binary}
APPS=${2:-100}
PROCESS_APPS=${3:-$((APPS / 2))}
cd "$(dirname "$0")/.."
export RHONE_DEFAULT_RUNTIME=${RHONE_DEFAULT_RUNTIME:-process}
source bench/start-rhone.sh
python3 bench/memory.py --api "http://127.0.0.1:$API" --proxy-port "$PROXY" --pid "$PID" --work "$TMP" --apps "$APPS" --process-apps "$PROCESS_APPS"
