#!/usr/bin/env bash
# Benchmark: server-side rendering time of the apps list and of an app page with 100 apps (p50/p95
# over 200 sequential requests each), next to /healthz on the same server as the baseline (the cost
# of a request that renders nothing). Prints numbers; asserts nothing.
# usage: bench/ssr.sh <path-to-rhone> [apps] [requests]
set -euo pipefail
BIN=${1:?path to the rhone binary}
cd "$(dirname "$0")/.."
source bench/start-rhone.sh
python3 bench/ssr.py --api "http://127.0.0.1:$API" --apps "${2:-100}" --requests "${3:-200}"
