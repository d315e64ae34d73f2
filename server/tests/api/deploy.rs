use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{files, node_app, python_app, spawn_app, Repo};

#[tokio::test]
async fn static_site_is_served_through_the_proxy() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("index.html", "<h1>static v1</h1>"), ("about/index.html", "about page")]);
    let created = app.create_app("site", &repo.path(), json!({})).await;
    let slug = created["slug"].as_str().unwrap();
    let (status, _) = app.via_proxy(slug, "/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "no live version yet");
    let d = app.deploy_and_wait(slug).await;
    assert_eq!(d["status"], "live", "{d}");
    assert_eq!(d["commit_message"], "initial");
    let events: Vec<_> = d["events"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(events, ["pending", "building", "deploying", "live"]);
    assert_eq!(app.via_proxy(slug, "/").await, (StatusCode::OK, "<h1>static v1</h1>".into()));
    assert_eq!(app.via_proxy(slug, "/about/").await.1, "about page");
    let (status, page) = app.via_proxy("unknown", "/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("unknown.localhost"));
    app.stop().await;
}

#[tokio::test]
async fn python_app_deploys_redeploys_and_rolls_back() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&python_app("python v1")));
    app.create_app("py", &repo.path(), json!({})).await;
    let first = app.deploy_and_wait("py").await;
    assert_eq!(first["status"], "live", "{first}");
    assert_eq!(app.via_proxy("py", "/").await, (StatusCode::OK, "python v1".into()));

    repo.commit(&files(&python_app("python v2")), "second");
    let second = app.deploy_and_wait("py").await;
    assert_eq!(second["status"], "live", "{second}");
    assert_eq!(app.via_proxy("py", "/").await.1, "python v2");
    let (_, old) = app.get(&format!("/deployments/{}", first["id"])).await;
    assert_eq!(old["status"], "superseded");

    let (status, rb) = app.json(Method::POST, &format!("/deployments/{}/rollback", first["id"]), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{rb}");
    let rb = app.wait_final(rb["id"].as_i64().unwrap()).await;
    assert_eq!(rb["status"], "live", "{rb}");
    assert_eq!(rb["rollback_of"], first["id"]);
    assert_eq!(rb["build_ms"], 0, "a rollback does not rebuild");
    assert_eq!(app.via_proxy("py", "/").await.1, "python v1");
    app.stop().await;
}

#[tokio::test]
async fn node_app_runs_its_build_and_start_scripts() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&node_app("node says hi")));
    app.create_app("nodey", &repo.path(), json!({})).await;
    let d = app.deploy_and_wait("nodey").await;
    assert_eq!(d["status"], "live", "{d}");
    assert_eq!(app.via_proxy("nodey", "/").await, (StatusCode::OK, "node says hi".into()));
    let log = app.build_log(d["id"].as_i64().unwrap()).await;
    assert!(log.contains("building node app"), "build output is in the deployment log:\n{log}");
    app.stop().await;
}

#[tokio::test]
async fn broken_versions_fail_while_the_old_version_keeps_serving() {
    let app = spawn_app_fast().await;
    let repo = Repo::new(&files(&python_app("stable")));
    app.create_app("sturdy", &repo.path(), json!({})).await;
    let first = app.deploy_and_wait("sturdy").await;
    assert_eq!((first["status"].as_str(), first["stage"].as_str(), first["number"].as_i64()), (Some("live"), Some("switch"), Some(1)), "{first}");
    assert_eq!(first["stack"], "Python", "{first}");

    repo.commit(&[("app.py", "import sys\nprint('about to crash', flush=True)\nsys.exit(3)\n")], "crash");
    let crashed = app.deploy_and_wait("sturdy").await;
    assert_eq!(crashed["status"], "failed");
    assert!(crashed["error"].as_str().unwrap().contains("exited with status 3"), "{crashed}");
    assert_eq!((crashed["stage"].as_str(), crashed["number"].as_i64()), (Some("health_check"), Some(2)), "it failed while starting: {crashed}");
    assert_eq!(app.via_proxy("sturdy", "/").await.1, "stable");

    repo.commit(&[("app.py", "import time\nprint('never listening', flush=True)\ntime.sleep(600)\n")], "hang");
    let hung = app.deploy_and_wait("sturdy").await;
    assert_eq!(hung["status"], "failed");
    assert!(hung["error"].as_str().unwrap().contains("did not become healthy"), "{hung}");
    assert_eq!(app.via_proxy("sturdy", "/").await.1, "stable");

    repo.commit(&[("app.py", "x"), ("requirements.txt", "definitely-not-a-real-package-xyz==1\n")], "bad build");
    let bad = app.deploy_and_wait("sturdy").await;
    assert_eq!(bad["status"], "failed");
    assert!(bad["error"].as_str().unwrap().contains("build step failed"), "{bad}");
    assert_eq!(bad["stage"], "build", "{bad}");
    let (_, listed) = app.get("/apps").await;
    let item = &listed[0];
    assert_eq!((item["state"].as_str(), item["live"]["number"].as_i64(), item["newest"]["status"].as_str()), (Some("running"), Some(1), Some("failed")),
        "the app still runs v1 after failed deploys: {item}");
    assert_eq!(app.via_proxy("sturdy", "/").await.1, "stable");
    app.stop().await;
}

async fn spawn_app_fast() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(&[("RHONE_HEALTH_TIMEOUT_SECS", "3")]).await
}

#[tokio::test]
async fn a_newer_deploy_supersedes_and_cancel_stops_a_build() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("index.html", "v1")]);
    app.create_app("slow", &repo.path(), json!({"build_command": "echo started; sleep 30"})).await;
    let first = app.deploy("slow").await;
    app.wait_status(first, "building").await;
    let second = app.deploy("slow").await;
    let d1 = app.wait_final(first).await;
    assert_eq!(d1["status"], "superseded", "{d1}");
    app.wait_status(second, "building").await;
    let (status, c) = app.json(Method::POST, &format!("/deployments/{second}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let d2 = app.wait_final(second).await;
    assert_eq!(d2["status"], "cancelled");
    let (status, _) = app.json(Method::POST, &format!("/deployments/{second}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a finished deployment cannot be cancelled");
    app.stop().await;
}

#[tokio::test]
async fn secrets_are_redacted_from_runtime_logs() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&python_app("ok")));
    app.create_app("secretive", &repo.path(), json!({})).await;
    let (status, _) = app.json(Method::PUT, "/apps/secretive/env", json!({"API_SECRET": "sk_live_abcdef123456"})).await;
    assert_eq!(status, StatusCode::OK);
    let d = app.deploy_and_wait("secretive").await;
    assert_eq!(d["status"], "live", "{d}");
    let runtime = app.sse_until("/apps/secretive/logs", "secret is").await;
    assert!(runtime.contains("secret is [redacted]"), "{runtime}");
    assert!(!runtime.contains("sk_live_abcdef123456"));
    let build = app.build_log(d["id"].as_i64().unwrap()).await;
    assert!(!build.contains("sk_live_abcdef123456"));
    app.stop().await;
}

#[tokio::test]
async fn build_log_stream_replays_history_and_ends_with_the_final_status() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("index.html", "x")]);
    app.create_app("logged", &repo.path(), json!({"build_command": "for i in 1 2 3; do echo line-$i; sleep 0.2; done"})).await;
    let id = app.deploy("logged").await;
    // connect while the build runs: the stream must contain every line once, then `end`
    let log = app.build_log(id).await;
    for i in 1..=3 {
        assert_eq!(log.matches(&format!("line-{i}\"")).count(), 1, "line-{i} exactly once:\n{log}");
    }
    assert!(log.trim_end().ends_with("data: live"), "ends with the final status:\n{log}");
    app.stop().await;
}

#[tokio::test]
async fn live_apps_come_back_after_a_restart_and_interrupted_deploys_fail() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&python_app("survivor")));
    app.create_app("phoenix", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("phoenix").await["status"], "live");
    app.json(Method::PATCH, "/apps/phoenix", json!({"build_command": "sleep 60"})).await;
    let interrupted = app.deploy("phoenix").await;
    app.wait_status(interrupted, "building").await;

    let app = app.restart(&[]).await;
    assert_eq!(app.via_proxy("phoenix", "/").await, (StatusCode::OK, "survivor".into()));
    let d = app.wait_final(interrupted).await;
    assert_eq!(d["status"], "failed");
    assert!(d["error"].as_str().unwrap().contains("Rhone restarted"), "{d}");
    let (_, list) = app.get("/apps/phoenix/deployments").await;
    let live: Vec<_> = list.as_array().unwrap().iter().filter(|d| d["status"] == "live").collect();
    assert_eq!(live.len(), 1, "exactly one live version");
    app.stop().await;
}

impl crate::helpers::TestApp {
    pub async fn wait_status(&self, id: i64, status: &str) {
        for _ in 0..300 {
            let (_, d) = self.get(&format!("/deployments/{id}")).await;
            if d["status"] == status {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("deployment {id} never reached {status}");
    }

    /// The whole SSE body of a deployment's build log (it ends by itself).
    pub async fn build_log(&self, id: i64) -> String {
        let res = self.api(Method::GET, &format!("/deployments/{id}/logs")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        tokio::time::timeout(Duration::from_secs(120), res.text()).await.expect("stream ends").unwrap()
    }

    /// Reads an endless SSE stream until it contains `needle`.
    pub async fn sse_until(&self, path: &str, needle: &str) -> String {
        let mut res = self.api(Method::GET, path).send().await.unwrap();
        let mut out = String::new();
        let read = async {
            while let Ok(Some(chunk)) = res.chunk().await {
                out.push_str(&String::from_utf8_lossy(&chunk));
                if out.contains(needle) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(20), read).await;
        out
    }
}

#[tokio::test]
async fn only_the_last_five_successful_builds_are_kept_for_rollback() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("index.html", "v0")]);
    app.create_app("pruned", &repo.path(), json!({})).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        if i > 0 {
            repo.commit(&[("index.html", &format!("v{i}"))], &format!("v{i}"));
        }
        let d = app.deploy_and_wait("pruned").await;
        assert_eq!(d["status"], "live", "{d}");
        ids.push(d["id"].as_i64().unwrap());
    }
    // builds are pruned at the end of the pipeline, after the switch (and its watch): its log ends then
    let end = app.sse_until(&format!("/deployments/{}/logs", ids[6]), "event: end").await;
    assert!(end.contains("event: end"), "the last deployment's pipeline ended");
    let mut kept = Vec::new();
    for id in &ids {
        let (_, d) = app.get(&format!("/deployments/{id}")).await;
        kept.push(d["rollback_available"].as_bool().unwrap());
    }
    assert_eq!(kept, [false, false, true, true, true, true, true]);
    let on_disk = std::fs::read_dir(app.apps_dir().join("pruned/builds")).unwrap().count();
    assert_eq!(on_disk, 5, "pruned builds are deleted from disk");
    let (status, err) = app.json(Method::POST, &format!("/deployments/{}/rollback", ids[0]), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    app.stop().await;
}

#[tokio::test]
async fn a_live_process_that_crashes_is_restarted() {
    let app = spawn_app().await;
    let crashy = r#"import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/crash":
            os._exit(7)
        self.send_response(200); self.send_header("Content-Length", "5"); self.end_headers(); self.wfile.write(b"alive")
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;
    let repo = Repo::new(&[("requirements.txt", ""), ("app.py", crashy)]);
    app.create_app("crashy", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("crashy").await["status"], "live");
    let (status, _) = app.via_proxy("crashy", "/crash").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "the crash cuts the request");
    let mut back = false;
    for _ in 0..100 {
        if app.via_proxy("crashy", "/").await == (StatusCode::OK, "alive".to_string()) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "the supervisor restarts the live version");
    let log = app.sse_until("/apps/crashy/logs", "restarting").await;
    assert!(log.contains("exited with status 7; restarting"), "{log}");
    app.stop().await;
}

#[tokio::test]
async fn a_reconnecting_log_client_resumes_after_last_event_id() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("index.html", "x")]);
    app.create_app("resume", &repo.path(), json!({})).await;
    let id = app.deploy_and_wait("resume").await["id"].as_i64().unwrap();
    let full = app.build_log(id).await;
    let total = full.matches("event: line").count();
    assert!(total > 3, "{full}");
    let res = app.api(Method::GET, &format!("/deployments/{id}/logs")).header("Last-Event-ID", "3").send().await.unwrap();
    let rest = res.text().await.unwrap();
    assert_eq!(rest.matches("event: line").count(), total - 3, "{rest}");
    assert!(!rest.contains("id: 3\n") && rest.contains("id: 4\n"), "{rest}");
    app.stop().await;
}
