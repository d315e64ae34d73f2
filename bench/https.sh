#!/usr/bin/env bash
# Benchmark: HTTPS through Rhone's TLS listener next to nginx terminating TLS, in one run, on one
# machine, in front of one tiny upstream (an nginx answering "hello", deployed through Rhone as an
# app, as in bench/proxy.sh), plus that upstream over plain HTTP as the baseline. Rhone's
# certificate comes the real way: a custom domain verified against Debian's pebble-challtestsrv
# (DNS) and issued by Debian's pebble (ACME, http-01 on Rhone's proxy port). Rhone keeps its key
# sealed, so nginx gets its own certificate for the same domain from the same pebble (certbot,
# dns-01 through challtestsrv, ECDSA P-256 like Rhone's): same key type, same chain (leaf +
# pebble's intermediate). Should certbot fail, nginx falls back to a self-made ECDSA P-256 chain of
# the same length, and says so. Both offer TLS 1.2 and 1.3 with their default groups and ciphers;
# wrk negotiates TLS 1.3 with no ALPN (so HTTP/1.1), sends the domain as SNI and Host, and does not
# verify certificates. wrk -t1: keep-alive at 64 and 512 connections; then handshakes at 64
# connections sending `Connection: close`, so each request is a new connection and a new TLS
# handshake: full ones (wrk would resume its TLS session on each reconnect, so a 15-line shim
# preloaded into wrk drops it) and resumed ones (wrk as is); a 1 s run against nginx, which logs
# $ssl_session_reused, shows which is which. Rounds are interleaved and each figure is the median
# of the rounds. Prints req/s (handshakes/s), p99 and Rhone's ratios to nginx; asserts nothing.
# usage: bench/https.sh <path-to-rhone> [seconds per run] [rounds]
set -euo pipefail
BIN=${1:?path to the rhone binary}
SECS=${2:-10}
ROUNDS=${3:-3}
DOMAIN=bench.example.test
cd "$(dirname "$0")/.."
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
{ command -v pebble && command -v pebble-challtestsrv; } >/dev/null || missing+=(pebble)
command -v certbot >/dev/null || missing+=(certbot)
command -v openssl >/dev/null || missing+=(openssl)
command -v cc >/dev/null || missing+=(gcc libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
ports() {
  python3 -c 'import socket, sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"
}

# The CA of pebble's own HTTPS (Rhone and certbot trust it for the ACME API), made before Rhone
# starts since Rhone reads RHONE_ACME_CA_FILE at start.
PKI=$(mktemp -d)
trap 'rm -rf "$PKI"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -days 2 -subj "/CN=pebble bench CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$PKI/key.pem" -out "$PKI/req.csr" -subj /CN=localhost 2>/dev/null
echo 'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$PKI/ext.cnf"
openssl x509 -req -in "$PKI/req.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -out "$PKI/cert.pem" \
  -days 2 -extfile "$PKI/ext.cnf" 2>/dev/null
read -r DNS ACME HTTPS <<<"$(ports 3)"
# start-rhone.sh's `rhone serve` inherits these
export RHONE_DNS_RESOLVERS=127.0.0.1:$DNS RHONE_PUBLIC_IPS=127.0.0.1 RHONE_HTTPS_ADDR=127.0.0.1:$HTTPS \
  RHONE_ACME_DIRECTORY=https://127.0.0.1:$ACME/dir RHONE_ACME_EMAIL=bench@example.com RHONE_ACME_CA_FILE=$PKI/ca.pem
source bench/start-rhone.sh
PEERS=()
trap 'kill ${PEERS[@]+"${PEERS[@]}"} $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP" "$PKI"' EXIT
read -r DNS_MGMT ACME_MGMT NGINX <<<"$(ports 3)"

# challtestsrv: the DNS server Rhone and pebble ask (only the names set below), no challenge servers.
pebble-challtestsrv -dns01 "127.0.0.1:$DNS" -management "127.0.0.1:$DNS_MGMT" -http01 "" -https01 "" -tlsalpn01 "" \
  -defaultIPv4 "" -defaultIPv6 "" >"$TMP/challtestsrv.log" 2>&1 &
PEERS+=($!)
for _ in $(seq 100); do curl -sf -X POST "http://127.0.0.1:$DNS_MGMT/clear-txt" -d '{"host":"ready.test."}' >/dev/null && break; sleep 0.1; done
curl -sf -X POST "http://127.0.0.1:$DNS_MGMT/add-a" -d "{\"host\":\"$DOMAIN.\",\"addresses\":[\"127.0.0.1\"]}" >/dev/null
# pebble: validates http-01 on Rhone's proxy port (tls-alpn-01 on its HTTPS port), no random
# sleeps before validations, no random bad nonces.
cat >"$PKI/pebble.json" <<EOF
{"pebble": {"listenAddress": "127.0.0.1:$ACME", "managementListenAddress": "127.0.0.1:$ACME_MGMT",
  "certificate": "$PKI/cert.pem", "privateKey": "$PKI/key.pem", "httpPort": $PROXY, "tlsPort": $HTTPS,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$PKI/pebble.json" -dnsserver "127.0.0.1:$DNS" >"$TMP/pebble.log" 2>&1 &
PEERS+=($!)
for _ in $(seq 100); do curl -sf --cacert "$PKI/ca.pem" "https://127.0.0.1:$ACME/dir" >/dev/null && break; sleep 0.1; done

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

# The custom domain: added, verified by its A record (this machine), then its certificate comes
# by itself.
api -X POST "http://127.0.0.1:$API/api/v1/apps/bench/domains" -d "{\"domain\":\"$DOMAIN\"}" >/dev/null
api -X POST "http://127.0.0.1:$API/api/v1/apps/bench/domains/$DOMAIN/verify" -d '{}' >/dev/null
cert=none
for _ in $(seq 300); do
  shown=$(api "http://127.0.0.1:$API/api/v1/apps/bench/domains/$DOMAIN" || true)
  cert=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1] or "{}").get("certificate"))' "$shown")
  [ "$cert" = issued ] || [ "$cert" = failed ] && break
  sleep 0.2
done
[ "$cert" = issued ] || { echo "no certificate for $DOMAIN: $shown"; echo "Rhone's log:"; cat "$TMP/rhone.log"; echo "pebble's log:"; tail -20 "$TMP/pebble.log"; exit 1; }

# nginx's certificate: the same domain from the same pebble, dns-01 through challtestsrv.
cat >"$PKI/dns-hook.sh" <<EOF
#!/bin/sh
curl -sf -X POST http://127.0.0.1:$DNS_MGMT/set-txt -d "{\"host\":\"_acme-challenge.\$CERTBOT_DOMAIN.\",\"value\":\"\$CERTBOT_VALIDATION\"}"
EOF
chmod +x "$PKI/dns-hook.sh"
mkdir -p "$TMP/nginx/tmp"
if REQUESTS_CA_BUNDLE=$PKI/ca.pem certbot certonly --non-interactive --agree-tos --register-unsafely-without-email \
  --server "https://127.0.0.1:$ACME/dir" --config-dir "$PKI/certbot" --work-dir "$PKI/certbot/work" --logs-dir "$PKI/certbot/logs" \
  --manual --preferred-challenges dns --manual-auth-hook "$PKI/dns-hook.sh" \
  --key-type ecdsa --elliptic-curve secp256r1 --cert-name bench -d "$DOMAIN" >"$TMP/certbot.log" 2>&1; then
  NGINX_CERT="$PKI/certbot/live/bench/fullchain.pem" NGINX_KEY="$PKI/certbot/live/bench/privkey.pem"
  NGINX_FROM="pebble via certbot"
else
  echo "certbot failed (its output: below); nginx gets a self-made ECDSA P-256 chain instead"; tail -20 "$TMP/certbot.log"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/self-ca.key" -out "$PKI/self-ca.pem" \
    -days 2 -subj "/CN=bench intermediate" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/self.key" -out "$PKI/self.csr" -subj "/CN=$DOMAIN" 2>/dev/null
  echo "subjectAltName=DNS:$DOMAIN" >"$PKI/self.cnf"
  openssl x509 -req -in "$PKI/self.csr" -CA "$PKI/self-ca.pem" -CAkey "$PKI/self-ca.key" -CAcreateserial -out "$PKI/self.pem" \
    -days 2 -extfile "$PKI/self.cnf" 2>/dev/null
  cat "$PKI/self.pem" "$PKI/self-ca.pem" >"$PKI/self-chain.pem"
  NGINX_CERT="$PKI/self-chain.pem" NGINX_KEY="$PKI/self.key" NGINX_FROM="self-made"
fi

# nginx terminating TLS: as many workers as cores (like Rhone's runtime), pooled keep-alive
# upstream connections, the same X-Forwarded-* headers Rhone sets; TLS settings at their defaults
# but the protocols, which match Rhone's (rustls: TLS 1.2 and 1.3). $ssl_session_reused is logged
# to show which handshakes the handshake runs resume.
cat > "$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 8192; }
http {
  log_format reused \$ssl_session_reused;
  access_log off;
  client_body_temp_path $TMP/nginx/tmp/body; proxy_temp_path $TMP/nginx/tmp/proxy; fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi; scgi_temp_path $TMP/nginx/tmp/scgi;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:$UPSTREAM; keepalive 1024; }
  server {
    listen 127.0.0.1:$NGINX ssl http2;
    server_name $DOMAIN;
    ssl_certificate $NGINX_CERT;
    ssl_certificate_key $NGINX_KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /reused { access_log $TMP/nginx/reused.log reused; proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
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
for _ in $(seq 100); do
  [ "$(curl -sk --resolve "$DOMAIN:$NGINX:127.0.0.1" "https://$DOMAIN:$NGINX/")" = hello ] && break; sleep 0.1
done
for port in $HTTPS $NGINX; do
  [ "$(curl -sk --resolve "$DOMAIN:$port:127.0.0.1" "https://$DOMAIN:$port/")" = hello ] \
    || { echo "https://$DOMAIN:$port/ does not answer hello"; cat "$TMP/rhone.log" "$TMP/nginx.log"; exit 1; }
done

# wrk connects to 127.0.0.1 while the URL's host (the SNI name and the Host header) stays the domain.
cat >"$PKI/connect.lua" <<'LUA'
function wrk.resolve(host, service) wrk.addrs = wrk.lookup("127.0.0.1", service) end
LUA
# wrk reuses a connection's SSL object after SSL_clear, which keeps the TLS session: every
# reconnect resumes it. Preloaded into wrk, this drops the session there, so each reconnect is a
# full handshake (certificate, signature, key exchange).
cat >"$PKI/noresume.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
int SSL_clear(void *ssl) {
  static int (*clear)(void *);
  static int (*set_session)(void *, void *);
  if (!clear) {
    clear = (int (*)(void *)) dlsym(RTLD_NEXT, "SSL_clear");
    set_session = (int (*)(void *, void *)) dlsym(RTLD_NEXT, "SSL_set_session");
  }
  int r = clear(ssl);
  set_session(ssl, 0);
  return r;
}
C
cc -shared -fPIC -O2 -o "$PKI/noresume.so" "$PKI/noresume.c" -ldl

# "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519, 2 certificates, leaf id-ecPublicKey prime256v1"
tls_info() {
  local out
  out=$(openssl s_client -connect "127.0.0.1:$1" -servername "$DOMAIN" -showcerts </dev/null 2>/dev/null)
  printf '%s, %s certificates, leaf %s\n' \
    "$(awk '/^New, / { sub(/,$/, "", $2); p = $2 " " $5 } /^Server Temp Key:/ { sub(/,$/, "", $4); k = $4 } END { print p, k }' <<<"$out")" \
    "$(grep -c '^ *[0-9]* s:' <<<"$out")" \
    "$(openssl x509 -noout -text <<<"$out" | awk '/Public Key Algorithm:/ { a = $4 } /ASN1 OID:/ { o = $3 } END { print a, o }')"
}

# One wrk run → "req/s p99_ms". $1: a mode (ka64, ka512: keep-alive; full, resumed: a new
# connection per request), $2: a target.
run() {
  local conns=64 preload=() url
  case $2 in
    direct) url="http://127.0.0.1:$UPSTREAM/" ;;
    nginx-tls) url="https://$DOMAIN:$NGINX/" ;;
    rhone-tls) url="https://$DOMAIN:$HTTPS/" ;;
  esac
  local args=(-s "$PKI/connect.lua")
  case $1 in
    ka*) conns=${1#ka} ;;
    full) args+=(-H 'Connection: close'); preload=(env "LD_PRELOAD=$PKI/noresume.so") ;;
    resumed) args+=(-H 'Connection: close') ;;
  esac
  ${preload[@]+"${preload[@]}"} wrk -t1 -c"$conns" -d"${SECS}s" --latency "${args[@]}" "$url" | awk '
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                  p99 = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }
    END { printf "%.0f %.3f\n", rps, p99 }'
}
# Handshakes nginx saw in 1 s of wrk with Connection: close (with $1 preloaded), and how many
# of them resumed a session.
handshakes() {
  : >"$TMP/nginx/reused.log"
  ${1:+env "LD_PRELOAD=$1"} wrk -t1 -c64 -d1s -H 'Connection: close' -s "$PKI/connect.lua" "https://$DOMAIN:$NGINX/reused" >/dev/null
  echo "$(grep -c . "$TMP/nginx/reused.log" || true) handshakes, $(grep -c r "$TMP/nginx/reused.log" || true) resumed"
}

echo "upstream: nginx (1 worker) on 127.0.0.1:$UPSTREAM; $(nproc) cores; wrk -t1 -d${SECS}s; median of $ROUNDS rounds"
echo "rhone: $(tls_info "$HTTPS") (pebble, http-01)"
echo "nginx: $(tls_info "$NGINX") ($NGINX_FROM)"
echo "1 s check on nginx: full-handshake runs: $(handshakes "$PKI/noresume.so"); resumed runs: $(handshakes)"
MODES=(ka64 ka512 full resumed)
declare -A TARGETS=([ka64]="direct nginx-tls rhone-tls" [ka512]="direct nginx-tls rhone-tls" [full]="direct nginx-tls rhone-tls" [resumed]="nginx-tls rhone-tls")
declare -A LABEL=([ka64]="keep-alive 64" [ka512]="keep-alive 512" [full]="full handshake 64" [resumed]="resumed 64")
declare -A RESULTS RPS P99
for mode in "${MODES[@]}"; do
  for round in $(seq "$ROUNDS"); do
    for target in ${TARGETS[$mode]}; do
      RESULTS[$target-$mode]+="$(run "$mode" "$target");"
    done
  done
done

printf '%-10s %-18s %12s %10s\n' target mode req/s p99_ms
for mode in "${MODES[@]}"; do
  for target in ${TARGETS[$mode]}; do
    read -r rps p99 <<<"$(python3 -c 'import statistics,sys
runs=[r.split() for r in sys.argv[1].split(";") if r]
print(statistics.median(float(r[0]) for r in runs), statistics.median(float(r[1]) for r in runs))' "${RESULTS[$target-$mode]}")"
    RPS[$target-$mode]=$rps; P99[$target-$mode]=$p99
    label=${LABEL[$mode]}
    [ "$target" = direct ] && [ "$mode" = full ] && label="new TCP conn 64"
    printf '%-10s %-18s %12.0f %10.3f\n' "$target" "$label" "$rps" "$p99"
  done
done
echo "(full handshake / resumed: Connection: close, each request a new connection and TLS handshake, so req/s = handshakes/s; p99 counts from the request's first byte, after the handshake)"
for mode in "${MODES[@]}"; do
  python3 -c 'import sys
r, rp, b, bp, label, mode = sys.argv[1:]
what = "req/s" if mode.startswith("ka") else "handshakes/s"
print(f"rhone/nginx, {label}: {what} {float(r)/float(b):.2f}x, p99 {float(rp)/float(bp):.2f}x (target: {what} >= 1.00x, p99 <= 1.00x)")' \
    "${RPS[rhone-tls-$mode]}" "${P99[rhone-tls-$mode]}" "${RPS[nginx-tls-$mode]}" "${P99[nginx-tls-$mode]}" "${LABEL[$mode]}" "$mode"
done
echo "rhone RSS after the load: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$PID/status)"
