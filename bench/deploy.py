"""Deploy-overhead and idle-RSS benchmark driver (see deploy.sh). Standard library only."""
import argparse, json, os, statistics, subprocess, time, urllib.request, urllib.error

import api

p = argparse.ArgumentParser()
p.add_argument("--api"); p.add_argument("--proxy-port", type=int); p.add_argument("--pid", type=int)
p.add_argument("--work"); p.add_argument("--rounds", type=int, default=5)
a = p.parse_args()


def call(method, path, body=None, token=None):
    return api.call(a.api, method, path, body, token)


def via_proxy(slug):
    req = urllib.request.Request(f"http://127.0.0.1:{a.proxy_port}/", headers={"Host": f"{slug}.localhost"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


time.sleep(2)  # rhone answers already (start-rhone.sh waited); let start-up settle before reading RSS
idle = rss_kib(a.pid)
token = call("POST", "/auth/token", {"email": "bench@example.com", "password": "bench-password-1"})["token"]

APP = """import os
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"VERSION"
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *x): pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""
results = {}
for kind in ["static", "python"]:
    repo = os.path.join(a.work, "repo-" + kind)
    os.makedirs(repo)
    git = lambda *args: subprocess.run(["git", "-c", "user.email=b@x", "-c", "user.name=b", *args], cwd=repo, check=True, capture_output=True)
    git("init", "-q", "-b", "main")
    call("POST", "/apps", {"name": "bench-" + kind, "repo_url": repo}, token)
    overheads, totals = [], []
    for i in range(a.rounds):
        version = f"{kind}-v{i}"
        if kind == "static":
            open(os.path.join(repo, "index.html"), "w").write(version)
        else:
            open(os.path.join(repo, "requirements.txt"), "w").write("")
            open(os.path.join(repo, "app.py"), "w").write(APP.replace("VERSION", version))
        git("add", "-A"); git("commit", "-q", "-m", version)
        t0 = time.monotonic()
        dep = call("POST", f"/apps/bench-{kind}/deployments", {}, token)
        while via_proxy("bench-" + kind) != version:
            time.sleep(0.01)
            if time.monotonic() - t0 > 120:
                raise SystemExit(f"{version} never served")
        total = time.monotonic() - t0
        d = call("GET", f"/deployments/{dep['id']}", None, token)
        build = (d.get("build_ms") or 0) / 1000
        totals.append(total); overheads.append(total - build)
    results[kind] = (totals, overheads)

# baseline in the same script: the same Python app started by hand, until it answers
import socket
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port
base_starts = []
app_py = os.path.join(a.work, "baseline.py")
open(app_py, "w").write(APP.replace("VERSION", "baseline"))
for _ in range(a.rounds):
    port = free_port()
    t0 = time.monotonic()
    proc = subprocess.Popen(["python3", app_py], env={**os.environ, "PORT": str(port)})
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read(); break
        except Exception:
            time.sleep(0.01)
    base_starts.append(time.monotonic() - t0)
    proc.terminate(); proc.wait()

busy = rss_kib(a.pid)
print(f"rhone idle RSS (no apps):            {idle/1024:.1f} MiB")
print(f"rhone RSS after {2*a.rounds} deploys (2 apps live): {busy/1024:.1f} MiB")
for kind, (totals, overheads) in results.items():
    print(f"{kind:7s} deploy: requested→serving median {statistics.median(totals)*1000:.0f} ms, "
          f"overhead (minus build) median {statistics.median(overheads)*1000:.0f} ms, "
          f"min {min(overheads)*1000:.0f} ms, max {max(overheads)*1000:.0f} ms over {a.rounds} rounds")
print(f"baseline: the same python app started directly answers after median {statistics.median(base_starts)*1000:.0f} ms")
