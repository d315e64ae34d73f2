//! Private repositories: a per-app access token (HTTPS, through GIT_ASKPASS) or deploy key (SSH,
//! through GIT_SSH_COMMAND), against real git servers on loopback. The secret never shows up in the
//! API, the deployment log or error, or any file Rhone keeps.

mod servers;

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{files, python_app, spawn_app, Repo, TestApp};
use servers::{GitHttp, Sshd};

fn unique_token() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("rhone-test-token-{}-{nanos}", std::process::id())
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return hits };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_symlink() {
            continue;
        }
        if p.is_dir() {
            hits.extend(files_containing(&p, needle));
        } else if std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            hits.push(p.display().to_string());
        }
    }
    hits
}

impl TestApp {
    async fn create_remote_app(&self, name: &str, url: &str) -> String {
        let (status, app) = self.json(Method::POST, "/apps", json!({"name": name, "repo_url": url})).await;
        assert_eq!(status, StatusCode::CREATED, "{app}");
        app["slug"].as_str().expect("slug").to_string()
    }

    /// A deployment's final state and its whole build log.
    async fn deploy_with_log(&self, slug: &str) -> (Value, String) {
        let d = self.deploy_and_wait(slug).await;
        let log = self.build_log(d["id"].as_i64().expect("id")).await;
        (d, log)
    }
}

#[tokio::test]
async fn a_private_https_repository_deploys_only_with_its_token_and_the_token_never_leaks() {
    let token = unique_token();
    let repo = Repo::new(&files(&python_app("private v1")));
    let server = GitHttp::start(&repo, "x-access-token", &token);
    let app = spawn_app().await;
    let slug = app.create_remote_app("private", &server.url()).await;
    let mut seen = Vec::new(); // every API answer and log, searched for the token at the end

    let cred = app.get(&format!("/apps/{slug}/credentials")).await.1;
    assert_eq!(cred["kind"], Value::Null, "{cred}");
    let (d, log) = app.deploy_with_log(&slug).await;
    assert_eq!(d["status"], "failed", "without the token the repository cannot be fetched: {d}");
    assert!(d["error"].as_str().unwrap().contains("access token or deploy key"), "{d}");
    assert!(log.contains("could not read Username"), "git could not authenticate: {log}");
    seen.extend([d.to_string(), log]);

    // a wrong token is sent and refused
    let res = app.api(Method::PUT, &format!("/apps/{slug}/credentials/token")).json(&json!({"token": "wrong-token"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (d, log) = app.deploy_with_log(&slug).await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(log.contains("Authentication failed"), "{log}");
    assert!(!log.contains("wrong-token") && !d.to_string().contains("wrong-token"));
    seen.extend([d.to_string(), log]);

    let res = app.api(Method::PUT, &format!("/apps/{slug}/credentials/token")).json(&json!({"token": format!(" {token}\n")})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.text().await.unwrap(), "", "the token is never echoed back");
    let (status, cred) = app.get(&format!("/apps/{slug}/credentials")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((cred["kind"].as_str(), cred["username"].as_str()), (Some("token"), Some("x-access-token")), "{cred}");
    seen.push(cred.to_string());

    let (d, log) = app.deploy_with_log(&slug).await;
    assert_eq!(d["status"], "live", "{d}\n{log}");
    assert_eq!(app.via_proxy(&slug, "/").await, (StatusCode::OK, "private v1".into()));
    assert!(log.contains(&format!("$ git fetch --depth 1 {} ", server.url())), "{log}");
    seen.extend([d.to_string(), log]);
    seen.push(app.get(&format!("/apps/{slug}")).await.1.to_string());
    seen.push(app.get(&format!("/apps/{slug}/deployments")).await.1.to_string());

    let requests = server.requests();
    assert!(requests.lines().any(|l| l.starts_with("OK GET /app.git/info/refs")), "the token was sent: {requests}");
    assert!(!requests.contains(&token), "the token is never in a URL: {requests}");
    for text in &seen {
        assert!(!text.contains(&token), "the token leaked into: {text}");
    }
    let data = app.data_dir();
    assert!(data.join("run/git-askpass").exists(), "git asked through Rhone's askpass script");
    assert!(!files_containing(&app.apps_dir(), b"private v1").is_empty(), "the scan below does read files");
    for dir in [data, app.apps_dir()] {
        assert_eq!(files_containing(&dir, token.as_bytes()), Vec::<String>::new(), "the token is on disk in clear");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_deploy_key_fetches_over_ssh_only_once_authorised_and_its_private_half_stays_inside() {
    let repo = Repo::new(&files(&python_app("deployed by key")));
    let sshd = Sshd::start(&repo);
    let app = spawn_app().await;
    let slug = app.create_remote_app("keyed", &sshd.url()).await;

    let (status, key) = app.json(Method::POST, &format!("/apps/{slug}/credentials/deploy-key"), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let public = key["public_key"].as_str().expect("public key").to_string();
    assert!(public.starts_with("ssh-ed25519 ") && public.ends_with(&format!(" rhone-{slug}")), "{public}");
    let (_, cred) = app.get(&format!("/apps/{slug}/credentials")).await;
    assert_eq!((cred["kind"].as_str(), cred["public_key"].as_str()), (Some("deploy_key"), Some(public.as_str())), "{cred}");

    // not yet added to the repository host: a clear failure
    let (d, log) = app.deploy_with_log(&slug).await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap().contains("access token or deploy key"), "{d}");
    assert!(log.contains("Permission denied (publickey)"), "{log}");

    sshd.authorize(&public);
    let (d, log) = app.deploy_with_log(&slug).await;
    assert_eq!(d["status"], "live", "{d}\n{log}\nsshd: {}", sshd.log());
    assert_eq!(app.via_proxy(&slug, "/").await, (StatusCode::OK, "deployed by key".into()));
    assert!(sshd.log().contains("Accepted publickey for root"), "{}", sshd.log());
    let known = std::fs::read_to_string(app.data_dir().join("run/known_hosts")).expect("host key recorded");
    assert!(known.contains(&format!("[127.0.0.1]:{}", sshd.port)), "{known}");

    // a regenerated key replaces the old one: the host still trusts only the old key, so it fails
    let (_, key2) = app.json(Method::POST, &format!("/apps/{slug}/credentials/deploy-key"), json!({})).await;
    assert_ne!(key2["public_key"].as_str(), Some(public.as_str()));
    let (d, _) = app.deploy_with_log(&slug).await;
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(app.via_proxy(&slug, "/").await.1, "deployed by key", "the live version keeps serving");

    let run = std::fs::read_dir(app.data_dir().join("run")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    let leftovers: Vec<String> = run.filter(|n| n.starts_with("git-key-") || n.starts_with("keygen-")).collect();
    assert_eq!(leftovers, Vec::<String>::new(), "temporary key files are deleted after each fetch");
    assert!(!files_containing(&app.apps_dir(), b"deployed by key").is_empty(), "the scan below does read files");
    for dir in [app.data_dir(), app.apps_dir()] {
        assert_eq!(files_containing(&dir, b"OPENSSH PRIVATE KEY"), Vec::<String>::new(), "a private key is on disk in clear");
    }
    for text in [cred.to_string(), key.to_string(), key2.to_string(), app.get(&format!("/apps/{slug}")).await.1.to_string()] {
        assert!(!text.contains("PRIVATE"), "{text}");
    }
    app.stop().await;
}

#[tokio::test]
async fn credential_endpoints_refuse_bad_input_and_show_only_what_is_public() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("index.html", "x")]);
    let slug = app.create_app("creds", &repo.path(), json!({})).await["slug"].as_str().unwrap().to_string();
    let path = format!("/apps/{slug}/credentials");

    for (body, field) in [(json!({"token": ""}), "token"), (json!({"token": "a b"}), "token"), (json!({"token": "a\nb"}), "token"), (json!({"token": "t", "username": "u:p"}), "username")] {
        let (status, err) = app.json(Method::PUT, &format!("{path}/token"), body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert!(err["error"].as_str().unwrap().starts_with(field), "{err}");
    }
    let (status, err) = app.json(Method::PUT, &format!("{path}/token"), json!({"tokn": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a misspelt field is refused: {err}");
    let res = app.api(Method::PUT, &format!("{path}/token")).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&path).await.1["kind"], Value::Null, "nothing was stored by refused requests");

    for (method, p) in [(Method::GET, "/apps/nope/credentials"), (Method::DELETE, "/apps/nope/credentials"), (Method::POST, "/apps/nope/credentials/deploy-key")] {
        assert_eq!(app.api(method, p).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{p}");
    }
    let (status, _) = app.json(Method::PUT, "/apps/nope/credentials/token", json!({"token": "t"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let anon = app.anon(Method::PUT, &format!("/api/v1{path}/token")).json(&json!({"token": "t"})).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let anon = app.anon(Method::POST, &format!("/api/v1{path}/deploy-key")).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);

    // one credential per app: a token replaces a deploy key, custom user name kept; delete clears it
    let (status, key) = app.json(Method::POST, &format!("{path}/deploy-key"), json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(key["public_key"].as_str().unwrap().starts_with("ssh-ed25519 "));
    let res = app.api(Method::PUT, &format!("{path}/token")).json(&json!({"token": "glpat-secret", "username": "oauth2"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, cred) = app.get(&path).await;
    assert_eq!(cred["kind"], "token");
    assert_eq!(cred["username"], "oauth2");
    assert_eq!(cred["public_key"], Value::Null, "the deploy key is gone: {cred}");
    assert!(!cred.to_string().contains("glpat-secret"));
    for _ in 0..2 {
        assert_eq!(app.api(Method::DELETE, &path).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(app.get(&path).await.1["kind"], Value::Null);

    // deleting the app deletes its credential; a new app with the same slug starts without one
    app.json(Method::POST, &format!("{path}/deploy-key"), json!({})).await;
    assert_eq!(app.api(Method::DELETE, &format!("/apps/{slug}")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    app.create_app("creds", &repo.path(), json!({})).await;
    assert_eq!(app.get(&path).await.1["kind"], Value::Null);
    app.stop().await;
}
