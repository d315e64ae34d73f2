"""Restart benchmark: how long the proxy refuses or fails requests while `rhone serve` restarts, and
whether the app processes kept their pids (they should: Rhone re-adopts them). Baseline in the same
run: the same restart with `--stop-apps` (the old behaviour, apps stopped and started again).
Standard library only. usage: python3 bench/restart.py <path-to-rhone> [rounds]"""
import os, socket, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

import api

BIN, ROUNDS = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
APP = """import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        b = str(os.getpid()).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *x): pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def free_ports(n):
    ss = [socket.socket() for _ in range(n)]
    for s in ss:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in ss]
    for s in ss:
        s.close()
    return ports


class Rhone:
    def __init__(self, work, extra_args):
        self.work, self.extra = work, extra_args
        self.api, self.proxy = free_ports(2)
        self.proc = None

    def start(self):
        env = {"PATH": os.environ["PATH"], "RHONE_DATA_DIR": f"{self.work}/data", "RHONE_ADDR": f"127.0.0.1:{self.api}",
               "RHONE_PROXY_ADDR": f"127.0.0.1:{self.proxy}", "RHONE_ADMIN_EMAIL": "bench@example.com",
               "RHONE_ADMIN_PASSWORD": "bench-password-1", "RUST_LOG": "warn"}
        self.proc = subprocess.Popen([BIN, "serve", *self.extra], env=env, stdout=subprocess.DEVNULL,
                                     stderr=open(f"{self.work}/rhone.log", "a"))
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.api}/healthz", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.002)
        raise SystemExit("rhone did not start")

    def stop(self, sig):
        self.proc.send_signal(sig)
        self.proc.wait()

    def call(self, method, path, body=None, token=None):
        return api.call(f"http://127.0.0.1:{self.api}", method, path, body, token)

    def get(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.proxy}/", headers={"Host": "bench.localhost"})
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            return None, ""


def kill_under(d):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(d):
                os.kill(int(pid), 9)
        except OSError:
            pass


def probe(rhone, stop, out):
    """Requests every 5 ms; records (time, ok?) until told to stop."""
    while not stop.is_set():
        status, body = rhone.get()
        out.append((time.monotonic(), status == 200, body))
        time.sleep(0.005)


def measure(label, extra_args, sig):
    work = tempfile.mkdtemp()
    os.chmod(work, 0o711)
    repo = f"{work}/repo"
    os.makedirs(repo)
    open(f"{repo}/app.py", "w").write(APP)
    git = lambda *a: subprocess.run(["git", "-c", "user.email=b@x", "-c", "user.name=b", *a], cwd=repo, check=True, capture_output=True)
    git("init", "-q", "-b", "main"); git("add", "-A"); git("commit", "-q", "-m", "app")
    r = Rhone(work, extra_args)
    r.start()
    token = r.call("POST", "/auth/token", {"email": "bench@example.com", "password": "bench-password-1"})["token"]
    r.call("POST", "/apps", {"name": "bench", "repo_url": repo, "build_command": "true", "start_command": "python3 app.py"}, token)
    dep = r.call("POST", "/apps/bench/deployments", {}, token)
    while r.call("GET", f"/deployments/{dep['id']}", None, token)["status"] not in ("live", "failed"):
        time.sleep(0.05)
    gaps, outages, failures, kept = [], [], [], 0
    for _ in range(ROUNDS):
        _, pid_before = r.get()
        samples, stop = [], threading.Event()
        t = threading.Thread(target=probe, args=(r, stop, samples)); t.start()
        time.sleep(0.3)
        t_signal = time.monotonic()
        r.stop(sig)
        r.start()
        while True:  # until it serves again
            status, pid_after = r.get()
            if status == 200:
                break
            time.sleep(0.001)
        gaps.append((time.monotonic() - t_signal) * 1000)
        time.sleep(0.3)
        stop.set(); t.join()
        failed = [ts for ts, ok, _ in samples if not ok]
        outages.append((failed[-1] - failed[0]) * 1000 if failed else 0.0)
        failures.append(len(failed))
        kept += pid_before == pid_after
    r.stop(15)
    kill_under(work)  # the apps kept running by the last round
    subprocess.run(["rm", "-rf", work], check=False)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"{label:<44} signal→serving again median {med(gaps):6.1f} ms (max {max(gaps):6.1f});"
          f" failed probes median {med(failures)} (window {med(outages):5.1f} ms); app pid kept {kept}/{ROUNDS}")


print(f"restart benchmark, {ROUNDS} rounds each (requests through the proxy every 5 ms)")
measure("SIGTERM + start (apps kept, re-adopted)", [], 15)
measure("SIGKILL + start (apps kept, re-adopted)", [], 9)
measure("baseline: SIGTERM + start with --stop-apps", ["--stop-apps"], 15)
