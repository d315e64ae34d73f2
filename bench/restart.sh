#!/usr/bin/env bash
# Benchmark: how long the proxy is unavailable while `rhone serve` restarts, and whether apps keep
# their pids (re-adopted) — next to the old behaviour (--stop-apps) as the baseline. Prints numbers.
# usage: bench/restart.sh <path-to-rhone> [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 bench/restart.py "${1:?path to the rhone binary}" "${2:-3}"
