#!/usr/bin/env bash
# Benchmark: Rhone's proxy next to nginx and haproxy as reverse proxies, in one run, on one machine,
# against one tiny upstream (an nginx answering "hello", deployed through Rhone as an app so all
# three proxies and the direct run hit the same port). wrk -t1, keep-alive, at 64 and 512
# connections; rounds are interleaved and each figure is the median of the rounds. Prints req/s,
# p99 and Rhone's ratios to the faster peer; asserts nothing.
# usage: bench/proxy.sh <path-to-rhone> [seconds per run] [rounds]
set -euo pipefail
BIN=${1:?path to the rhone binary}
SECS=${2:-10}
ROUNDS=${3:-3}
cd "$(dirname "$0")/.."
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v haproxy >/dev/null || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
source bench/start-rhone.sh
PEERS=()
trap 'kill ${PEERS[@]+"${PEERS[@]}"} $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

# The upstream: nginx as an app (Procfile), one worker, access log off, keep-alive without limit.
mkdir -p "$TMP/repo" && cd "$TMP/repo"
echo 'web: sh upstream.sh' > Procfile
cat > upstream.sh <<'SH'
mkdir -p tmp
cat > nginx.conf <<EOF
worker_processes 1;
daemon off;
pid $PWD/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $PWD/tmp/body; proxy_temp_path $PWD/tmp/proxy; fastcgi_temp_path $PWD/tmp/fastcgi;
  uwsgi_temp_path $PWD/tmp/uwsgi; scgi_temp_path $PWD/tmp/scgi;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$PORT; location / { default_type text/plain; return 200 "hello"; } }
}
EOF
exec nginx -e stderr -p "$PWD" -c "$PWD/nginx.conf"
SH
git init -q -b main && git add -A && git -c user.email=b@x -c user.name=b commit -qm init
cd - >/dev/null
TOKEN=$(curl -sf -X POST "http://127.0.0.1:$API/api/v1/auth/token" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
api() { curl -sf -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
api -X POST "http://127.0.0.1:$API/api/v1/apps" -d "{\"name\":\"bench\",\"repo_url\":\"$TMP/repo\"}" >/dev/null
api -X POST "http://127.0.0.1:$API/api/v1/apps/bench/deployments" -d '{}' >/dev/null
for _ in $(seq 300); do [ "$(curl -s -H 'Host: bench.localhost' "http://127.0.0.1:$PROXY/")" = hello ] && break; sleep 0.1; done
UPSTREAM=$(python3 -c "import sqlite3; print(sqlite3.connect('$TMP/data/rhone.db').execute(\"select i.port from instances i join deployments d on d.id = i.deployment_id where d.status = 'live'\").fetchone()[0])" 2>/dev/null || true)
[ "$(curl -s "http://127.0.0.1:$UPSTREAM/")" = hello ] || { echo "the upstream did not come up; Rhone's log:"; cat "$TMP/rhone.log"; exit 1; }

read -r NGINX HAPROXY <<<"$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')"

# nginx as a reverse proxy: as many workers as cores (like Rhone's runtime), pooled keep-alive
# upstream connections, the same X-Forwarded-* headers Rhone sets.
mkdir -p "$TMP/nginx/tmp"
cat > "$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/tmp/body; proxy_temp_path $TMP/nginx/tmp/proxy; fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi; scgi_temp_path $TMP/nginx/tmp/scgi;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:$UPSTREAM; keepalive 1024; }
  server {
    listen 127.0.0.1:$NGINX;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
    }
  }
}
EOF
nginx -e stderr -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx.log" &
PEERS+=($!)

# haproxy: one thread per core by default, server-side keep-alive with connection reuse.
cat > "$TMP/haproxy.cfg" <<EOF
global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option forwardfor
  http-reuse always
frontend web
  bind 127.0.0.1:$HAPROXY
  default_backend app
backend app
  server app 127.0.0.1:$UPSTREAM
EOF
haproxy -f "$TMP/haproxy.cfg" 2>"$TMP/haproxy.log" &
PEERS+=($!)
for port in $NGINX $HAPROXY; do
  for _ in $(seq 100); do [ "$(curl -s -H 'Host: bench.localhost' "http://127.0.0.1:$port/")" = hello ] && break; sleep 0.1; done
done

# One wrk run → "req/s p99_ms".
run() {
  wrk -t1 -c"$2" -d"${SECS}s" --latency -H 'Host: bench.localhost' "http://127.0.0.1:$1/" | awk '
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                  p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }
    END { printf "%.0f %.3f\n", rps, p99 }'
}

echo "upstream: nginx (1 worker) on 127.0.0.1:$UPSTREAM; $(nproc) cores; wrk -t1 -d${SECS}s keep-alive; median of $ROUNDS rounds"
declare -A RESULTS
TARGETS=(direct:$UPSTREAM nginx:$NGINX haproxy:$HAPROXY rhone:$PROXY)
for conns in 64 512; do
  for round in $(seq "$ROUNDS"); do
    for target in "${TARGETS[@]}"; do
      RESULTS[${target%%:*}-$conns]+="$(run "${target##*:}" "$conns");"
    done
  done
done

printf '%-8s %6s %12s %10s\n' target conns req/s p99_ms
for conns in 64 512; do
  declare -A RPS P99
  for target in "${TARGETS[@]}"; do
    name=${target%%:*}
    read -r rps p99 <<<"$(python3 -c 'import statistics,sys
runs=[r.split() for r in sys.argv[1].split(";") if r]
print(statistics.median(float(r[0]) for r in runs), statistics.median(float(r[1]) for r in runs))' "${RESULTS[$name-$conns]}")"
    RPS[$name]=$rps; P99[$name]=$p99
    printf '%-8s %6s %12.0f %10.3f\n' "$name" "$conns" "$rps" "$p99"
  done
  best=nginx
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "${RPS[nginx]}" "${RPS[haproxy]}" || best=haproxy
  python3 -c 'import sys
r, rp, b, bp, name, conns = sys.argv[1:]
print(f"rhone/{name} at {conns} connections: req/s {float(r)/float(b):.2f}x, p99 {float(rp)/float(bp):.2f}x (target: req/s >= 1.00x, p99 <= 1.00x)")' \
    "${RPS[rhone]}" "${P99[rhone]}" "${RPS[$best]}" "${P99[$best]}" "$best" "$conns"
  unset RPS P99
done
echo "rhone RSS after the load: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$PID/status)"
