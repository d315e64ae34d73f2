//! Graceful restarts keep apps running (re-adopted, same pid, output read on), and a cancelled
//! build leaves no process behind.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app_with, Repo};
use crate::support::processes;

const APP: &str = r#"import os
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/say/"):
            print(self.path[5:], flush=True)
        b = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

#[tokio::test]
async fn a_graceful_restart_keeps_the_app_process_and_its_output() {
    let app = spawn_app_with(&[("RHONE_STOP_APPS", "false")]).await;
    let repo = Repo::new(&[("app.py", APP)]);
    app.create_app("keeper", &repo.path(), json!({"build_command": "true", "start_command": "python3 app.py"})).await;
    let d = app.deploy_and_wait("keeper").await;
    assert_eq!(d["status"], "live", "{d}");
    let (_, pid_before) = app.via_proxy("keeper", "/").await;
    let app = app.restart(&[]).await;
    let (status, pid_after) = app.via_proxy("keeper", "/say/after-restart").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pid_after, pid_before, "the same process serves after the restart");
    let mut found = false;
    for _ in 0..100 {
        let res = app.api(Method::GET, "/apps/keeper/logs").send().await.unwrap();
        let mut res = res;
        let mut text = String::new();
        while let Ok(Ok(Some(c))) = tokio::time::timeout(Duration::from_millis(300), res.chunk()).await {
            text.push_str(&String::from_utf8_lossy(&c));
        }
        if text.contains("after-restart") {
            found = true;
            break;
        }
    }
    assert!(found, "output of the re-adopted process reaches the runtime log");
    app.stop().await;
}

#[tokio::test]
async fn a_cancelled_build_leaves_no_process_behind() {
    let app = spawn_app_with(&[]).await;
    let repo = Repo::new(&[("app.py", APP)]);
    app.create_app("cancelme", &repo.path(), json!({"build_command": "sleep 303 & sleep 304", "start_command": "python3 app.py"})).await;
    let id = app.deploy("cancelme").await;
    let checkout = app.apps_dir().join("cancelme/builds").join(id.to_string());
    let mut running = 0;
    for _ in 0..200 {
        running = processes(&checkout, "sleep 30").len();
        if running >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(running >= 2, "the build's processes run");
    let (status, d) = app.json(Method::POST, &format!("/deployments/{id}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let mut left = processes(&checkout, "");
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = processes(&checkout, "");
    }
    assert!(processes(&app.apps_dir(), "sleep 30").is_empty(), "no sleep of the build survives anywhere");
    assert!(left.is_empty(), "the cancelled build's process group is gone, background children included: {left:?}");
    assert_eq!(app.wait_final(id).await["status"], "cancelled");
    app.stop().await;
}
