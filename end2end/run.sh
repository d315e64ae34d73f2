#!/usr/bin/env bash
# Browser tests against a fresh Rhone: free loopback ports, a temporary data directory, and a local Git
# repository holding a tiny dependency-free Python app. Run from anywhere after `cargo leptos build`:
#   bash end2end/run.sh <path-to-rhone-binary> [playwright arguments, e.g. a spec file]
set -euo pipefail

BIN=$(realpath "${1:?usage: end2end/run.sh <path-to-rhone-binary>}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
chmod 711 "$TMP" # app users must reach their own directories under $TMP/data-apps
ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=e2e-secret-password
RHONE_PID=""
BILLED_PID=""
GITHUB_PID=""
DNS_PID=""
STRIPE_PID=""

cleanup() {
  local status=$?
  for pid in "$GITHUB_PID" "$DNS_PID" "$STRIPE_PID"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "$RHONE_PID" "$BILLED_PID"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ] && [ -f "$TMP/rhone.log" ]; then
    echo "---- rhone log ----"
    cat "$TMP/rhone.log"
    echo "---- github stand-in log ----"
    cat "$TMP/github.log" 2>/dev/null || true
    echo "---- billed rhone log (last 200 lines) ----"
    tail -n 200 "$TMP/rhone-billed.log" 2>/dev/null || true
    echo "---- stripe stand-in log ----"
    cat "$TMP/stripe.log" 2>/dev/null || true
  fi
  # Last, so that the tail of a failed run names what failed: the errors and Playwright's summary.
  if [ "$status" -ne 0 ] && [ -s "$TMP/playwright.out" ]; then
    echo "---- what failed ----"
    grep -E -m 12 -A 4 '^\s+(Error|TimeoutError):' "$TMP/playwright.out" | cut -c1-300 || true
    tail -n 12 "$TMP/playwright.out"
  fi
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT

read -r P1 P2 P3 P4 P5 P6 P7 P8 < <(python3 -c 'import socket
ss=[socket.socket() for _ in range(8)]
[s.bind(("127.0.0.1", 0)) for s in ss]
print(*[s.getsockname()[1] for s in ss]); [s.close() for s in ss]')

REPO="$TMP/repo"
mkdir -p "$REPO"
: > "$REPO/requirements.txt"
cat > "$REPO/app.py" <<'PY'
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from e2e\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("request: " + fmt % args, flush=True)


port = int(os.environ["PORT"])
print("e2e app starting", flush=True)
# A burst of output: the log viewers must keep up and keep only their last 5000 lines.
for i in range(8000):
    print(f"burst {i}")
print(f"e2e app listening on 127.0.0.1:{port}", flush=True)
HTTPServer(("127.0.0.1", port), Hello).serve_forever()
PY
git -C "$REPO" init -q -b main
git -C "$REPO" add -A
git -C "$REPO" -c user.email=e2e@example.com -c user.name=e2e commit -q -m "Say hello from e2e"

# A local GitHub (end2end/github_standin.py) holding the same app as the private repository
# octo-org/private of the App's installation 77, and the App's key.
mkdir -p "$TMP/github/octo-org"
git clone -q --bare "$REPO" "$TMP/github/octo-org/private.git"
openssl genrsa -traditional -out "$TMP/github-app.pem" 2048 2> /dev/null
python3 "$ROOT/end2end/github_standin.py" "$P3" "http://127.0.0.1:$P1" "$TMP/github" > "$TMP/github.log" 2>&1 &
GITHUB_PID=$!

# A DNS server for custom domains (Debian's pebble-challtestsrv): answers only what a test sets
# over its management port.
pebble-challtestsrv -dns01 "127.0.0.1:$P4" -management "127.0.0.1:$P5" -http01 "" -https01 "" -tlsalpn01 "" \
  -defaultIPv4 "" -defaultIPv6 "" > "$TMP/dns.log" 2>&1 &
DNS_PID=$!

cd "$ROOT"
# `serve <port> <proxy port> <data dir> <log>`: a Rhone of these tests in the background (the caller
# adds its own settings in front).
serve() {
  RHONE_DATA_DIR="$3" RHONE_STOP_APPS=true RHONE_ADDR="127.0.0.1:$1" RHONE_PROXY_ADDR="127.0.0.1:$2" \
    RHONE_BASE_DOMAIN=localhost RHONE_ADMIN_EMAIL="$ADMIN_EMAIL" RHONE_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    RHONE_DEFAULT_RUNTIME=process RHONE_ALLOW_LOCAL_REPOS=true LEPTOS_SITE_ROOT="$ROOT/target/site" \
    "$BIN" serve > "$4" 2>&1 &
}
RHONE_DNS_RESOLVERS="127.0.0.1:$P4" \
RHONE_PUBLIC_IPS=203.0.113.7 \
RHONE_GITHUB_APP_ID=4242 \
RHONE_GITHUB_APP_PRIVATE_KEY_FILE="$TMP/github-app.pem" \
RHONE_GITHUB_CLIENT_ID=Iv1.e2e \
RHONE_GITHUB_CLIENT_SECRET=e2e-client-secret \
RHONE_GITHUB_API_URL="http://127.0.0.1:$P3" \
RHONE_GITHUB_WEB_URL="http://127.0.0.1:$P3" \
  serve "$P1" "$P2" "$TMP/data" "$TMP/rhone.log"
RHONE_PID=$!

# A second Rhone with billing on (billing.spec.ts), against a local Stripe (end2end/stripe_standin.py):
# its free plan allows one app, so a test can reach a limit without touching the other specs' Rhone.
python3 "$ROOT/end2end/stripe_standin.py" "$P8" "http://127.0.0.1:$P6" whsec_e2e "$ROOT/server/tests/fixtures/stripe/objects.json" > "$TMP/stripe.log" 2>&1 &
STRIPE_PID=$!
RHONE_STRIPE_SECRET_KEY=sk_test_rhone_e2e \
RHONE_STRIPE_WEBHOOK_SECRET=whsec_e2e \
RHONE_STRIPE_API_URL="http://127.0.0.1:$P8" \
RHONE_STRIPE_PRICES="starter=price_e2e_starter,pro=price_e2e_pro" \
RHONE_PLAN_LIMITS="free.apps=1" \
  serve "$P6" "$P7" "$TMP/data-billed" "$TMP/rhone-billed.log"
BILLED_PID=$!

BASE_URL="http://127.0.0.1:$P1"
BILLED_URL="http://127.0.0.1:$P6"
for url_pid in "$BASE_URL:$RHONE_PID" "$BILLED_URL:$BILLED_PID"; do
  url=${url_pid%:*} pid=${url_pid##*:}
  for _ in $(seq 1 150); do
    curl -fsS "$url/healthz" > /dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "rhone ($url) exited during startup"; exit 1; }
    sleep 0.2
  done
  curl -fsS "$url/healthz" > /dev/null || { echo "rhone ($url) did not answer /healthz"; exit 1; }
done

# A rhone binary built by plain `cargo build`/`cargo test` (not `cargo leptos build`) asks browsers for
# `<name>_bg.wasm`, which cargo-leptos does not produce: every page would stay dead. Say so up front.
WASM=$(curl -fsS "$BASE_URL/login" | grep -o '("[^"]*", "[^"]*", "[^"]*", "[^"]*"' | awk -F'"' '{print $4 "/" $8 ".wasm"}' | head -n1)
if [ -z "$WASM" ] || [ ! -f "$ROOT/target/site/$WASM" ]; then
  echo "the dashboard asks for /${WASM:-<unknown>.wasm}, which is not in $ROOT/target/site:"
  echo "rebuild with 'cargo leptos build' (a plain cargo build of rhone links a differently configured leptos)"
  exit 1
fi

set +e
BASE_URL="$BASE_URL" BILLED_URL="$BILLED_URL" BILLED_PROXY_PORT="$P7" PROXY_PORT="$P2" DNS_MANAGEMENT_URL="http://127.0.0.1:$P5" GITHUB_URL="http://127.0.0.1:$P3" REPO_PATH="$REPO" ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  npx playwright test -c end2end/playwright.config.ts "${@:2}" 2>&1 | tee "$TMP/playwright.out"
status=${PIPESTATUS[0]}
set -e
if grep -qE '^\s+[0-9]+ flaky' "$TMP/playwright.out"; then
  echo "---- flaky: failed once, passed on retry (see the first attempt's error above) ----"
  grep -E -A 20 '^\s+[0-9]+ flaky' "$TMP/playwright.out" | grep -E '›' || true
fi
exit "$status"
