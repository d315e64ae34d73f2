//! Test harness: the real server on port 0 with a fresh SQLite database in a temp dir, a REST client
//! with an API token, local git repositories, and requests through the proxy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rhone::config::Config;
use rhone::site::SiteSettings;
use rhone::Running;
use serde_json::{json, Value};

pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct-horse-battery";

pub struct TestApp {
    pub running: Option<Running>,
    pub base: String,
    pub proxy_port: u16,
    pub token: String,
    pub client: reqwest::Client,
    pub data: tempfile::TempDir,
    /// Config overrides this server was started with (kept across `restart`).
    pub extra: Vec<(String, String)>,
}

pub fn site() -> SiteSettings {
    SiteSettings { output_name: "rhone".into(), site_root: "target/site".into(), site_pkg_dir: "pkg".into(), env: "PROD".into(), hash_files: false }
}

/// The test's directories: `<tmp>/data` (Rhone's, 0700) and `<tmp>/apps` (the apps'); `<tmp>` is made
/// traversable so app users reach their own directories, as on a real installation.
pub fn config(root: &Path, extra: &[(&str, &str)]) -> Config {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711)).expect("chmod test root");
    let data = root.join("data");
    let apps = root.join("apps");
    let mut env: Vec<(String, String)> = [
        ("RHONE_DATA_DIR", data.to_str().unwrap_or_default()),
        ("RHONE_APPS_DIR", apps.to_str().unwrap_or_default()),
        // in-process tests stop their apps with the server unless a test keeps them on purpose
        ("RHONE_STOP_APPS", "true"),
        ("RHONE_ADDR", "127.0.0.1:0"),
        ("RHONE_PROXY_ADDR", "127.0.0.1:0"),
        ("RHONE_ADMIN_EMAIL", EMAIL),
        ("RHONE_ADMIN_PASSWORD", PASSWORD),
        ("RHONE_HEALTH_TIMEOUT_SECS", "20"),
        ("RHONE_DRAIN_TIMEOUT_SECS", "2"),
        // a short post-switch watch keeps deploy tails short (a test of the watch sets its own)
        ("RHONE_SWITCH_WATCH_SECS", "1"),
        // apps run as processes unless a test asks for docker (`auto` would pick any engine here)
        ("RHONE_DEFAULT_RUNTIME", "process"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_sources(None, env).expect("test config")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let running = rhone::start(config(data.path(), extra), site()).await.expect("rhone starts");
    let mut app = TestApp::from_running(running, data).await;
    app.extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    app.token = app.login_token().await;
    app
}

impl TestApp {
    pub async fn from_running(running: Running, data: tempfile::TempDir) -> TestApp {
        TestApp {
            base: format!("http://{}", running.addr),
            proxy_port: running.proxy_addr.port(),
            running: Some(running),
            token: String::new(),
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client"),
            data,
            extra: Vec::new(),
        }
    }

    pub async fn login_token(&self) -> String {
        let res = self.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": EMAIL, "password": PASSWORD})).send().await.expect("token request");
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_string()
    }

    /// Stops this server and starts a new one on the same data dir (a restart of Rhone).
    pub async fn restart(mut self, extra: &[(&str, &str)]) -> TestApp {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let mut all: Vec<(&str, &str)> = self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.extend_from_slice(extra);
        let running = rhone::start(config(self.data.path(), &all), site()).await.expect("rhone restarts");
        let extra_kept = std::mem::take(&mut self.extra);
        let data = std::mem::replace(&mut self.data, tempfile::tempdir().expect("temp dir"));
        let mut app = TestApp::from_running(running, data).await;
        app.extra = extra_kept;
        app.token = app.login_token().await;
        app
    }

    pub fn anon(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{}", self.base, path))
    }

    pub fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.anon(method, &format!("/api/v1{path}")).bearer_auth(&self.token)
    }

    pub async fn json(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self.api(method, path).json(&body).send().await.expect("request");
        split(res).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        split(self.api(Method::GET, path).send().await.expect("request")).await
    }

    /// A request with another user's API token.
    pub fn as_token(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.anon(method, &format!("/api/v1{path}")).bearer_auth(token)
    }

    /// An API token for `email` (password login).
    pub async fn token_for(&self, email: &str, password: &str) -> String {
        let res = self.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": email, "password": password})).send().await.expect("token request");
        let (status, body) = split(res).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// Invites `email` into `team` with `role` (as the owner) and accepts as a new account with
    /// [`PASSWORD`]; returns the new user's id and an API token of theirs.
    pub async fn join_as(&self, team: &str, email: &str, role: &str) -> (i64, String) {
        let (status, inv) = self.json(Method::POST, &format!("/teams/{team}/invitations"), json!({"email": email, "role": role})).await;
        assert_eq!(status, StatusCode::CREATED, "{inv}");
        let token = invitation_token(&inv);
        let res = self.anon(Method::POST, &format!("/api/v1/invitations/{token}/accept")).json(&json!({"password": PASSWORD})).send().await.expect("accept");
        let (status, joined) = split(res).await;
        assert_eq!(status, StatusCode::OK, "{joined}");
        (joined["user"]["id"].as_i64().expect("user id"), self.token_for(email, PASSWORD).await)
    }

    pub async fn create_app(&self, name: &str, repo: &Path, extra: Value) -> Value {
        let mut body = json!({"name": name, "repo_url": repo.to_str().expect("utf-8 path")});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, app) = self.json(Method::POST, "/apps", body).await;
        assert_eq!(status, StatusCode::CREATED, "{app}");
        app
    }

    pub async fn deploy(&self, slug: &str) -> i64 {
        let (status, dep) = self.json(Method::POST, &format!("/apps/{slug}/deployments"), json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{dep}");
        dep["id"].as_i64().expect("deployment id")
    }

    /// Polls until the deployment reaches a final state (at most 60 s); returns it.
    pub async fn wait_final(&self, id: i64) -> Value {
        self.wait_final_within(id, Duration::from_secs(60)).await
    }

    /// Polls (every 100 ms, `limit` / 100 ms times) until the deployment reaches a final state;
    /// returns it.
    pub async fn wait_final_within(&self, id: i64, limit: Duration) -> Value {
        for _ in 0..limit.as_millis() / 100 {
            let (_, d) = self.get(&format!("/deployments/{id}")).await;
            if !matches!(d["status"].as_str(), Some("pending" | "building" | "deploying")) {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("deployment {id} did not finish in {} s", limit.as_secs());
    }

    pub async fn deploy_and_wait(&self, slug: &str) -> Value {
        let id = self.deploy(slug).await;
        self.wait_final(id).await
    }

    /// A request through the proxy with `Host: <slug>.localhost`.
    pub async fn via_proxy(&self, slug: &str, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(format!("http://127.0.0.1:{}{}", self.proxy_port, path))
            .header("Host", format!("{slug}.localhost"))
            .send()
            .await
            .expect("proxy request");
        let status = res.status();
        (status, res.text().await.unwrap_or_default())
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data.path().join("data")
    }

    pub fn apps_dir(&self) -> PathBuf {
        self.data.path().join("apps")
    }
}

/// A test that panics (or keeps its apps running on purpose) leaves no processes behind.
impl Drop for TestApp {
    fn drop(&mut self) {
        for pid in crate::support::processes(&self.apps_dir(), "") {
            domain::runtime::sys::signal_group(pid, domain::runtime::sys::SIGKILL);
            let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// The secret token at the end of an invitation's `url`.
pub fn invitation_token(inv: &Value) -> String {
    let url = inv["url"].as_str().expect("invitation url");
    url.rsplit('/').next().expect("token").to_string()
}

pub async fn split(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A git repository with one commit of `files`.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(files: &[(&str, &str)]) -> Repo {
        let dir = tempfile::tempdir().expect("repo dir");
        git(dir.path(), &["init", "-q", "-b", "main"]);
        let repo = Repo { dir };
        repo.commit(files, "initial");
        repo
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub fn commit(&self, files: &[(&str, &str)], message: &str) {
        for (name, body) in files {
            let p = self.dir.path().join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&p, body).expect("write file");
        }
        git(self.dir.path(), &["add", "-A"]);
        git(self.dir.path(), &["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", message]);
    }

    /// The sha of the newest commit.
    pub fn head(&self) -> String {
        let out = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(self.dir.path()).output().expect("git rev-parse");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git").args(args).current_dir(dir).status().expect("git runs").success();
    assert!(ok, "git {args:?} failed");
}

/// A Python app (no dependencies) answering `GET /` with `body`, printing `startup` lines.
pub fn python_app(body: &str) -> Vec<(&'static str, String)> {
    let app = format!(
        r#"import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
print("python app starting", flush=True)
print("secret is " + os.environ.get("API_SECRET", "unset"), flush=True)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = {body:?}.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#
    );
    vec![("requirements.txt", String::new()), ("app.py", app)]
}

/// A Node app (no dependencies, npm start script) answering `GET /` with `body`.
pub fn node_app(body: &str) -> Vec<(&'static str, String)> {
    let server = format!(
        "const http = require('http');\nconsole.log('node app starting');\nhttp.createServer((req, res) => {{ res.end({body:?}); }}).listen(Number(process.env.PORT), '127.0.0.1');\n"
    );
    let pkg = r#"{"name":"node-test","version":"1.0.0","scripts":{"build":"node -e \"console.log('building node app')\"","start":"node server.js"}}"#;
    vec![("package.json", pkg.to_string()), ("server.js", server)]
}

pub fn files<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}
