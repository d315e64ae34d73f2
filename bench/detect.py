"""Detection report driver (see detect.sh). Standard library only."""
import argparse, json, os, statistics, subprocess, time, urllib.error, urllib.request

import api

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["plans", "builds"])
p.add_argument("--bin"); p.add_argument("--fixtures")
p.add_argument("--api"); p.add_argument("--proxy-port", type=int); p.add_argument("--work")
a = p.parse_args()


def plans():
    print(f"{'fixture':28} {'provider':16} {'start / static':48} {'tools':34} {'plan ms':>7}")
    for name in sorted(os.listdir(a.fixtures)):
        d = os.path.join(a.fixtures, name)
        if not os.path.isdir(d):
            continue
        times, out = [], None
        for _ in range(15):
            t = time.perf_counter()
            r = subprocess.run([a.bin, "plan", d], capture_output=True, text=True)
            times.append((time.perf_counter() - t) * 1000)
            out = r
        if out.returncode != 0:
            what, provider, tools = "error: " + out.stderr.strip().split(": ", 1)[-1][:40], "-", ""
        else:
            plan = json.loads(out.stdout)
            provider = plan["provider"]["kind"]
            what = plan.get("start") or f"static {plan.get('static_root')}" + (" (spa)" if plan.get("spa_fallback") else "")
            tools = ", ".join(t["tool"] + (" " + t["version"] if t.get("version") else "") for t in plan.get("tools", []))
        print(f"{name:28} {provider:16} {what[:48]:48} {tools[:34]:34} {statistics.median(times):7.1f}")


PY_SERVER = """import os, sys
{prelude}
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        b = {body}.encode()
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *x): pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""
NODE_SERVER = "require('http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, '127.0.0.1');\n"
GO_MAIN = """package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil)
}
"""
APPS = {
    "python-pip-flask": {"requirements.txt": "flask==3.0.3\n",
                         "app.py": "from flask import Flask\napp = Flask(__name__)\n@app.get('/')\ndef i():\n    return 'ok'\n"},
    "python-poetry": {"pyproject.toml": '[tool.poetry]\nname = "b"\nversion = "0.1.0"\ndescription = ""\nauthors = ["b <b@x>"]\n[tool.poetry.dependencies]\npython = ">=3.9"\nsix = "1.16.0"\n',
                      "main.py": PY_SERVER.format(prelude="import six", body="'ok'")},
    "python-uv": {"pyproject.toml": '[project]\nname = "b"\nversion = "0.1.0"\nrequires-python = ">=3.9"\ndependencies = []\n',
                  "uv.lock": 'version = 1\nrequires-python = ">=3.9"\n\n[[package]]\nname = "b"\nversion = "0.1.0"\nsource = { virtual = "." }\n',
                  "main.py": PY_SERVER.format(prelude="", body="'ok'")},
    "node-npm": {"package.json": '{"name":"b","scripts":{"start":"node server.js"},"dependencies":{"ms":"2.1.3"}}', "server.js": NODE_SERVER},
    "node-yarn": {"package.json": '{"name":"b","scripts":{"start":"node server.js"}}', "yarn.lock": "# yarn lockfile v1\n", "server.js": NODE_SERVER},
    "node-pnpm": {"package.json": '{"name":"b","packageManager":"pnpm@9.15.0","scripts":{"start":"node server.js"}}', "server.js": NODE_SERVER},
    "node-vite-spa": {"package.json": '{"name":"b","type":"module","scripts":{"build":"vite build"},"devDependencies":{"vite":"5.4.11"}}',
                      "index.html": "<div id=app>ok</div><script type=module src=/main.js></script>", "main.js": "console.log(1)\n"},
    "go": {"go.mod": "module example.com/b\n\ngo 1.19\n", "main.go": GO_MAIN},
    "static": {"index.html": "ok"},
    "shell": {"start.sh": '#!/bin/sh\nexec python3 -m http.server "$PORT" --bind 127.0.0.1\n'},
}


def builds():
    token = api.call(a.api, "POST", "/auth/token", {"email": "bench@example.com", "password": "bench-password-1"})["token"]
    call = lambda m, path, body=None: api.call(a.api, m, path, body, token)

    def deploy(slug):
        dep = call("POST", f"/apps/{slug}/deployments", {})
        while True:
            d = call("GET", f"/deployments/{dep['id']}")
            if d["status"] not in ("pending", "building", "deploying"):
                return d
            time.sleep(0.2)

    print(f"\n{'app':20} {'status':8} {'cold build s':>12} {'cached build s':>14}")
    for name, files in APPS.items():
        repo = os.path.join(a.work, "repo-" + name)
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(repo, path)), exist_ok=True)
            with open(os.path.join(repo, path), "w") as f:
                f.write(text)
        git = lambda *args: subprocess.run(["git", "-c", "user.email=b@x", "-c", "user.name=b", *args], cwd=repo, check=True, capture_output=True)
        git("init", "-q", "-b", "main"); git("add", "-A"); git("commit", "-q", "-m", "v1")
        slug = call("POST", "/apps", {"name": "b-" + name, "repo_url": repo})["slug"]
        cold = deploy(slug)
        git("commit", "-q", "--allow-empty", "-m", "v2")
        warm = deploy(slug) if cold["status"] == "live" else cold
        secs = lambda d: f"{d['build_ms'] / 1000:.1f}" if d.get("build_ms") is not None else "-"
        status = cold["status"] if cold["status"] != "live" else warm["status"]
        print(f"{name:20} {status:8} {secs(cold):>12} {secs(warm):>14}" + (f"  {cold.get('error')}" if status != "live" else ""))


plans() if a.mode == "plans" else builds()
