"""Zero-downtime benchmark driver (see ../zero_downtime.sh). Standard library only.

usage: python3 bench/zero_downtime/main.py <path-to-rhone> [redeploys=20] [upgrades=3]
(needs a Docker engine at $DOCKER_HOST with the local image rhone-test/python:3: server/tests/docker.sh)

Phase 1, per runtime (process, docker): keep-alive and new-connection load through the proxy while the
app is redeployed back to back; besides, loops that always keep one slow request, one SSE stream, one
paced 1 MiB POST and one echoing WebSocket open, so each of them spans every switch.
Phase 2: the same load on both apps while Rhone itself is upgraded (a second `rhone serve` on the same
data dir takes over; the old one exits).
Phase 3: cold and cached image build of one repository (build_ms of two deploys without a change).

How "requests the old version received after its switch" is measured: every answer carries the id of
the deployment that served it. Rhone writes "traffic switched to the new version" to the deploy log
right after it swaps the route; that line's timestamp (ms, the same wall clock) is an upper bound of the
switch. A request the client *sent* after that instant (+1 ms for the truncation) was routed after the
switch, so if it was answered by the version that the switch replaced (or an older one), the old
version received a request after its switch. Long-lived requests count too (by their start). This has
no false positives; it cannot see a request routed in the microseconds between the swap and the log
line. Cross-check on the app side: each version counts the `GET /` it received and prints the count
when it exits (`zd-exit`, read back from the app log; the live one answers `/_count`); the sum must
equal the answers the client got, so no request reached a version without the client seeing it.
Exit status 1 if any request failed, reached an old version, a long-lived connection ended otherwise
than expected, or the app-side counts disagree. Timings are printed, never judged.
"""
import asyncio, hashlib, json, os, re, statistics, subprocess, sys, tempfile, time

from client import KEEPALIVE_CONNS, NEW_CONN_LOOPS, under_load
from rhone import SWITCH_LINE, Rhone

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.abspath(sys.argv[1])
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
UPGRADES = int(sys.argv[3]) if len(sys.argv) > 3 else 3
problems = []  # what makes the exit status 1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")


def print_load(load, label):
    sent = len(load.ok) + len(load.failed)
    lat = [x[3] for x in load.ok]
    by = lambda k: [x[3] for x in load.ok if x[0] == k]
    nka, nnc = (sum(1 for x in load.ok + load.failed if x[0] == k) for k in ("keep-alive", "new-connection"))
    print(f"  requests sent {sent} (keep-alive {nka}, new-connection {nnc}), failed {len(load.failed)}")
    print(f"  latency p50 {pct(lat, .5):.2f} ms, p99 {pct(lat, .99):.2f} ms, max {pct(lat, 1):.1f} ms "
          f"(keep-alive p50/p99 {pct(by('keep-alive'), .5):.2f}/{pct(by('keep-alive'), .99):.2f} ms, "
          f"new-connection {pct(by('new-connection'), .5):.2f}/{pct(by('new-connection'), .99):.2f} ms)")
    if load.failed:
        problems.append(f"{label}: {len(load.failed)} failed requests")
        reasons = {}
        for kind, _, _, why in load.failed:
            reasons[f"{kind}: {why}"] = reasons.get(f"{kind}: {why}", 0) + 1
        for why, n in sorted(reasons.items(), key=lambda x: -x[1]):
            print(f"    failed: {n} × {why}")
        ts = sorted(x[2] for x in load.failed)
        print(f"    failures between t={ts[0]:.3f} and t={ts[-1]:.3f} (wall clock)")


def print_ops(ops, windows, label, what):
    """How each long-lived connection ended, and how many of the `windows` (start, end) each kind spanned."""
    for kind in ("slow request", "SSE stream", "1 MiB POST", "WebSocket"):
        mine = [o for o in ops if o.kind == kind]
        spans = sum(1 for (a, b) in windows if any(o.start < a and o.end > b for o in mine))
        ends = {}
        for o in mine:
            ends[o.outcome] = ends.get(o.outcome, 0) + 1
        bad = sum(1 for o in mine if not o.expected)
        detail = ", ".join(f"{k} {v}" for k, v in sorted(ends.items(), key=lambda x: -x[1]))
        if kind == "WebSocket" and mine:
            detail += f" (codes 4000–{4000 + min(len(mine), 1000) - 1}, one per connection)"
        print(f"  {kind:<13} {len(mine):>3} opened, spanned {spans}/{len(windows)} {what}; ended: {detail}")
        if bad:
            problems.append(f"{label}: {bad} {kind} ended unexpectedly")


def old_version_hits(load, ops, chain, switch):
    """Answers by a version after the switch that replaced it (see the module doc)."""
    nxt = {d: switch.get(n) for d, n in zip(chain, chain[1:])}
    late_load = [x for x in load.ok if x[4] in nxt and nxt[x[4]] and x[2] > nxt[x[4]]]
    late_ops = [o for o in ops if o.deployment in nxt and nxt[o.deployment] and o.start > nxt[o.deployment]]
    after = sum(1 for x in load.ok if any(x[2] > t for t in switch.values() if t))
    unknown = {x[4] for x in load.ok} - set(chain)
    return late_load, late_ops, after, unknown


def app_counts(rhone, slug, chain, timeout=30):
    """`GET /` counted by each version: its `zd-exit` line (stopped ones), `/_count` (the live one)."""
    counts = {}
    live = chain[-1]
    deadline = time.time() + timeout
    while True:
        for line in rhone.log_lines(f"/apps/{slug}/logs"):
            m = re.match(r"zd-exit deployment=(\S+) root_requests=(\d+)", line["line"])
            if m:
                counts[m.group(1)] = int(m.group(2))
        missing = [d for d in chain[:-1] if d not in counts]
        if not missing or time.time() > deadline:
            break
        time.sleep(1)
    counts[live] = json.loads(rhone.via_proxy(slug, "/_count"))["requests"]
    return counts, missing


APP_DOCKERFILE = """FROM rhone-test/python:3
WORKDIR /app
COPY app.py /app/app.py
CMD ["python3", "app.py"]
"""


def make_repo(path, files):
    os.makedirs(path)
    for name, text in files.items():
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
    git = lambda *a: subprocess.run(["git", "-c", "user.email=b@x", "-c", "user.name=b", *a], cwd=path, check=True,
                                    capture_output=True)
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "app")


def phase1(rhone, slug):
    print(f"\nphase 1 · {slug.removeprefix('zd-')} runtime · {ROUNDS} redeploys back to back under load")
    first, _ = rhone.deploy_and_wait(slug)
    if first["status"] != "live":
        raise SystemExit(f"the first deploy of {slug} failed: {first.get('error')}")

    def redeploys():
        out = []
        for _ in range(ROUNDS):
            d, secs = rhone.deploy_and_wait(slug)
            out.append((d, secs))
        return out

    load, ops, deps, secs = asyncio.run(under_load(rhone.proxy, [slug], redeploys))
    failed_deploys = [d for d, _ in deps if d["status"] != "live"]
    chain = [str(first["id"])] + [str(d["id"]) for d, _ in deps if d["status"] == "live"]
    switch = {d: rhone.switched_at(d) for d in chain[1:]}
    took = [s for _, s in deps]
    print(f"  {len(deps)} deploys in {secs:.1f} s; deploy requested → live: median {statistics.median(took) * 1000:.0f} ms, "
          f"max {max(took) * 1000:.0f} ms; build_ms median {statistics.median([d.get('build_ms') or 0 for d, _ in deps]):.0f}"
          + (f"; {len(failed_deploys)} NOT live: {[d.get('error') for d in failed_deploys]}" if failed_deploys else ""))
    if failed_deploys:
        problems.append(f"{slug}: {len(failed_deploys)} deploys failed")
    print_load(load, slug)
    late_load, late_ops, after, unknown = old_version_hits(load, ops, chain, switch)
    print(f"  requests the old version received after its switch: {len(late_load) + len(late_ops)} "
          f"(of {after} answered requests sent after the first switch; {len(late_ops)} long-lived)"
          + (f"; answered by unknown deployments {sorted(unknown)}" if unknown else ""))
    if late_load or late_ops or unknown:
        problems.append(f"{slug}: {len(late_load) + len(late_ops)} requests reached an old version after its switch")
        for x in late_load[:5]:
            print(f"    late: sent {x[2]:.4f} answered by {x[4]} (replaced at {switch[chain[chain.index(x[4]) + 1]]:.3f})")
    missing_switch = [d for d, t in switch.items() if t is None]
    if missing_switch:
        print(f"  note: no '{SWITCH_LINE}' line in the deploy log of {missing_switch}")
        problems.append(f"{slug}: switch time unknown for {missing_switch}")
    counts, missing = app_counts(rhone, slug, chain)
    stopped = len(chain) - 1
    print(f"  graceful stop: {stopped - len(missing)}/{stopped} replaced versions ran their SIGTERM handler to the end "
          f"(printed zd-exit)" + (f"; not: {missing}" if missing else ""))
    if missing:
        problems.append(f"{slug}: {len(missing)} replaced versions were killed before their SIGTERM handler finished")
    answered = {}
    for x in load.ok:
        answered[x[4]] = answered.get(x[4], 0) + 1
    known = [d for d in chain if d in counts]
    print(f"  app side: {len(known)} versions reported counts: they received {sum(counts[d] for d in known)} `GET /`, "
          f"the client got {sum(answered.get(d, 0) for d in known)} answers from them")
    diff = {d: (counts[d], answered.get(d, 0)) for d in known if counts[d] != answered.get(d, 0)}
    if diff:
        problems.append(f"{slug}: app-side counts differ from the answers: {diff}")
        print(f"    differ (received, answered): {diff}")
    windows = [(t, t) for t in switch.values() if t]
    print_ops(ops, windows, slug, "switches")
    return chain


def phase2(rhone, slugs):
    print(f"\nphase 2 · Rhone upgraded {UPGRADES}× in place (new `rhone serve` on the same data dir) under load on "
          f"{' and '.join(slugs)}")
    before = {s: json.loads(rhone.via_proxy(s, "/_count")) for s in slugs}

    def upgrades():
        out = []
        for _ in range(UPGRADES):
            out.append(rhone.upgrade())
            time.sleep(1.0)
        return out

    load, ops, ups, secs = asyncio.run(under_load(rhone.proxy, slugs, upgrades))
    for u in ups:
        print(f"  upgrade: new process ready {(u['ready'] - u['spawn']) * 1000:.0f} ms after start, "
              f"old process exited {u['old_exit'] - u['ready']:.1f} s later with status {u['old_rc']}")
        if u["old_rc"] != 0:
            problems.append(f"upgrade: the old rhone exited with {u['old_rc']}")
    print_load(load, "upgrade")
    after = {s: json.loads(rhone.via_proxy(s, "/_count")) for s in slugs}
    for s in slugs:
        same = (before[s]["deployment"], before[s]["pid"]) == (after[s]["deployment"], after[s]["pid"])
        got = sum(1 for x in load.ok if x[1] == s)
        other = sum(1 for x in load.ok if x[1] == s and x[4] != before[s]["deployment"])
        counted = after[s]["requests"] - before[s]["requests"]
        print(f"  {s}: served by deployment {before[s]['deployment']} throughout (pid {before[s]['pid']}: {'not restarted' if same else 'RESTARTED'}); "
              f"answers from another version {other}; app counted {counted} `GET /`, the client got {got}")
        if other or not same or counted != got:
            problems.append(f"upgrade: {s} counts {counted} vs {got}, other version {other}")
    windows = [(u["spawn"], u["ready"]) for u in ups]
    print_ops(ops, windows, "upgrade", "upgrades")


def phase3(rhone, work):
    print("\nphase 3 · cold vs cached image build of one repository (docker runtime)")
    nonce = os.urandom(8).hex()  # a repository this engine has never built
    make_repo(f"{work}/repo-build", {
        "app.py": open(f"{HERE}/app.py").read(),
        "nonce.txt": nonce,
        "Dockerfile": "FROM rhone-test/python:3\nWORKDIR /app\nCOPY nonce.txt /app/\n"
                      "RUN [\"python3\", \"-c\", \"import hashlib; h=b'x'\\nfor _ in range(3_000_000): h=hashlib.sha256(h).digest()\\n"
                      "open('/app/work.txt','w').write(h.hex())\"]\n"
                      "COPY app.py /app/app.py\nCMD [\"python3\", \"app.py\"]\n",
    })
    rhone.call("POST", "/apps", {"name": "zd-build", "repo_url": f"{work}/repo-build", "runtime": "docker",
                                 "health_check_path": "/health"})
    ms = []
    for label in ("cold", "cached"):
        d, secs = rhone.deploy_and_wait("zd-build")
        if d["status"] != "live":
            problems.append(f"build {label}: {d.get('error')}")
        ms.append(d.get("build_ms"))
        print(f"  {label:<6} build_ms {d.get('build_ms')} (deploy requested → live {secs * 1000:.0f} ms, {d['status']})")
    if all(ms):
        print(f"  cached/cold: {ms[1] / ms[0]:.2f}")


def main():
    work = tempfile.mkdtemp(prefix="rhone-zd-")
    os.chmod(work, 0o711)  # app users reach their own directories under it
    make_repo(f"{work}/repo", {"app.py": open(f"{HERE}/app.py").read(), "Dockerfile": APP_DOCKERFILE})
    rhone = Rhone(work, BIN)
    rhone.start()
    print(f"zero-downtime benchmark: rhone {BIN}, work dir {work}, {os.cpu_count()} cores; load per app: "
          f"{KEEPALIVE_CONNS} keep-alive connections + {NEW_CONN_LOOPS} new-connection loops, back to back; "
          "one slow request (3 s), SSE stream (4 s), 1 MiB POST (paced over 1.6 s) and WebSocket (echo every "
          "100 ms for 4 s, then close with its own code) always open, through the proxy")
    finished = False
    try:
        apps = {}
        for runtime in ("process", "docker"):
            body = {"name": f"zd-{runtime}", "repo_url": f"{work}/repo", "runtime": runtime, "health_check_path": "/health"}
            if runtime == "process":
                # ZD_START_COMMAND (e.g. `exec python3 app.py`) to compare how the start command is signalled
                body.update(build_command="true", start_command=os.environ.get("ZD_START_COMMAND", "python3 app.py"))
            apps[runtime] = rhone.call("POST", "/apps", body)
        for runtime, app in apps.items():
            phase1(rhone, app["slug"])
        phase2(rhone, [a["slug"] for a in apps.values()])
        phase3(rhone, work)
        finished = True
    finally:
        rhone.stop()
        if problems or not finished:
            with open(f"{work}/rhone.log", errors="replace") as f:
                tail = f.read().splitlines()[-30:]
            print("\nrhone's log (RUST_LOG=warn, last 30 lines):\n  " + "\n  ".join(tail))
        cleanup(work)
    if problems:
        print("\nFAILED: " + "; ".join(problems))
        sys.exit(1)
    print("\nno request failed, none reached an old version, every long-lived connection ended as expected")


def cleanup(work):
    """What the final stop (stop_apps) left: app processes under `work`, this installation's containers."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(work):
                os.kill(int(pid), 9)
        except OSError:
            pass
    inst = hashlib.sha256(os.path.realpath(f"{work}/data").encode()).hexdigest()[:12]
    label = f"label=rhone.installation={inst}"
    for what, rm in ((["ps", "-aq"], ["rm", "-f"]), (["images", "-q"], ["rmi", "-f"])):
        ids = subprocess.run(["docker", *what, "--filter", label], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", *rm, *sorted(set(ids))], capture_output=True)
    subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main()
