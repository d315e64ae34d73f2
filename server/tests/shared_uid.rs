//! A Rhone that is not root cannot run apps under their own users: it refuses to run them, unless the
//! operator allows sharing its uid, and then every dashboard page says so.

mod support;

use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::json;
use support::{Rhone, Start};

const NOBODY: u32 = 65534;
const APP: &str = r#"import os
from http.server import BaseHTTPRequestHandler, HTTPServer
def peek(path):
    try:
        open(path, "rb").read(1)
        return "read"
    except OSError as e:
        return "denied:" + type(e).__name__
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        b = (peek(self.path[5:]) if self.path.startswith("/read") else str(os.getuid())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

/// A root dir and a repository owned by `nobody`, so a Rhone running as `nobody` can use them.
fn fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let repo = root.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    std::fs::write(repo.join("app.py"), APP).unwrap();
    for args in [&["init", "-q", "-b", "main"][..], &["add", "-A"], &["-c", "user.email=t@e.x", "-c", "user.name=t", "commit", "-qm", "app"]] {
        assert!(Command::new("git").args(args).current_dir(&repo).status().unwrap().success());
    }
    assert!(Command::new("chown").args(["-R", &format!("{NOBODY}:{NOBODY}"), root.path().to_str().unwrap()]).status().unwrap().success());
    (root, repo)
}

async fn start(root: &Path, env: &[(&str, &str)]) -> Rhone {
    Rhone::start(Start { root, env, uid: Some(NOBODY) }).await
}

async fn deploy(r: &Rhone, repo: &Path) -> serde_json::Value {
    r.call(Method::POST, "/apps", json!({"name": "web", "repo_url": repo.to_str().unwrap(), "build_command": "true", "start_command": "python3 app.py"})).await;
    let id = r.deploy("web").await;
    for _ in 0..400 {
        let d = r.deployment(id).await;
        if !matches!(d["status"].as_str(), Some("pending" | "building" | "deploying")) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("deployment {id} did not finish");
}

#[tokio::test]
async fn a_rhone_that_is_not_root_refuses_to_run_apps() {
    let (root, repo) = fixture();
    let r = start(root.path(), &[]).await;
    let d = deploy(&r, &repo).await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("allow_shared_uid"), "{d}");
    r.sigkill();
}

#[tokio::test]
async fn with_allow_shared_uid_apps_run_as_rhones_user_and_the_dashboard_warns() {
    let (root, repo) = fixture();
    let r = start(root.path(), &[("RHONE_ALLOW_SHARED_UID", "true"), ("RHONE_STOP_APPS", "true")]).await;
    let d = deploy(&r, &repo).await;
    assert_eq!(d["status"], "live", "{d}");
    assert_eq!(r.get("web", "/").await.1, NOBODY.to_string(), "the app runs as Rhone's own user");
    // same uid, yet Landlock keeps it out of Rhone's data dir
    let key = root.path().join("data/secret.key");
    assert!(key.is_file());
    assert_eq!(r.get("web", &format!("/read{}", key.display())).await.1, "denied:PermissionError", "the app read Rhone's secret key");
    assert_eq!(r.get("web", "/read/etc/hostname").await.1, "read");
    // log in through the dashboard's form and look at a page
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = no_redirect
        .post(format!("{}/auth/login", r.base))
        .header("Origin", &r.base)
        .form(&[("email", support::EMAIL), ("password", support::PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers().get_all("set-cookie").iter().find_map(|c| c.to_str().ok()?.split(';').next().map(String::from)).expect("session cookie");
    let page = r.http.get(format!("{}/", r.base)).header("Cookie", cookie).header("Accept", "text/html").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-testid=\"platform-warning\"") && page.contains("allow_shared_uid"), "no warning banner on the dashboard");
    r.sigkill();
    // the app was left running by the SIGKILL: stop it
    for pid in support::processes(root.path(), "") {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
}
