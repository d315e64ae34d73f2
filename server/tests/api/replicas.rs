//! The deploy contract beyond one instance: replicas balanced across healthy instances, cookie
//! affinity, and the post-switch watch that gives the traffic back to the previous version when the
//! new one fails right after the switch.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app_with, Repo, TestApp};

/// Answers `GET /` with `<version> <pid>`; with `die_after` set it exits that many seconds after
/// it started (it passes its health check first).
fn pid_app(version: &str, die_after: Option<f64>) -> String {
    let die = match die_after {
        Some(s) => format!("time.sleep({s}); os._exit(1)"),
        None => "threading.Event().wait()".to_string(),
    };
    format!(
        r#"import os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        b = ("{version} " + str(os.getpid())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H)
threading.Thread(target=s.serve_forever, daemon=True).start()
{die}
"#
    )
}

async fn get(app: &TestApp, slug: &str, cookie: Option<&str>) -> (String, Option<String>) {
    let mut req = reqwest::Client::new().get(format!("http://127.0.0.1:{}/", app.proxy_port)).header("Host", format!("{slug}.localhost"));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let res = req.send().await.expect("proxy request");
    let status = res.status();
    let set = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()).map(|v| v.split(';').next().unwrap_or("").to_string());
    let body = res.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "{body}");
    (body, set)
}

#[tokio::test]
async fn replicas_are_balanced_and_sticky_sessions_keep_their_instance() {
    let app = spawn_app_with(&[]).await;
    let repo = Repo::new(&[("app.py", &pid_app("v1", None))]);
    app.create_app("trio", &repo.path(), json!({"build_command": "true", "start_command": "python3 app.py", "replicas": 3, "sticky_sessions": true})).await;
    let d = app.deploy_and_wait("trio").await;
    assert_eq!(d["status"], "live", "{d}");

    // without a cookie: round-robin over the three instances, each answer pins the client
    let mut pids = HashSet::new();
    let mut first_cookie = None;
    for _ in 0..6 {
        let (body, set) = get(&app, "trio", None).await;
        assert!(body.starts_with("v1 "), "{body}");
        assert!(set.as_deref().is_some_and(|c| c.starts_with("rhone_replica=")), "a new client gets an affinity cookie: {set:?}");
        first_cookie.get_or_insert(set.unwrap_or_default());
        pids.insert(body);
    }
    assert_eq!(pids.len(), 3, "three instances serve: {pids:?}");

    // with the cookie: always the same instance
    let cookie = first_cookie.unwrap_or_default();
    let (pinned, _) = get(&app, "trio", Some(&cookie)).await;
    for _ in 0..10 {
        let (body, set) = get(&app, "trio", Some(&cookie)).await;
        assert_eq!(body, pinned, "a sticky client stays on its instance");
        assert_eq!(set, None, "and is not given a new cookie");
    }

    // that instance dies: its clients move to a healthy one while Rhone restarts it
    let pid: i32 = pinned.split(' ').nth(1).and_then(|p| p.parse().ok()).expect("pid");
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().expect("kill").success());
    // (a request racing the kill itself may still meet the dead socket: 502)
    let mut moved = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (body, _) = get(&app, "trio", Some(&cookie)).await;
        if body != pinned {
            moved = true;
            break;
        }
    }
    assert!(moved, "the client of a dead instance is served by another one");

    // a redeploy replaces every instance
    repo.commit(&[("app.py", &pid_app("v2", None))], "v2");
    let d2 = app.deploy_and_wait("trio").await;
    assert_eq!(d2["status"], "live", "{d2}");
    let mut v2 = HashSet::new();
    for _ in 0..6 {
        let (body, _) = get(&app, "trio", None).await;
        assert!(body.starts_with("v2 "), "only the new version answers after the switch: {body}");
        v2.insert(body);
    }
    assert_eq!(v2.len(), 3, "{v2:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_version_that_fails_right_after_the_switch_gives_the_traffic_back() {
    let app = spawn_app_with(&[("RHONE_SWITCH_WATCH_SECS", "6")]).await;
    let repo = Repo::new(&[("app.py", &pid_app("v1", None))]);
    app.create_app("flaky", &repo.path(), json!({"build_command": "true", "start_command": "python3 app.py"})).await;
    let first = app.deploy_and_wait("flaky").await;
    assert_eq!(first["status"], "live", "{first}");
    let (before, _) = get(&app, "flaky", None).await;

    // v2 passes its health check, then exits 2 s later: within the watch
    repo.commit(&[("app.py", &pid_app("v2", Some(2.0)))], "v2 dies");
    let second = app.deploy("flaky").await;
    let mut status = String::new();
    for _ in 0..200 {
        let (_, d) = app.get(&format!("/deployments/{second}")).await;
        status = d["status"].as_str().unwrap_or_default().to_string();
        if status == "failed" {
            assert!(d["error"].as_str().unwrap_or_default().contains("right after the switch"), "{d}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "failed", "the deployment that failed after its switch is failed");
    let (_, d1) = app.get(&format!("/deployments/{}", first["id"])).await;
    assert_eq!(d1["status"], "live", "the previous deployment is live again: {d1}");
    let (after, _) = get(&app, "flaky", None).await;
    assert_eq!(after, before, "the previous version's same process serves again (it was never stopped)");
    app.stop().await;
}
