# Sourced by the benchmarks: starts `rhone serve` ($BIN) on two free loopback ports with a fresh data
# dir in $TMP, stops it and removes $TMP on exit, and waits until it answers. Sets API, PROXY, PID.
TMP=$(mktemp -d)
chmod 711 "$TMP" # app users must reach their own directories under $TMP/data-apps
read -r API PROXY <<<"$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')"
# the benchmarks' apps are processes unless a script says otherwise (bench/zero_downtime runs both)
RHONE_DEFAULT_RUNTIME=${RHONE_DEFAULT_RUNTIME:-process} RHONE_DATA_DIR=$TMP/data RHONE_STOP_APPS=true RHONE_ADDR=127.0.0.1:$API RHONE_PROXY_ADDR=127.0.0.1:$PROXY \
  RHONE_ADMIN_EMAIL=bench@example.com RHONE_ADMIN_PASSWORD=bench-password-1 RHONE_DRAIN_TIMEOUT_SECS=5 \
  RUST_LOG=warn "$BIN" serve >"$TMP/rhone.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$API/healthz" >/dev/null && break; sleep 0.1; done
