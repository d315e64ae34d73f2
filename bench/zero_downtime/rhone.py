"""`rhone serve` driven by the benchmark: start (ready = `READY=1` on our own NOTIFY_SOCKET), upgrade in
place (a second `rhone serve` on the same data dir; the old one drains and exits), the REST API."""
import os, socket, subprocess, sys, time, urllib.error, urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import api  # noqa: E402  (bench/api.py)

EMAIL, PASSWORD = "bench@example.com", "bench-password-1"
SWITCH_LINE = "traffic switched to the new version"


def free_ports(n):
    ss = [socket.socket() for _ in range(n)]
    for s in ss:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in ss]
    for s in ss:
        s.close()
    return ports


class Rhone:
    def __init__(self, work, binary):
        self.work, self.binary = work, binary
        self.api, self.proxy = free_ports(2)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(f"{work}/notify.sock")
        self.env = {
            "PATH": os.environ["PATH"], "RHONE_DATA_DIR": f"{work}/data", "RHONE_APPS_DIR": f"{work}/apps",
            "RHONE_ADDR": f"127.0.0.1:{self.api}", "RHONE_PROXY_ADDR": f"127.0.0.1:{self.proxy}",
            "RHONE_ADMIN_EMAIL": EMAIL, "RHONE_ADMIN_PASSWORD": PASSWORD, "RUST_LOG": "warn",
            "RHONE_STOP_APPS": "true",  # applies to our own final stop only (a handover never stops apps)
            "RHONE_DRAIN_TIMEOUT_SECS": "30", "RHONE_DEFAULT_RUNTIME": "process",
            "RHONE_DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
            "RHONE_DOCKER_NETWORK": "host", "NOTIFY_SOCKET": f"{work}/notify.sock",
        }
        self.proc = None
        self.token = None

    def spawn(self):
        return subprocess.Popen([self.binary, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=open(f"{self.work}/rhone.log", "a"))

    def wait_ready(self, pid, timeout=60):
        """Until `pid` sends READY=1 to our NOTIFY_SOCKET (it serves); returns that time."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.notify.settimeout(max(0.01, deadline - time.time()))
            try:
                msg = self.notify.recv(4096).decode()
            except socket.timeout:
                break
            if "READY=1" in msg and f"MAINPID={pid}" in msg:
                return time.time()
        raise SystemExit(f"rhone (pid {pid}) did not become ready; see {self.work}/rhone.log")

    def start(self):
        self.proc = self.spawn()
        self.wait_ready(self.proc.pid)
        self.token = self.call("POST", "/auth/token", {"email": EMAIL, "password": PASSWORD})["token"]

    def upgrade(self):
        """A second `rhone serve` on the same data dir: it takes over, the old one drains and exits."""
        old = self.proc
        t_spawn = time.time()
        new = self.spawn()
        t_ready = self.wait_ready(new.pid)
        rc = old.wait(timeout=120)
        t_exit = time.time()
        self.proc = new
        return {"spawn": t_spawn, "ready": t_ready, "old_exit": t_exit, "old_rc": rc}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=120)

    def call(self, method, path, body=None):
        for attempt in range(5):
            try:
                return api.call(f"http://127.0.0.1:{self.api}", method, path, body, self.token)
            except urllib.error.HTTPError:
                raise
            except (urllib.error.URLError, ConnectionError):  # an API call across a handover
                if attempt == 4:
                    raise
                time.sleep(0.2)

    def deploy_and_wait(self, slug):
        t0 = time.time()
        d = self.call("POST", f"/apps/{slug}/deployments", {})
        while d["status"] in ("pending", "building", "deploying"):
            time.sleep(0.05)
            d = self.call("GET", f"/deployments/{d['id']}")
        return d, time.time() - t0

    def log_lines(self, path):
        return self.call("GET", f"{path}?before={10**15}&limit=2000")["lines"]

    def switched_at(self, deployment):
        """The timestamp (s) of the deploy log's "traffic switched" line: the switch happened before."""
        for line in self.log_lines(f"/deployments/{deployment}/logs"):
            if line["line"].startswith(SWITCH_LINE):
                return (line["at"] + 1) / 1000
        return None

    def via_proxy(self, slug, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.proxy}{path}", headers={"Host": f"{slug}.localhost"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()
