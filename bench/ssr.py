"""Drives bench/ssr.sh: makes `--apps` apps, logs in like a browser, then times full page renders of
`/` (the apps list) and `/apps/<slug>` (an app page) against `/healthz`. Standard library only."""
import argparse, http.client, statistics, sys, time, urllib.parse

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from api import call  # noqa: E402

EMAIL, PASSWORD = "bench@example.com", "bench-password-1"


def session_cookie(host, port):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    body = urllib.parse.urlencode({"email": EMAIL, "password": PASSWORD, "next": "/"})
    conn.request("POST", "/auth/login", body, {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://{host}:{port}"})
    res = conn.getresponse()
    res.read()
    for name, value in res.getheaders():
        if name.lower() == "set-cookie":
            return value.split(";", 1)[0]
    raise SystemExit(f"login failed: {res.status}")


def timed(host, port, path, cookie, n):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    out = []
    for _ in range(n):
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html"})
        res = conn.getresponse()
        body = res.read()
        out.append((time.perf_counter() - start) * 1000)
        if res.status != 200:
            raise SystemExit(f"GET {path}: {res.status} {body[:200]!r}")
    return out, len(body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--apps", type=int, default=100)
    p.add_argument("--requests", type=int, default=200)
    a = p.parse_args()
    token = call(a.api, "POST", "/auth/token", {"email": EMAIL, "password": PASSWORD})["token"]
    for i in range(a.apps):
        call(a.api, "POST", "/apps", {"name": f"Bench app {i:03}", "repo_url": f"https://git.example.com/bench/app-{i}.git"}, token)
    u = urllib.parse.urlparse(a.api)
    cookie = session_cookie(u.hostname, u.port)
    print(f"server-side rendering with {a.apps} apps, {a.requests} sequential requests each (ms)")
    print(f"{'page':<28}{'p50':>8}{'p95':>8}{'mean':>8}{'bytes':>10}")
    for label, path in [("/healthz (baseline)", "/healthz"), ("/ (apps list)", "/"), ("/apps/<slug> (app page)", f"/apps/bench-app-{a.apps // 2:03}")]:
        timed(u.hostname, u.port, path, cookie, 5)  # warm-up
        ms, size = timed(u.hostname, u.port, path, cookie, a.requests)
        q = statistics.quantiles(ms, n=20)
        print(f"{label:<28}{statistics.median(ms):>8.2f}{q[18]:>8.2f}{statistics.mean(ms):>8.2f}{size:>10}")


if __name__ == "__main__":
    main()
