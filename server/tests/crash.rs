//! Crash tests: the real `rhone` binary is killed with SIGKILL (never a graceful stop) at the worst
//! moments, then started again on the same data dir. Live apps keep serving without a restart, nothing
//! is orphaned or duplicated, and an interrupted deployment is `failed` with the reason.

mod support;
#[path = "api/stripe_stub.rs"]
#[allow(dead_code)]
mod stripe_stub;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::{listening_port, processes, wait_gone, Rhone, Start};

/// A Python app: `/pid` its pid, `/say?m=x` prints x to stdout, `/slow` answers after 10 s.
const APP: &str = r#"import os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/say":
            print(parse_qs(u.query)["m"][0], flush=True)
        if u.path == "/slow":
            print("slow request in", flush=True)
            time.sleep(10)
        body = (os.environ.get("VERSION", "v?") + " " + str(os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

struct Fixture {
    root: tempfile::TempDir,
    repo: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(repo.path().join("app.py"), APP).unwrap();
        for args in [&["init", "-q", "-b", "main"][..], &["add", "-A"], &["-c", "user.email=t@e.x", "-c", "user.name=t", "commit", "-qm", "app"]] {
            assert!(Command::new("git").args(args).current_dir(repo.path()).status().unwrap().success());
        }
        let files = Command::new("git").args(["ls-tree", "-r", "--name-only", "HEAD"]).current_dir(repo.path()).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&files.stdout).trim(), "app.py", "the test repository holds the app");
        Fixture { root, repo }
    }

    fn apps_dir(&self) -> PathBuf {
        self.root.path().join("apps")
    }

    async fn start(&self) -> Rhone {
        Rhone::start(Start { root: self.root.path(), env: &[("RHONE_HEALTH_TIMEOUT_SECS", "30"), ("RHONE_DRAIN_TIMEOUT_SECS", "30")], uid: None }).await
    }
}

impl Drop for Fixture {
    /// Whatever happens, no process of this test outlives it.
    fn drop(&mut self) {
        for pid in processes(&self.apps_dir(), "") {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// The instance the store records for a deployment (read straight from the SQLite file).
async fn recorded_instance(f: &Fixture, id: i64) -> Option<String> {
    let url = format!("sqlite://{}?mode=ro", f.root.path().join("data/rhone.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let instance: Option<String> =
        sqlx::query_scalar("SELECT instance_id FROM instances WHERE deployment_id = ? AND replica = 0").bind(id).fetch_optional(&pool).await.unwrap();
    pool.close().await;
    instance
}

async fn create(r: &Rhone, f: &Fixture, name: &str, start: &str, build: &str, version: &str) {
    r.call(
        reqwest::Method::POST,
        "/apps",
        json!({"name": name, "repo_url": f.repo.path().to_str().unwrap(), "start_command": start, "build_command": build}),
    )
    .await;
    r.call(reqwest::Method::PATCH, &format!("/apps/{name}/env"), json!({"VERSION": version})).await;
}

#[tokio::test]
async fn live_apps_keep_serving_through_a_sigkill_and_are_readopted_not_restarted() {
    let f = Fixture::new();
    let r = f.start().await;
    create(&r, &f, "web", "python3 app.py", "true", "v1").await;
    let id = r.deploy("web").await;
    r.wait_status(id, "live").await;
    let (status, before) = r.get("web", "/").await;
    assert_eq!(status, StatusCode::OK);
    let app_pids = processes(&f.apps_dir(), "python3 app.py");
    assert_eq!(app_pids.len(), 1, "one app process");
    let direct_port = listening_port(app_pids[0]).expect("the app listens");
    r.sigkill();

    // Rhone is gone; the app still answers on its own port and still logs
    let direct = reqwest::get(format!("http://127.0.0.1:{direct_port}/say?m=said-while-rhone-was-down")).await.unwrap();
    assert_eq!(direct.text().await.unwrap(), before, "same process answers while Rhone is down");

    let r = f.start().await;
    let (status, after) = r.get("web", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after, before, "served by the very same process (same pid): re-adopted, not restarted");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py"), app_pids, "no duplicate process");
    assert_eq!(r.deployment(id).await["status"], "live");
    let log = r.app_log("web").await;
    assert!(log.contains("said-while-rhone-was-down"), "the line printed while Rhone was down is in the log: {log}");
    assert_eq!(log.matches("said-while-rhone-was-down").count(), 1, "and only once");

    // the re-adopted process is still supervised: a redeploy replaces it cleanly
    let id2 = r.deploy("web").await;
    r.wait_status(id2, "live").await;
    assert!(wait_gone(&f.apps_dir().join("web/builds").join(id.to_string()), "python3 app.py").await, "the old version was stopped");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 1);
    r.sigkill();
}

#[tokio::test]
async fn a_sigkill_during_a_build_kills_the_build_and_fails_the_deployment() {
    let f = Fixture::new();
    let r = f.start().await;
    create(&r, &f, "slowbuild", "python3 app.py", "echo building; sleep 300 & sleep 301", "v1").await;
    let id = r.deploy("slowbuild").await;
    r.wait_status(id, "building").await;
    for _ in 0..200 {
        if processes(&f.apps_dir(), "sleep 301").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(processes(&f.apps_dir(), "sleep 30").len(), 2, "both build processes run");
    r.sigkill();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(processes(&f.apps_dir(), "sleep 30").len(), 2, "a SIGKILLed Rhone leaves its build running (what recovery must clean up)");

    let r = f.start().await;
    assert!(wait_gone(&f.apps_dir(), "sleep 30").await, "the build's whole process group is gone after the restart");
    let d = r.deployment(id).await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("interrupted"), "{d}");
    r.sigkill();
}

#[tokio::test]
async fn a_sigkill_while_a_new_version_starts_keeps_the_old_one_live() {
    let f = Fixture::new();
    let r = f.start().await;
    create(&r, &f, "starting", "python3 app.py", "true", "v1").await;
    let v1 = r.deploy("starting").await;
    r.wait_status(v1, "live").await;
    let (_, v1_answer) = r.get("starting", "/").await;
    // v2 never becomes healthy: it only sleeps
    r.call(reqwest::Method::PATCH, "/apps/starting", json!({"start_command": "echo v2 starting; exec sleep 302"})).await;
    let v2 = r.deploy("starting").await;
    r.wait_status(v2, "deploying").await;
    for _ in 0..200 {
        if !processes(&f.apps_dir(), "sleep 302").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(processes(&f.apps_dir(), "sleep 302").len(), 1, "v2 is starting");
    r.sigkill();

    let r = f.start().await;
    assert!(wait_gone(&f.apps_dir(), "sleep 302").await, "the half-started version is stopped");
    let d = r.deployment(v2).await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("interrupted"), "{d}");
    assert_eq!(r.deployment(v1).await["status"], "live");
    assert_eq!(r.get("starting", "/").await, (StatusCode::OK, v1_answer), "v1 serves, same process");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 1);
    r.sigkill();
}

#[tokio::test]
async fn a_sigkill_while_the_old_version_drains_leaves_exactly_the_new_one() {
    let f = Fixture::new();
    let r = f.start().await;
    create(&r, &f, "drain", "python3 app.py", "true", "v1").await;
    let v1 = r.deploy("drain").await;
    r.wait_status(v1, "live").await;
    // a slow request holds v1 in flight, so v1 is still draining after v2 goes live
    let slow = {
        let (http, proxy) = (r.http.clone(), r.proxy);
        tokio::spawn(async move { http.get(format!("http://127.0.0.1:{proxy}/slow")).header("Host", "drain.localhost").send().await })
    };
    let mut in_flight = false;
    for _ in 0..100 {
        if r.app_log("drain").await.contains("slow request in") {
            in_flight = true;
            break;
        }
    }
    assert!(in_flight, "the slow request reached v1");
    r.call(reqwest::Method::PATCH, "/apps/drain/env", json!({"VERSION": "v2"})).await;
    let v2 = r.deploy("drain").await;
    r.wait_status(v2, "live").await;
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 2, "v1 drains while v2 serves");
    let (_, v2_answer) = r.get("drain", "/").await;
    assert!(v2_answer.starts_with("v2 "), "{v2_answer}");
    r.sigkill();
    let _ = slow.await;

    let r = f.start().await;
    assert!(wait_gone(&f.apps_dir().join("drain/builds").join(v1.to_string()), "python3 app.py").await, "the draining version is stopped");
    assert_eq!(r.get("drain", "/").await, (StatusCode::OK, v2_answer), "v2 serves, same process");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 1, "exactly one version runs");
    assert_eq!(r.deployment(v2).await["status"], "live");
    assert_eq!(r.deployment(v1).await["status"], "superseded");
    r.sigkill();
}


#[tokio::test]
async fn an_app_restarted_after_a_crash_is_readopted_by_its_new_pid() {
    let f = Fixture::new();
    let r = f.start().await;
    create(&r, &f, "phoenix", "python3 app.py", "true", "v1").await;
    let id = r.deploy("phoenix").await;
    r.wait_status(id, "live").await;
    let first = processes(&f.apps_dir(), "python3 app.py");
    assert_eq!(first.len(), 1);
    let recorded = recorded_instance(&f, id).await;
    assert!(recorded.is_some(), "the live version's instance is recorded");
    assert!(Command::new("kill").args(["-9", &first[0].to_string()]).status().unwrap().success());
    // the supervisor starts it again (after its 1 s backoff) and records the new pid
    let mut answer = String::new();
    for _ in 0..200 {
        let (status, body) = r.get("phoenix", "/").await;
        if status == StatusCode::OK && !body.ends_with(&format!(" {}", first[0])) {
            answer = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!answer.is_empty(), "the crashed app was not restarted");
    let mut rerecorded = false;
    for _ in 0..200 {
        let now = recorded_instance(&f, id).await;
        if now.is_some() && now != recorded {
            rerecorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rerecorded, "the supervisor recorded the restarted process");
    r.sigkill();

    let r = f.start().await;
    assert_eq!(r.get("phoenix", "/").await, (StatusCode::OK, answer), "the restarted process is re-adopted, not started a third time");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 1);
    r.sigkill();
}

/// The docker runtime through a SIGKILL of Rhone in the middle of traffic: the container keeps
/// serving while Rhone is down, the next Rhone re-adopts it (same container, no duplicate), and a
/// redeploy afterwards still leaves exactly one container.
#[tokio::test]
async fn a_sigkill_mid_traffic_on_docker_leaves_one_container_and_no_duplicate() {
    let host = docker_host();
    let root = tempfile::tempdir().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("www")).unwrap();
    std::fs::write(repo.path().join("www/index.html"), "docker up").unwrap();
    std::fs::write(
        repo.path().join("Dockerfile"),
        "FROM rhone-test/busybox:1\nCOPY www /www\nCMD [\"sh\", \"-c\", \"exec httpd -f -p 127.0.0.1:$PORT -h /www\"]\n",
    )
    .unwrap();
    for args in [&["init", "-q", "-b", "main"][..], &["add", "-A"], &["-c", "user.email=t@e.x", "-c", "user.name=t", "commit", "-qm", "app"]] {
        assert!(Command::new("git").args(args).current_dir(repo.path()).status().unwrap().success());
    }
    let env = [("RHONE_DOCKER_HOST", host.as_str()), ("RHONE_DOCKER_NETWORK", "host"), ("RHONE_DEFAULT_RUNTIME", "docker"), ("RHONE_SWITCH_WATCH_SECS", "1")];
    let installation = domain::Settings::new(root.path().join("data"), "localhost").installation_id();
    let _cleanup = Containers(host.clone(), installation.clone());
    let running = || {
        let out = Command::new("docker")
            .env("DOCKER_HOST", &host)
            .args(["ps", "-q", "--no-trunc", "--filter", &format!("label=rhone.installation={installation}")])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect::<Vec<_>>()
    };

    let r = Rhone::start(Start { root: root.path(), env: &env, uid: None }).await;
    r.call(reqwest::Method::POST, "/apps", json!({"name": "dk", "repo_url": repo.path().to_str().unwrap()})).await;
    let id = r.deploy("dk").await;
    r.wait_status(id, "live").await;
    let before = running();
    assert_eq!(before.len(), 1, "{before:?}");
    let proxy = r.proxy;

    // traffic through the proxy while Rhone is killed (requests after the kill fail: Rhone is the proxy)
    let load = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let (mut ok, mut failed) = (0, 0);
        for _ in 0..40 {
            match client.get(format!("http://127.0.0.1:{proxy}/")).header("Host", "dk.localhost").send().await {
                Ok(res) if res.status() == StatusCode::OK => ok += 1,
                _ => failed += 1,
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        (ok, failed)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    r.sigkill();
    let (ok, _) = load.await.unwrap();
    assert!(ok > 0, "the proxy served before the kill");
    assert_eq!(running(), before, "the container kept running while Rhone was down");

    let r = Rhone::start(Start { root: root.path(), env: &env, uid: None }).await;
    assert_eq!(r.get("dk", "/").await, (StatusCode::OK, "docker up".to_string()));
    assert_eq!(running(), before, "re-adopted: the same one container, no duplicate");

    let id2 = r.deploy("dk").await;
    r.wait_status(id2, "live").await;
    let mut now = running();
    for _ in 0..100 {
        if now.len() == 1 && now != before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = running();
    }
    assert_eq!(now.len(), 1, "one container after the redeploy: {now:?}");
    assert_ne!(now, before, "the old container was replaced");
    r.sigkill();
}

/// Removes every container and image of one test installation when the test ends.
struct Containers(String, String);

impl Drop for Containers {
    fn drop(&mut self) {
        let label = format!("label=rhone.installation={}", self.1);
        for what in [&["ps", "-aq", "--filter"][..], &["images", "-q", "--filter"]] {
            let out = Command::new("docker").env("DOCKER_HOST", &self.0).args(what).arg(&label).output();
            let ids = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
            for id in ids.split_whitespace() {
                let rm = if what[0] == "ps" { "rm" } else { "rmi" };
                let _ = Command::new("docker").env("DOCKER_HOST", &self.0).args([rm, "-f", id]).output();
            }
        }
    }
}

/// The engine for the tests (`RHONE_TEST_DOCKER_HOST`, else started by tests/docker.sh).
fn docker_host() -> String {
    if let Ok(h) = std::env::var("RHONE_TEST_DOCKER_HOST") {
        if !h.trim().is_empty() {
            return h.trim().to_string();
        }
    }
    let out = Command::new("bash").arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/docker.sh")).output().unwrap();
    assert!(out.status.success(), "no Docker engine for the tests: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().last().unwrap().trim().to_string()
}

/// Restart releases the live build again with the current environment (no build); a stopped app
/// stays stopped through a SIGKILL of Rhone (nothing is restarted behind the team's back) and a
/// start brings it back.
#[tokio::test]
async fn a_restart_applies_the_env_without_a_build_and_a_stop_survives_a_sigkill() {
    use reqwest::Method;
    let f = Fixture::new();
    let r = f.start().await;
    create(&r, &f, "web", "python3 app.py", "echo building", "v1").await;
    let first = r.deploy("web").await;
    r.wait_status(first, "live").await;
    let (_, v1) = r.get("web", "/").await;
    assert!(v1.starts_with("v1 "), "{v1}");

    r.call(Method::PATCH, "/apps/web/env", json!({"VERSION": "v2"})).await;
    let restart = r.call(Method::POST, "/apps/web/restart", json!(null)).await;
    assert_eq!((restart["kind"].as_str(), restart["number"].as_i64(), restart["rollback_of"].as_i64()), (Some("restart"), Some(2), Some(first)), "{restart}");
    let id = restart["id"].as_i64().unwrap();
    r.wait_status(id, "live").await;
    let (status, v2) = r.get("web", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(v2.starts_with("v2 ") && v2 != v1, "the new env, a new process: {v1} then {v2}");
    let log = r.sse(&format!("/deployments/{id}/logs")).await;
    assert!(!log.contains("building"), "a restart runs no build: {log}");
    assert_eq!(r.deployment(first).await["status"], "superseded");
    // the old process drains, then stops (the new one runs from the same kept build)
    for _ in 0..150 {
        if processes(&f.apps_dir(), "python3 app.py").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 1, "one process after the restart");

    let stopped = r.call(Method::POST, "/apps/web/stop", json!(null)).await;
    assert!(stopped["stopped_at"].is_i64(), "{stopped}");
    let (status, page) = r.get("web", "/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("is stopped"), "{page}");
    assert!(processes(&f.apps_dir(), "python3 app.py").is_empty(), "nothing runs once stopped");
    assert_eq!(r.call(Method::GET, "/apps/web", json!(null)).await["state"], "stopped");
    let again = r.call(Method::POST, "/apps/web/stop", json!(null)).await;
    assert_eq!(again["stopped_at"], stopped["stopped_at"], "stopping twice changes nothing");
    let res = r.http.post(format!("{}/api/v1/apps/web/deployments", r.base)).bearer_auth(&r.token).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "a stopped app deploys nothing");
    r.sigkill();

    let r = f.start().await;
    assert_eq!(r.get("web", "/").await.0, StatusCode::SERVICE_UNAVAILABLE, "still stopped after the SIGKILL");
    assert!(processes(&f.apps_dir(), "python3 app.py").is_empty(), "Rhone's restart started nothing");
    assert_eq!(r.call(Method::GET, "/apps/web", json!(null)).await["state"], "stopped");
    assert_eq!(r.deployment(id).await["status"], "live", "the live release stays what a start runs");

    let started = r.call(Method::POST, "/apps/web/start", json!(null)).await;
    assert_eq!((started["kind"].as_str(), started["number"].as_i64(), started["rollback_of"].as_i64()), (Some("restart"), Some(3), Some(id)), "{started}");
    r.wait_status(started["id"].as_i64().unwrap(), "live").await;
    let (status, v2_again) = r.get("web", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(v2_again.starts_with("v2 "), "{v2_again}");
    let app = r.call(Method::GET, "/apps/web", json!(null)).await;
    assert_eq!((app["state"].as_str(), app["live"]["number"].as_i64()), (Some("running"), Some(3)), "{app}");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 1);
    r.sigkill();
}

/// Rows of the SQLite file, read while Rhone runs.
async fn sqlite_rows(f: &Fixture, sql: &str) -> Vec<(String, i64)> {
    let url = format!("sqlite://{}?mode=ro", f.root.path().join("data/rhone.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn a_sigkill_amid_a_burst_of_push_deliveries_deploys_each_delivery_exactly_once() {
    const SECRET: &str = "crash-test-webhook-secret";
    const N: usize = 60;
    let f = Fixture::new();
    let env = [("RHONE_GITHUB_WEBHOOK_SECRET", SECRET)];
    let start = || Rhone::start(Start { root: f.root.path(), env: &env, uid: None });
    let r = start().await;
    create(&r, &f, "web", "python3 app.py", "true", "v1").await;
    let head = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(f.repo.path()).output().unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_string();
    let body = json!({
        "ref": "refs/heads/main", "after": head, "deleted": false, "commits": [],
        "repository": {"id": 4242, "full_name": "acme/web", "default_branch": "main", "clone_url": f.repo.path().to_str().unwrap()},
    })
    .to_string();
    let deliver = |base: String, i: usize| {
        let body = body.clone();
        async move {
            let sig = domain::github::sign(SECRET.as_bytes(), body.as_bytes());
            reqwest::Client::new()
                .post(format!("{base}/api/v1/webhooks/github"))
                .header("X-GitHub-Event", "push")
                .header("X-GitHub-Delivery", format!("burst-{i}"))
                .header("X-Hub-Signature-256", sig)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
        }
    };

    // a burst of distinct deliveries; Rhone is killed as soon as the first one is answered
    let (tx, mut first) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for i in 0..N {
        let (call, tx) = (deliver(r.base.clone(), i), tx.clone());
        tasks.push(tokio::spawn(async move {
            let res = call.await;
            let _ = tx.send(());
            res.map(|r| r.status())
        }));
    }
    first.recv().await;
    r.sigkill();
    let mut answered = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Ok(s) if s.is_success()) {
            answered += 1;
        }
    }
    assert!(answered < N, "the kill came before every delivery was answered ({answered} of {N})");

    // the restart handles again every delivery it had claimed and not finished
    let r = start().await;
    let unfinished = sqlite_rows(&f, "SELECT delivery_id, 0 FROM webhook_deliveries WHERE outcome IS NULL").await;
    assert!(unfinished.is_empty(), "claims left unfinished after the restart: {unfinished:?}");
    let per_delivery = "SELECT delivery_key, COUNT(*) FROM deployments WHERE delivery_key IS NOT NULL GROUP BY delivery_key";
    let counts = sqlite_rows(&f, per_delivery).await;
    assert!(counts.iter().all(|(_, n)| *n == 1), "a delivery deployed twice: {counts:?}");
    let handled = sqlite_rows(&f, "SELECT delivery_id, 0 FROM webhook_deliveries").await;
    assert!(handled.len() >= answered, "every answered delivery is recorded ({} < {answered})", handled.len());
    for (key, _) in &handled {
        assert!(counts.iter().any(|(k, _)| k == key), "delivery {key} was taken and deployed nothing: {counts:?}");
    }

    // GitHub's redelivery of the whole burst: the handled ones are duplicates, the rest deploy once
    for i in 0..N {
        let res = deliver(r.base.clone(), i).await.unwrap();
        assert!(res.status().is_success(), "redelivery {i}: {}", res.status());
    }
    let counts = sqlite_rows(&f, per_delivery).await;
    assert_eq!(counts.len(), N, "one deployment per delivery: {counts:?}");
    assert!(counts.iter().all(|(_, n)| *n == 1), "{counts:?}");
    let total = sqlite_rows(&f, "SELECT 'all', COUNT(*) FROM deployments").await;
    assert_eq!(total[0].1, N as i64, "no deployment without its delivery");
    r.sigkill();
}

/// The usage report's windows, read straight from the SQLite file: (meter, window start, value).
async fn usage_reports(f: &Fixture) -> Vec<(String, i64, i64)> {
    let url = format!("sqlite://{}?mode=ro", f.root.path().join("data/rhone.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as("SELECT meter, window_start, value FROM usage_reports ORDER BY meter, window_start").fetch_all(&pool).await.unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn a_usage_report_cut_by_a_sigkill_is_sent_again_under_its_identifier_and_counted_once() {
    use stripe_stub::{checkout_completed, event, StripeStub, SECRET_KEY};
    let f = Fixture::new();
    let stub = StripeStub::start().await;
    // each meter event is answered after 3 s: Stripe has it while Rhone still waits
    stub.delay_meter_events(Duration::from_secs(3));
    let env = [("RHONE_STRIPE_SECRET_KEY", SECRET_KEY), ("RHONE_STRIPE_WEBHOOK_SECRET", "whsec_crash"), ("RHONE_STRIPE_API_URL", stub.url.as_str()), ("RHONE_USAGE_REPORT_SECS", "1")];
    let r = Rhone::start(Start { root: f.root.path(), env: &env, uid: None }).await;
    let team = r.call(reqwest::Method::GET, "/teams", json!(null)).await[0].clone();
    let (slug, team_id) = (team["slug"].as_str().unwrap().to_string(), team["id"].as_i64().unwrap());
    let paid = event("evt_crash", "checkout.session.completed", chrono::Utc::now().timestamp() - 5, checkout_completed(team_id, "cus_crash", "free"));
    let signature = domain::billing::sign("whsec_crash", chrono::Utc::now().timestamp(), paid.as_bytes());
    let res = r.http.post(format!("{}/api/v1/webhooks/stripe", r.base)).header("Stripe-Signature", signature).body(paid).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    create(&r, &f, "metered", "python3 app.py", "true", "v1").await;
    let id = r.deploy("metered").await;
    r.wait_status(id, "live").await;

    // killed while Stripe holds a meter event Rhone has not heard back about
    let mut sent = 0;
    for _ in 0..300 {
        sent = stub.calls("/v1/billing/meter_events").len();
        if sent > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sent > 0, "a report started");
    let in_flight = stub.calls("/v1/billing/meter_events")[0].form["identifier"].clone();
    r.sigkill();
    assert!(usage_reports(&f).await.iter().all(|(m, w, _)| format!("rhone-{team_id}-{m}-{w}") != in_flight), "not recorded as sent");

    // started again: the window goes out again under the same identifier, and once the app is
    // stopped and its windows are closed and reported, Stripe's count equals Rhone's measure
    stub.delay_meter_events(Duration::ZERO);
    let r = Rhone::start(Start { root: f.root.path(), env: &env, uid: None }).await;
    r.call(reqwest::Method::POST, "/apps/metered/stop", json!({})).await;
    let mut shown = json!(null);
    for _ in 0..200 {
        shown = r.call(reqwest::Method::GET, &format!("/teams/{slug}/billing/usage?from=0"), json!(null)).await;
        let seconds = shown.as_array().unwrap().iter().find(|m| m["meter"] == "rhone_machine_seconds").unwrap().clone();
        if seconds["measured"] == seconds["reported"] && seconds["reported"].as_i64() > Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = stub.calls("/v1/billing/meter_events").iter().filter(|c| c.form["identifier"] == in_flight).count();
    assert_eq!(again, 2, "{in_flight} was sent again after the restart");
    for m in shown.as_array().unwrap() {
        let meter = m["meter"].as_str().unwrap();
        let counted: i64 = stub.meter_events().iter().filter(|e| e.0 == meter).map(|e| e.2).sum();
        assert_eq!((m["measured"].as_i64(), m["reported"].as_i64(), Some(counted)), (m["measured"].as_i64(), m["measured"].as_i64(), m["measured"].as_i64()), "{meter}: {shown}");
    }
    let recorded = usage_reports(&f).await;
    let unique: std::collections::HashSet<_> = recorded.iter().map(|(m, w, _)| (m.clone(), *w)).collect();
    assert_eq!(unique.len(), recorded.len(), "each window recorded once");
}
