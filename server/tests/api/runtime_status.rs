//! The live version's runtime state in the API and the dashboard (running with its restarts,
//! restarting, crashed with the reason and the last log lines) and the disk an app's kept builds
//! use, on the process runtime. `docker_status.rs` runs the same on the docker runtime.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Repo, TestApp};
use crate::web::{owner_login, with_cookie};

/// Answers `GET /` with `alive`; `GET /crash/<n>` prints `crash request <n>` and exits with 7.
pub const CRASHY: &str = r#"import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
print("booting", flush=True)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/crash/"):
            print("crash request " + self.path[7:], flush=True)
            os._exit(7)
        self.send_response(200); self.send_header("Content-Length", "5"); self.end_headers(); self.wfile.write(b"alive")
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

pub async fn runtime_status(app: &TestApp, slug: &str) -> Value {
    let (status, v) = app.get(&format!("/apps/{slug}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["runtime_status"].clone()
}

/// Polls the app's runtime status until `cond` holds (at most 30 s); returns the last one seen.
pub async fn status_until(app: &TestApp, slug: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = runtime_status(app, slug).await;
        if cond(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// Waits until the app answers `alive` through the proxy again (after a crash restart).
pub async fn serving(app: &TestApp, slug: &str) -> bool {
    for _ in 0..300 {
        if app.via_proxy(slug, "/").await == (StatusCode::OK, "alive".to_string()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Crashes the live app `CRASH_LIMIT` (5) times, checking the state and the restart count after
/// each restart, then checks that it is reported crashed, with the reason and its last lines, in
/// the app and in the app list.
pub async fn crash_until_given_up(app: &TestApp, slug: &str) {
    for k in 1..=5 {
        assert!(serving(app, slug).await, "the app serves before crash {k}");
        let st = runtime_status(app, slug).await;
        assert_eq!(st["state"], "running", "before crash {k}: {st}");
        assert_eq!(st["restarts"], k - 1, "restarts since it went live, before crash {k}: {st}");
        assert_eq!((st["instances"].as_u64(), st["running"].as_u64()), (Some(1), Some(1)), "{st}");
        assert!(st.get("last_lines").is_none(), "a running app carries no crash lines: {st}");
        let (status, _) = app.via_proxy(slug, &format!("/crash/{k}")).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "crash {k} cuts its request");
    }
    let crashed = status_until(app, slug, |s| {
        s["state"] == "crashed" && s["last_lines"].as_array().is_some_and(|l| l.iter().any(|x| x == "crash request 5"))
    })
    .await;
    assert_eq!(crashed["state"], "crashed", "{crashed}");
    assert_eq!(crashed["restarts"], 4, "{crashed}");
    assert_eq!(crashed["running"], 0, "{crashed}");
    let reason = crashed["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("exited with status 7") && reason.contains("crashed 5 times in a row"), "{crashed}");
    let lines: Vec<&str> = crashed["last_lines"].as_array().expect("last lines").iter().filter_map(Value::as_str).collect();
    assert!(lines.len() <= 20, "at most the last 20 lines: {lines:?}");
    assert!(lines.contains(&"crash request 4") && lines.contains(&"booting"), "the app's own last output: {lines:?}");
    assert!(lines.iter().any(|l| l.contains("crashed 5 times in a row")), "Rhone's verdict is among them: {lines:?}");
    // nothing restarts it any more
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.via_proxy(slug, "/").await.0, StatusCode::BAD_GATEWAY);
    assert_eq!(runtime_status(app, slug).await["state"], "crashed");

    let (_, list) = app.get("/apps").await;
    let item = list.as_array().expect("app list").iter().find(|a| a["slug"] == slug).cloned().expect("the app is listed");
    assert_eq!(item["runtime_status"]["state"], "crashed", "the list shows it crashed: {item}");
    assert_eq!(item["state"], "crashed", "the app's own state says so: {item}");
    assert_eq!(item["newest"]["status"], "live", "while its newest deployment is still the live one: {item}");
    assert_eq!(item["live"]["number"], item["newest"]["number"], "{item}");
    assert!(item["runtime_status"].get("last_lines").is_none(), "lists carry no log lines: {item}");
    assert!(item.get("disk_usage").is_none(), "lists measure no disk: {item}");

    // the dashboard: the app page shows the state, the reason and the lines; the apps list flags it
    let cookie = owner_login(app).await;
    let page = with_cookie(app, Method::GET, &format!("/apps/{slug}"), &cookie, None).send().await.expect("app page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains(r#"data-testid="runtime-state" data-state="crashed""#), "the app page shows the state");
    assert!(html.contains("crashed 5 times in a row") && html.contains("crash request 4"), "and the reason and the last lines");
    let home = with_cookie(app, Method::GET, "/", &cookie, None).send().await.expect("apps page").text().await.unwrap_or_default();
    assert!(home.contains(&format!(r#"data-testid="app-state-{slug}" data-status="crashed""#)), "the apps list shows it crashed: {home}");
}

#[tokio::test]
async fn a_crash_looping_process_is_running_with_restarts_then_crashed_with_its_last_lines() {
    let app = spawn_app_with(&[("RHONE_CRASH_BACKOFF_MS", "100")]).await;
    let repo = Repo::new(&[("requirements.txt", ""), ("app.py", CRASHY)]);
    app.create_app("looper", &repo.path(), json!({})).await;
    let (_, shown) = app.get("/apps/looper").await;
    assert!(shown.get("runtime_status").is_some_and(Value::is_null), "never deployed: no runtime state: {shown}");
    assert_eq!(shown["disk_usage"], json!({"bytes": 0, "builds": 0}), "no kept build yet: {shown}");
    assert_eq!(app.deploy_and_wait("looper").await["status"], "live");
    crash_until_given_up(&app, "looper").await;
    let log = app.sse_until("/apps/looper/logs", "restarting in 0.1s").await;
    assert!(log.contains("exited with status 7; restarting in 0.1s"), "the configured backoff is used: {log}");
    app.stop().await;
}

#[tokio::test]
async fn a_crashed_app_waiting_for_its_restart_is_restarting() {
    let app = spawn_app_with(&[("RHONE_CRASH_BACKOFF_MS", "60000")]).await;
    let repo = Repo::new(&[("requirements.txt", ""), ("app.py", CRASHY)]);
    app.create_app("waiter", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("waiter").await["status"], "live");
    assert!(serving(&app, "waiter").await);
    app.via_proxy("waiter", "/crash/1").await;
    let st = status_until(&app, "waiter", |s| s["state"] == "restarting").await;
    assert_eq!(st["state"], "restarting", "{st}");
    assert_eq!((st["restarts"].as_u64(), st["running"].as_u64()), (Some(0), Some(0)), "{st}");
    assert_eq!(st["reason"], "exited with status 7", "{st}");
    app.stop().await;
}

#[tokio::test]
async fn disk_usage_counts_the_kept_checkouts_of_a_process_app() {
    let app = spawn_app_with(&[]).await;
    let blob = "x".repeat(300 * 1024);
    let repo = Repo::new(&[("index.html", "v1"), ("blob.txt", &blob)]);
    app.create_app("heavy", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("heavy").await["status"], "live");
    let (_, one) = app.get("/apps/heavy").await;
    assert_eq!(one["runtime_status"]["state"], "static", "{one}");
    assert_eq!(one["disk_usage"]["builds"], 1, "{one}");
    let first = one["disk_usage"]["bytes"].as_u64().expect("bytes");
    assert!(first >= 300 * 1024, "the kept checkout holds the 300 KiB file: {one}");

    repo.commit(&[("index.html", "v2")], "v2");
    assert_eq!(app.deploy_and_wait("heavy").await["status"], "live");
    let (_, two) = app.get("/apps/heavy").await;
    assert_eq!(two["disk_usage"]["builds"], 2, "a new kept build is measured at once (no stale cache): {two}");
    assert!(two["disk_usage"]["bytes"].as_u64().expect("bytes") >= 2 * 300 * 1024, "{two}");

    let (status, _) = app.get("/apps/..%2F..%2Fetc").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a slug that is no slug measures nothing");
    let (status, _) = app.anon(Method::GET, "/api/v1/apps/heavy").send().await.map(|r| (r.status(), ())).expect("request");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// Answers `GET /` with `alive` until `GET /sicken` was called; from then on (and after any restart:
/// the mark is a file in its TMPDIR) `GET /` is a 500.
const SICKENING: &str = r#"import os
from http.server import BaseHTTPRequestHandler, HTTPServer
MARK = os.path.join(os.environ["TMPDIR"], "sick")
print("booting", flush=True)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/sicken":
            open(MARK, "w").close()
        code, body = (500, b"sick!") if os.path.exists(MARK) else (200, b"alive")
        self.send_response(code); self.send_header("Content-Length", "5"); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

#[tokio::test]
async fn a_live_app_that_keeps_failing_its_health_check_is_restarted_then_crashed() {
    let app = spawn_app_with(&[("RHONE_CRASH_BACKOFF_MS", "100"), ("RHONE_HEALTH_INTERVAL_SECS", "1"), ("RHONE_HEALTH_FAILURES", "2")]).await;
    let repo = Repo::new(&[("requirements.txt", ""), ("app.py", SICKENING)]);
    app.create_app("sickly", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("sickly").await["status"], "live");
    // healthy: checked every second, never restarted
    tokio::time::sleep(Duration::from_secs(3)).await;
    let st = runtime_status(&app, "sickly").await;
    assert_eq!((st["state"].as_str(), st["restarts"].as_u64()), (Some("running"), Some(0)), "a healthy app is left alone: {st}");

    assert_eq!(app.via_proxy("sickly", "/sicken").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    let restarted = status_until(&app, "sickly", |s| s["restarts"].as_u64().is_some_and(|n| n >= 1)).await;
    assert!(restarted["restarts"].as_u64().is_some_and(|n| n >= 1), "two failed checks restart it: {restarted}");
    // it stays sick after every restart: it ends crashed, with the reason
    let crashed = status_until(&app, "sickly", |s| s["state"] == "crashed").await;
    assert_eq!(crashed["state"], "crashed", "{crashed}");
    let reason = crashed["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("failed its health check (GET /) 2 times in a row (last: HTTP 500)"), "{crashed}");
    assert!(reason.contains("crashed 5 times in a row"), "{crashed}");
    assert_eq!(crashed["running"], 0, "the last sick instance was stopped: {crashed}");
    let log = app.sse_until("/apps/sickly/logs", "stopping it to restart it").await;
    assert!(log.contains("failed its health check (GET /) 2 times in a row (last: HTTP 500); stopping it to restart it"), "{log}");
    app.stop().await;
}
