#!/usr/bin/env bash
# Benchmark: requests/s and latency of a tiny Node app, direct vs through Rhone's proxy (same run,
# same machine, wrk with keep-alive). Prints numbers; asserts nothing.
# usage: bench/proxy.sh <path-to-rhone> [seconds]
set -euo pipefail
BIN=${1:?path to the rhone binary}
SECS=${2:-10}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
source bench/start-rhone.sh
mkdir -p "$TMP/repo" && cd "$TMP/repo"
cat > package.json <<'JSON'
{"name":"bench","version":"1.0.0","scripts":{"start":"node server.js"}}
JSON
echo "require('http').createServer((q, s) => s.end('hello')).listen(+process.env.PORT, '127.0.0.1');" > server.js
git init -q -b main && git add -A && git -c user.email=b@x -c user.name=b commit -qm init
cd - >/dev/null
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$API/api/v1/auth/token" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
api() { curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
api -X POST "http://127.0.0.1:$API/api/v1/apps" -d "{\"name\":\"bench\",\"repo_url\":\"$TMP/repo\"}" >/dev/null
api -X POST "http://127.0.0.1:$API/api/v1/apps/bench/deployments" -d '{}' >/dev/null
for _ in $(seq 300); do [ "$(curl -s -H 'Host: bench.localhost' "http://127.0.0.1:$PROXY/")" = hello ] && break; sleep 0.1; done
UPSTREAM=$(python3 -c "import sqlite3; print(sqlite3.connect('$TMP/data/rhone.db').execute(\"select port from deployments where status='live'\").fetchone()[0])")
echo "== direct to the app (127.0.0.1:$UPSTREAM), ${SECS}s, 2 threads, 32 connections"
wrk -t2 -c32 -d"${SECS}s" --latency "http://127.0.0.1:$UPSTREAM/" | grep -E "Requests/sec|Latency|50%|99%"
echo "== through Rhone's proxy (Host: bench.localhost), same load"
wrk -t2 -c32 -d"${SECS}s" --latency -H 'Host: bench.localhost' "http://127.0.0.1:$PROXY/" | grep -E "Requests/sec|Latency|50%|99%"
echo "rhone RSS after the load: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$PID/status)"
