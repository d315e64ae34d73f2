//! A local stand-in for the parts of GitHub's REST API Rhone uses, speaking the documented endpoints
//! and recording what Rhone sent:
//! - `POST /app/installations/{id}/access_tokens` — checks the App JWT (RS256 under the App's real
//!   key, `iss` = the App id, at most 10 minutes long) and mints `ghs_…` tokens valid for an hour;
//! - `POST /repos/{owner}/{repo}/statuses/{sha}` — accepts only a token it minted.
//! - `GET /app`, `GET /app/installations/{id}` (JWT), `GET /installation/repositories` and
//!   `GET /repos/{owner}/{repo}/branches` (installation token);
//! - OAuth: `POST /login/oauth/access_token` (client id and secret, a code it handed out) and
//!   `GET /user/installations` (that user's token);
//! - git over smart HTTP (`/{owner}/{repo}.git/…`, the real `git http-backend`) for the repositories
//!   an installation covers, only with one of that installation's tokens (Basic `x-access-token`).
//!
//! The App's key pair is made with the real `openssl` (PKCS#1, as GitHub hands it out).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub const APP_ID: u64 = 4242;
pub const APP_SLUG: &str = "rhone-test";
pub const CLIENT_ID: &str = "Iv1.stubclient";
pub const CLIENT_SECRET: &str = "stub-client-secret";

/// An installation of the App: its account and the repositories it covers (served by git).
#[derive(Debug, Clone)]
pub struct StubInstallation {
    pub id: i64,
    pub login: String,
    /// `(repository id, owner/name)`.
    pub repos: Vec<(i64, String)>,
}

/// One status as GitHub received it.
#[derive(Debug, Clone)]
pub struct PostedStatus {
    pub repo: String,
    pub sha: String,
    pub body: Value,
}

#[derive(Default)]
pub struct Recorded {
    pub statuses: Vec<PostedStatus>,
    /// Tokens minted, per installation id.
    pub minted: Vec<(i64, String)>,
    /// Requests refused for a bad JWT or token.
    pub refused: Vec<String>,
    /// Status posts to answer 502 before accepting again.
    pub fail_statuses: u32,
    pub installations: Vec<StubInstallation>,
    /// OAuth codes handed out: code → (user token, installation ids that user can access).
    pub codes: Vec<(String, String, Vec<i64>)>,
    /// Git requests served (`owner/name`, authenticated with a token of this installation).
    pub git_fetches: Vec<(String, i64)>,
    /// The GitHub user behind each user token: token → (id, login).
    pub users: Vec<(String, i64, String)>,
    /// PKCE challenges GitHub took at its authorize page: code → challenge.
    pub challenges: Vec<(String, String)>,
}

#[derive(Clone)]
struct Shared {
    recorded: Arc<Mutex<Recorded>>,
    public_pem: Arc<Vec<u8>>,
    git_root: Arc<PathBuf>,
}

pub struct GitHubStub {
    pub url: String,
    pub key_file: PathBuf,
    git_root: PathBuf,
    pub recorded: Arc<Mutex<Recorded>>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GitHubStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn openssl(args: &[&str]) {
    let out = std::process::Command::new("openssl").args(args).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl GitHubStub {
    pub async fn start() -> GitHubStub {
        let dir = tempfile::tempdir().expect("key dir");
        let key = dir.path().join("app.pem");
        let public = dir.path().join("app.pub.pem");
        openssl(&["genrsa", "-traditional", "-out", key.to_str().unwrap(), "2048"]);
        openssl(&["rsa", "-in", key.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()]);
        let git_root = dir.path().join("git");
        std::fs::create_dir_all(&git_root).expect("git root");
        let shared = Shared { recorded: Arc::default(), public_pem: Arc::new(std::fs::read(&public).expect("public key")), git_root: Arc::new(git_root) };
        let router = Router::new()
            .route("/app", get(app_info))
            .route("/app/installations/{id}", get(installation_info))
            .route("/app/installations/{id}/access_tokens", post(access_token))
            .route("/installation/repositories", get(installation_repositories))
            .route("/repos/{owner}/{repo}/statuses/{sha}", post(create_status))
            .route("/repos/{owner}/{repo}/branches", get(branches))
            .route("/login/oauth/access_token", post(oauth_token))
            .route("/user/installations", get(user_installations))
            .route("/user", get(user))
            .route("/{owner}/{repo}/info/refs", get(git))
            .route("/{owner}/{repo}/git-upload-pack", post(git))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("stub serves");
        });
        GitHubStub { url, key_file: key, recorded: shared.recorded, git_root: shared.git_root.to_path_buf(), _dir: dir, task }
    }

    /// Adds an installation; each of its repositories is served by git from a bare clone of `source`.
    pub fn install(&self, inst: StubInstallation, source: &std::path::Path) {
        for (_, full_name) in &inst.repos {
            let bare = self.git_root.join(format!("{full_name}.git"));
            let out = std::process::Command::new("git").args(["clone", "--quiet", "--bare"]).arg(source).arg(&bare).output().expect("git clone --bare");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        self.recorded.lock().unwrap().installations.push(inst);
    }

    /// An OAuth code GitHub would hand a user who can access `installations`.
    pub fn code_for(&self, code: &str, installations: &[i64]) {
        let token = format!("ghu_user{}", self.recorded.lock().unwrap().codes.len() + 1);
        self.recorded.lock().unwrap().codes.push((code.into(), token, installations.to_vec()));
    }

    /// What GitHub's authorize page does for GitHub user `id`/`login` who approves: hands out `code`,
    /// bound to the PKCE `challenge` of the authorize URL.
    pub fn authorize(&self, code: &str, id: i64, login: &str, challenge: &str) {
        self.code_for(code, &[]);
        let mut rec = self.recorded.lock().unwrap();
        let token = rec.codes.last().unwrap().1.clone();
        rec.users.push((token, id, login.to_string()));
        rec.challenges.push((code.to_string(), challenge.to_string()));
    }

    pub fn git_fetches(&self) -> Vec<(String, i64)> {
        self.recorded.lock().unwrap().git_fetches.clone()
    }

    /// The settings that point Rhone at this stand-in as its GitHub App.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("RHONE_GITHUB_APP_ID".into(), APP_ID.to_string()),
            ("RHONE_GITHUB_APP_PRIVATE_KEY_FILE".into(), self.key_file.to_string_lossy().into_owned()),
            ("RHONE_GITHUB_API_URL".into(), self.url.clone()),
            ("RHONE_GITHUB_WEB_URL".into(), self.url.clone()),
            ("RHONE_GITHUB_CLIENT_ID".into(), CLIENT_ID.into()),
            ("RHONE_GITHUB_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
        ]
    }

    pub fn fail_statuses(&self, n: u32) {
        self.recorded.lock().unwrap().fail_statuses = n;
    }

    pub fn statuses(&self) -> Vec<PostedStatus> {
        self.recorded.lock().unwrap().statuses.clone()
    }

    /// Waits (up to 90 s) until `done` holds for the statuses posted so far.
    pub async fn wait_statuses(&self, what: &str, done: impl Fn(&[PostedStatus]) -> bool) -> Vec<PostedStatus> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let now = self.statuses();
            if done(&now) {
                return now;
            }
            assert!(std::time::Instant::now() < deadline, "GitHub never received {what}; it got: {now:#?}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

fn refuse(shared: &Shared, status: StatusCode, why: &str) -> (StatusCode, Json<Value>) {
    shared.recorded.lock().unwrap().refused.push(why.to_string());
    (status, Json(json!({"message": why, "documentation_url": "https://docs.github.com/rest"})))
}

/// The App's JWT checked as GitHub checks it; `Err` is the refusal to answer.
fn app_jwt(shared: &Shared, headers: &HeaderMap) -> Result<(), (StatusCode, Json<Value>)> {
    let Some(jwt) = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) else {
        return Err(refuse(shared, StatusCode::UNAUTHORIZED, "A JSON web token could not be decoded"));
    };
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(&shared.public_pem).expect("public key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    // GitHub takes `iss` as a number (what octocrab sends); jsonwebtoken checks only string ones
    validation.set_required_spec_claims(&["exp", "iat"]);
    let claims = match jsonwebtoken::decode::<Value>(jwt, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return Err(refuse(shared, StatusCode::UNAUTHORIZED, &format!("A JSON web token could not be decoded: {e}"))),
    };
    let iss_ok = claims["iss"] == json!(APP_ID) || claims["iss"] == json!(APP_ID.to_string());
    let span = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    if !iss_ok || span > 660 {
        return Err(refuse(shared, StatusCode::UNAUTHORIZED, "'Issuer' claim ('iss') must be the App id and the token at most 10 minutes long"));
    }
    Ok(())
}

async fn access_token(State(shared): State<Shared>, Path(id): Path<i64>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if let Err(refused) = app_jwt(&shared, &headers) {
        return refused;
    }
    let mut rec = shared.recorded.lock().unwrap();
    let token = format!("ghs_stub{}x{id}", rec.minted.len() + 1);
    rec.minted.push((id, token.clone()));
    let expires = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    (StatusCode::CREATED, Json(json!({"token": token, "expires_at": expires, "permissions": {"statuses": "write", "contents": "read"}, "repository_selection": "selected"})))
}

async fn create_status(
    State(shared): State<Shared>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let token = &bearer(&headers);
    let known = shared.recorded.lock().unwrap().minted.iter().any(|(_, t)| t == token);
    if !known {
        return refuse(&shared, StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let mut rec = shared.recorded.lock().unwrap();
    if rec.fail_statuses > 0 {
        rec.fail_statuses -= 1;
        return (StatusCode::BAD_GATEWAY, Json(json!({"message": "Server Error"})));
    }
    let valid_state = matches!(body["state"].as_str(), Some("pending" | "success" | "failure" | "error"));
    let description_ok = body["description"].as_str().is_none_or(|d| d.chars().count() <= 140);
    if !valid_state || !description_ok {
        drop(rec);
        return refuse(&shared, StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    }
    rec.statuses.push(PostedStatus { repo: format!("{owner}/{repo}"), sha: sha.clone(), body: body.clone() });
    let id = rec.statuses.len();
    (StatusCode::CREATED, Json(json!({"id": id, "state": body["state"], "context": body["context"], "target_url": body["target_url"], "description": body["description"]})))
}

/// The token of an `Authorization: Bearer …` (or `token …`) header; empty without one.
fn bearer(headers: &HeaderMap) -> String {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("token ")).unwrap_or_default().to_string()
}

/// The installation a `Bearer`/`token` header's minted token belongs to.
fn token_installation(shared: &Shared, headers: &HeaderMap) -> Option<i64> {
    let token = &bearer(&headers);
    shared.recorded.lock().unwrap().minted.iter().find(|(_, t)| t == token).map(|(i, _)| *i)
}

fn installation_json(i: &StubInstallation) -> Value {
    json!({"id": i.id, "account": {"login": i.login, "id": 1000 + i.id, "type": "Organization"}, "app_id": APP_ID, "target_type": "Organization", "suspended_at": null})
}

async fn app_info(State(shared): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if let Err(refused) = app_jwt(&shared, &headers) {
        return refused;
    }
    (StatusCode::OK, Json(json!({"id": APP_ID, "slug": APP_SLUG, "name": "Rhone (test)", "owner": {"login": "rhone"}})))
}

async fn installation_info(State(shared): State<Shared>, Path(id): Path<i64>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    if let Err(refused) = app_jwt(&shared, &headers) {
        return refused;
    }
    let found = shared.recorded.lock().unwrap().installations.iter().find(|i| i.id == id).cloned();
    match found {
        Some(i) => (StatusCode::OK, Json(installation_json(&i))),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))),
    }
}

async fn installation_repositories(State(shared): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let Some(id) = token_installation(&shared, &headers) else { return refuse(&shared, StatusCode::UNAUTHORIZED, "Bad credentials") };
    let rec = shared.recorded.lock().unwrap();
    let repos: Vec<Value> = rec.installations.iter().filter(|i| i.id == id).flat_map(|i| i.repos.iter()).map(|(rid, name)| json!({"id": rid, "full_name": name, "private": true})).collect();
    (StatusCode::OK, Json(json!({"total_count": repos.len(), "repositories": repos})))
}

async fn branches(State(shared): State<Shared>, Path((owner, repo)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some(id) = token_installation(&shared, &headers) else { return refuse(&shared, StatusCode::UNAUTHORIZED, "Bad credentials").into_response() };
    let full = format!("{owner}/{repo}");
    let covered = shared.recorded.lock().unwrap().installations.iter().any(|i| i.id == id && i.repos.iter().any(|(_, n)| *n == full));
    if !covered {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response();
    }
    let out = std::process::Command::new("git")
        .args(["for-each-ref", "--format=%(refname:short)", "refs/heads"])
        .current_dir(shared.git_root.join(format!("{full}.git")))
        .output()
        .expect("git for-each-ref");
    let names: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().map(|b| json!({"name": b, "protected": false})).collect();
    Json(Value::Array(names)).into_response()
}

async fn oauth_token(State(shared): State<Shared>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let bad = |e: &str, d: &str| (StatusCode::OK, Json(json!({"error": e, "error_description": d})));
    if body["client_id"] != CLIENT_ID || body["client_secret"] != CLIENT_SECRET {
        return bad("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
    }
    let mut rec = shared.recorded.lock().unwrap();
    let Some(pos) = rec.codes.iter().position(|(c, _, _)| body["code"] == json!(c)) else {
        return bad("bad_verification_code", "The code passed is incorrect or expired.");
    };
    // PKCE: a code handed out against a challenge needs the verifier that hashes to it
    if let Some((_, challenge)) = rec.challenges.iter().find(|(c, _)| body["code"] == json!(c)) {
        use base64::Engine;
        use sha2::Digest;
        let verifier = body["code_verifier"].as_str().unwrap_or_default();
        let got = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        if got != *challenge {
            return bad("invalid_grant", "The code_verifier does not match the code_challenge.");
        }
    }
    // a code works once
    let (_, token, installations) = rec.codes.remove(pos);
    rec.codes.push((format!("used-{token}"), token.clone(), installations));
    (StatusCode::OK, Json(json!({"access_token": token, "token_type": "bearer", "scope": ""})))
}

async fn user_installations(State(shared): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let token = &bearer(&headers);
    let rec = shared.recorded.lock().unwrap();
    let Some((_, _, ids)) = rec.codes.iter().find(|(_, t, _)| t == token).cloned() else {
        drop(rec);
        return refuse(&shared, StatusCode::UNAUTHORIZED, "Bad credentials");
    };
    let list: Vec<Value> = rec.installations.iter().filter(|i| ids.contains(&i.id)).map(installation_json).collect();
    (StatusCode::OK, Json(json!({"total_count": list.len(), "installations": list})))
}

/// Git's smart HTTP through the real `git http-backend` (CGI), for a token of an installation that
/// covers the repository; anything else gets GitHub's 401 (git then asks for credentials).
async fn git(State(shared): State<Shared>, method: Method, Path((owner, repo)): Path<(String, String)>, RawQuery(query): RawQuery, headers: HeaderMap, body: Bytes) -> Response {
    use base64::Engine;
    let name = repo.strip_suffix(".git").unwrap_or(&repo).to_string();
    let full = format!("{owner}/{name}");
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic ")).unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
    let token = decoded.strip_prefix("x-access-token:").unwrap_or_default();
    let installation = {
        let rec = shared.recorded.lock().unwrap();
        rec.minted.iter().find(|(_, t)| t == token).map(|(i, _)| *i).filter(|i| rec.installations.iter().any(|inst| inst.id == *i && inst.repos.iter().any(|(_, n)| *n == full)))
    };
    let Some(installation) = installation else {
        return (StatusCode::UNAUTHORIZED, [("WWW-Authenticate", "Basic realm=\"GitHub\"")], "").into_response();
    };
    shared.recorded.lock().unwrap().git_fetches.push((full.clone(), installation));
    let tail = if method == Method::GET { "info/refs" } else { "git-upload-pack" };
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", shared.git_root.as_os_str())
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{full}.git/{tail}"))
        .env("QUERY_STRING", query.unwrap_or_default())
        .env("REQUEST_METHOD", method.as_str())
        .env("CONTENT_TYPE", headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default())
        .env("GIT_PROTOCOL", headers.get("git-protocol").and_then(|v| v.to_str().ok()).unwrap_or_default())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("git http-backend");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&body).await.expect("write request body");
    }
    let out = child.wait_with_output().await.expect("git http-backend output");
    let split = out.stdout.windows(4).position(|w| w == b"\r\n\r\n").map(|p| (p, 4)).or_else(|| out.stdout.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)));
    let Some((at, sep)) = split else { return (StatusCode::BAD_GATEWAY, "git http-backend said nothing").into_response() };
    let head = String::from_utf8_lossy(&out.stdout[..at]).to_string();
    let mut res = Response::builder().status(StatusCode::OK);
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        if k.eq_ignore_ascii_case("status") {
            let code = v.trim().split(' ').next().and_then(|c| c.parse::<u16>().ok()).unwrap_or(200);
            res = res.status(code);
        } else {
            res = res.header(k.trim(), v.trim());
        }
    }
    res.body(axum::body::Body::from(out.stdout[at + sep..].to_vec())).expect("response")
}

async fn user(State(shared): State<Shared>, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let token = &bearer(&headers);
    let found = shared.recorded.lock().unwrap().users.iter().find(|(t, _, _)| t == token).cloned();
    match found {
        Some((_, id, login)) => (StatusCode::OK, Json(json!({"id": id, "login": login, "type": "User", "email": null}))),
        None => refuse(&shared, StatusCode::UNAUTHORIZED, "Bad credentials"),
    }
}

/// The webhook secret the GitHub tests give Rhone (GitHub's documented example secret).
pub const WEBHOOK_SECRET: &str = "It's a Secret to Everybody";

/// One of GitHub's example payloads in `tests/fixtures/github/`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).expect("fixture json")
}

/// Posts a delivery of `event` signed as GitHub signs it with [`WEBHOOK_SECRET`].
pub async fn deliver(app: &crate::helpers::TestApp, event: &str, delivery: &str, body: &Value) -> (StatusCode, Value) {
    let body = body.to_string().into_bytes();
    let res = app
        .anon(reqwest::Method::POST, "/api/v1/webhooks/github")
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery)
        .header("X-Hub-Signature-256", domain::github::sign(WEBHOOK_SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .expect("webhook");
    let status = StatusCode::from_u16(res.status().as_u16()).expect("status");
    (status, res.json().await.unwrap_or(Value::Null))
}
