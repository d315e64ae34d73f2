//! Apps cannot reach Rhone or each other: a cleared environment, their own uid, private directories,
//! the start command run as written, and a port only counts if the version itself listens on it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Repo, TestApp};

/// A Python app that reports what it can see and do.
const PROBE: &str = r#"import os, json
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlparse, parse_qs
def attempt(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return "denied:" + type(e).__name__
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/env":
            body = json.dumps(dict(os.environ))
        elif u.path == "/id":
            body = json.dumps({"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid()})
        elif u.path == "/read":
            body = attempt(lambda: open(q["path"], "rb").read(1))
        elif u.path == "/list":
            body = attempt(lambda: os.listdir(q["path"]))
        elif u.path == "/kill":
            body = attempt(lambda: os.kill(int(q["pid"]), 0))
        elif u.path == "/file":
            body = open(q["path"]).read()
        else:
            body = "ok"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

fn probe_repo() -> Repo {
    Repo::new(&[("app.py", PROBE), ("requirements.txt", "")])
}

async fn deploy_probe(app: &TestApp, name: &str, repo: &Repo, start: &str) -> Value {
    deploy_probe_with(app, name, repo, start, json!({})).await
}

async fn deploy_probe_with(app: &TestApp, name: &str, repo: &Repo, start: &str, env: Value) -> Value {
    let created = app.create_app(name, &repo.path(), json!({"build_command": "env > build-env.txt", "start_command": start})).await;
    let slug = created["slug"].as_str().unwrap().to_string();
    let (status, _) = app.json(Method::PATCH, &format!("/apps/{slug}/env"), env).await;
    assert_eq!(status, StatusCode::OK);
    let d = app.deploy_and_wait(&slug).await;
    assert_eq!(d["status"], "live", "{d}");
    d
}

async fn ask(app: &TestApp, slug: &str, path: &str) -> String {
    let (status, body) = app.via_proxy(slug, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn apps_see_only_their_own_environment_user_and_files() {
    // Rhone's own secrets are in its process environment; no app may see them
    std::env::set_var("RHONE_SECRET_KEY", "leak-sentinel-secret-key");
    std::env::set_var("RHONE_ADMIN_PASSWORD", "leak-sentinel-password");
    let app = spawn_app().await;
    let repo = probe_repo();
    let a = deploy_probe_with(&app, "alpha", &repo, "python3 app.py", json!({"API_SECRET": "alpha-own-value"})).await["id"].clone();
    let b = deploy_probe(&app, "beta", &repo, "python3 app.py").await;

    let env: Value = serde_json::from_str(&ask(&app, "alpha", "/env").await).unwrap();
    let env_text = env.to_string();
    assert!(!env_text.contains("leak-sentinel"), "Rhone's secrets reached the app: {env_text}");
    assert!(env.get("RHONE_DATABASE_URL").is_none() && env.get("RHONE_SECRET_KEY").is_none(), "{env_text}");
    assert_eq!(env["RHONE_APP"], "alpha");
    assert_eq!(env["RHONE_DEPLOYMENT_ID"], a.to_string());
    assert_eq!(env["API_SECRET"], "alpha-own-value");
    assert!(env["PORT"].as_str().is_some_and(|p| p.parse::<u16>().is_ok()));
    assert!(env["HOME"].as_str().unwrap().starts_with(app.apps_dir().join("alpha").to_str().unwrap()), "{env_text}");
    let build_env = ask(&app, "alpha", "/file?path=build-env.txt").await;
    assert!(build_env.contains("RHONE_APP=alpha") && !build_env.contains("leak-sentinel"), "{build_env}");

    let id_a: Value = serde_json::from_str(&ask(&app, "alpha", "/id").await).unwrap();
    let id_b: Value = serde_json::from_str(&ask(&app, "beta", "/id").await).unwrap();
    assert_ne!(id_a["uid"], 0, "apps never run as root");
    assert_eq!(id_a["uid"], id_a["gid"]);
    assert!(id_a["groups"].as_array().unwrap().iter().all(|g| *g == id_a["gid"]), "no supplementary groups: {id_a}");
    assert_ne!(id_a["uid"], id_b["uid"], "each app has its own uid");

    let data = app.data_dir();
    let denied = |what: &str, body: String| assert!(body.starts_with("denied:"), "{what} was allowed: {body}");
    assert_eq!(ask(&app, "alpha", "/read?path=app.py").await, "ok", "the probe can read its own files");
    denied("secret.key", ask(&app, "alpha", &format!("/read?path={}", data.join("secret.key").display())).await);
    denied("the database", ask(&app, "alpha", &format!("/read?path={}", data.join("rhone.db").display())).await);
    denied("listing the data dir", ask(&app, "alpha", &format!("/list?path={}", data.display())).await);
    denied("listing the apps dir", ask(&app, "alpha", &format!("/list?path={}", app.apps_dir().display())).await);
    let beta_code = app.apps_dir().join("beta/builds").join(b["id"].to_string()).join("app.py");
    assert!(beta_code.is_file(), "beta's checkout is where the test expects it");
    denied("beta's code", ask(&app, "alpha", &format!("/read?path={}", beta_code.display())).await);
    let beta_pid = id_b["pid"].as_i64().unwrap();
    denied("beta's environ", ask(&app, "alpha", &format!("/read?path=/proc/{beta_pid}/environ")).await);
    denied("signalling beta", ask(&app, "alpha", &format!("/kill?pid={beta_pid}")).await);
    // Landlock: a world-readable file outside the app's own directory and the system paths
    let outside = app.data.path().join("world-readable.txt");
    std::fs::write(&outside, "anyone may read this").unwrap();
    std::fs::set_permissions(&outside, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    denied("a file outside the sandbox", ask(&app, "alpha", &format!("/read?path={}", outside.display())).await);
    assert_eq!(ask(&app, "alpha", "/read?path=/etc/hostname").await, "ok", "system files stay readable");
    let env_tmp = env["TMPDIR"].as_str().unwrap().to_string();
    assert!(env_tmp.starts_with(app.apps_dir().join("alpha").to_str().unwrap()), "each app has its own TMPDIR: {env_tmp}");
    assert_eq!(ask(&app, "beta", "/").await, "ok", "beta still serves");
    app.stop().await;
}

#[tokio::test]
async fn a_compound_start_command_runs_as_written() {
    let app = spawn_app().await;
    let repo = probe_repo();
    // a Procfile-style `migrate && exec server`: both parts must run
    let start = r#"python3 -c "open('migrated.txt', 'w').write('migrations ran')" && exec python3 app.py"#;
    deploy_probe(&app, "compound", &repo, start).await;
    assert_eq!(ask(&app, "compound", "/file?path=migrated.txt").await, "migrations ran");
    app.stop().await;
}

#[tokio::test]
async fn a_port_held_by_a_process_outside_the_version_does_not_go_live() {
    let app = spawn_app().await;
    let repo = probe_repo();
    // the server escapes the version's process tree (new session, parent gone); the version itself
    // only sleeps: whoever answers on PORT is not this version
    let start = "(setsid python3 app.py &) ; exec sleep 600";
    let created = app.create_app("hijack", &repo.path(), json!({"start_command": start, "build_command": "true"})).await;
    let d = app.deploy_and_wait(created["slug"].as_str().unwrap()).await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("not part of this version"), "{d}");
    let (status, _) = app.via_proxy("hijack", "/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "nothing is routed");
    app.stop().await;
}

#[tokio::test]
async fn repo_urls_with_credentials_are_refused_without_echoing_them() {
    let app = spawn_app().await;
    for url in ["https://user:ghp_SECRETTOKEN@github.com/a/b.git", "https://ghp_SECRETTOKEN@github.com/a/b.git"] {
        let (status, body) = app.json(Method::POST, "/apps", json!({"name": "creds", "repo_url": url})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let text = body.to_string();
        assert!(text.contains("access token") && !text.contains("SECRETTOKEN"), "{text}");
    }
    let (status, body) = app.json(Method::POST, "/apps", json!({"name": "ok", "repo_url": "https://github.com/a/b.git"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.json(Method::PATCH, "/apps/ok", json!({"repo_url": "https://x:ghp_SECRETTOKEN@github.com/a/b"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn local_repositories_never_reach_into_rhones_directories() {
    let app = spawn_app().await;
    let link_dir = tempfile::tempdir().unwrap();
    let link = link_dir.path().join("innocent");
    std::os::unix::fs::symlink(app.data_dir(), &link).unwrap();
    for path in [app.data_dir(), app.data_dir().join("run"), app.apps_dir(), link] {
        let (status, body) = app.json(Method::POST, "/apps", json!({"name": "peek", "repo_url": path.to_str().unwrap()})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{}: {body}", path.display());
        assert!(body.to_string().contains("Rhone's own"), "{body}");
    }
    let repo = probe_repo();
    let (status, body) = app.json(Method::POST, "/apps", json!({"name": "fine", "repo_url": repo.path().to_str().unwrap()})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn local_repositories_can_be_switched_off() {
    let app = spawn_app_with(&[("RHONE_ALLOW_LOCAL_REPOS", "false")]).await;
    let repo = probe_repo();
    let (status, body) = app.json(Method::POST, "/apps", json!({"name": "local", "repo_url": repo.path().to_str().unwrap()})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("allow_local_repos"), "{body}");
    let file_url = format!("file://{}", repo.path().display());
    let (status, _) = app.json(Method::POST, "/apps", json!({"name": "local", "repo_url": file_url})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = app.json(Method::POST, "/apps", json!({"name": "remote", "repo_url": "https://example.com/r.git"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_root_directory_that_leads_out_of_the_repository_is_refused() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("site/index.html", "inside")]);
    std::os::unix::fs::symlink("../../../../data", repo.path().join("escape")).unwrap();
    repo.commit(&[], "a symlink out of the checkout");
    app.create_app("escape", &repo.path(), json!({"root_dir": "escape"})).await;
    let d = app.deploy_and_wait("escape").await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("outside the repository"), "{d}");
    let (status, _) = app.via_proxy("escape", "/secret.key").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    app.stop().await;
}
