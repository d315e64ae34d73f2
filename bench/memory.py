"""Memory benchmark driver (see memory.sh): RSS of `rhone serve` after start, after one login, after a
deploy, and with 100 live apps. Standard library only; prints numbers, asserts nothing."""
import argparse, os, subprocess, time, urllib.error, urllib.request

import api

p = argparse.ArgumentParser()
p.add_argument("--api"); p.add_argument("--proxy-port", type=int); p.add_argument("--pid", type=int)
p.add_argument("--work"); p.add_argument("--apps", type=int, default=100)
p.add_argument("--process-apps", type=int, default=50, help="how many of the apps are processes (the rest static)")
a = p.parse_args()

SETTLE = 3  # seconds to let background work finish before reading memory


def call(method, path, body=None, token=None):
    return api.call(a.api, method, path, body, token)


def via_proxy(slug):
    req = urllib.request.Request(f"http://127.0.0.1:{a.proxy_port}/", headers={"Host": f"{slug}.localhost"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None


def memory(pid):
    """(VmRSS, RssAnon, RssFile) in KiB from /proc/<pid>/status."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile"):
                fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields.get("RssAnon", 0), fields.get("RssFile", 0)


rows = []


def record(label):
    time.sleep(SETTLE)
    rss, anon, file = memory(a.pid)
    rows.append((label, rss, anon, file))


APP = """import os
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"VERSION"
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *x): pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def make_repo(name, files):
    repo = os.path.join(a.work, "repo-" + name)
    os.makedirs(repo)
    for rel, text in files.items():
        open(os.path.join(repo, rel), "w").write(text)
    git = lambda *args: subprocess.run(["git", "-c", "user.email=b@x", "-c", "user.name=b", *args], cwd=repo, check=True, capture_output=True)
    git("init", "-q", "-b", "main"); git("add", "-A"); git("commit", "-q", "-m", name)
    return repo


def deploy(token, slug, repo, expect):
    call("POST", "/apps", {"name": slug, "repo_url": repo}, token)
    call("POST", f"/apps/{slug}/deployments", {}, token)
    return slug, expect


def wait_serving(pending):
    t0 = time.monotonic()
    for slug, expect in pending:
        while via_proxy(slug) != expect:
            if time.monotonic() - t0 > 600:
                raise SystemExit(f"{slug} never served")
            time.sleep(0.05)


record("after start (no login yet)")
token = call("POST", "/auth/token", {"email": "bench@example.com", "password": "bench-password-1"})["token"]
record("after one login")
# one process app (a Python HTTP server) deployed and live
wait_serving([deploy(token, "mem-python", make_repo("python", {"requirements.txt": "", "app.py": APP.replace("VERSION", "py")}), "py")])
record("after a login and a deploy")
# the rest: Python processes (a Procfile, no build step) and static sites (served by Rhone itself)
procs = max(0, min(a.process_apps, a.apps) - 1)
proc_repo = make_repo("procfile", {"Procfile": "web: python3 app.py", "app.py": APP.replace("VERSION", "proc")})
static = make_repo("static", {"index.html": "static"})
pending = [deploy(token, f"mem-proc-{i}", proc_repo, "proc") for i in range(procs)]
pending += [deploy(token, f"mem-static-{i}", static, "static") for i in range(a.apps - 1 - procs)]
wait_serving(pending)
record(f"with {a.apps} live apps ({procs + 1} processes)")

print("rhone serve memory (MiB)           RSS    anon    file")
for label, rss, anon, file in rows:
    print(f"{label:34s} {rss/1024:6.1f}  {anon/1024:6.1f}  {file/1024:6.1f}")
