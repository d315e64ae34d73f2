//! A local OpenID Connect provider, speaking what Rhone uses of OpenID Connect Core and Discovery:
//! the discovery document, the authorize endpoint (answering with the sign-in the test queued),
//! the token endpoint (client authentication, one-use codes, `redirect_uri` and PKCE S256 checked
//! as a provider does) and the key set. ID tokens are RS256 with keys made by the real `openssl`;
//! a queued sign-in can ask for a token forged or bent in one way, to check Rhone refuses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::github_stub::openssl;

pub const CLIENT_ID: &str = "rhone-at-acme";
pub const CLIENT_SECRET: &str = "oidc-client-secret-value";

/// How a queued sign-in's ID token is bent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    WrongNonce,
    NoNonce,
    OtherAudience,
    /// Two audiences and no `azp`.
    SharedAudience,
    OtherIssuer,
    Expired,
    /// `alg: none`, no signature.
    Unsigned,
    /// HS256 with the provider's public key as the shared secret (the key-confusion attack).
    Hs256WithPublicKey,
    /// Signed with an unpublished key under the published key's id.
    ForeignKey,
    /// Signed with the second key, under its own id (published or not: see `publish_second_key`).
    SecondKey,
}

/// Who signs in at the provider next, and how.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub sub: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub tamper: Tamper,
}

impl SignIn {
    pub fn new(sub: &str, username: &str) -> SignIn {
        SignIn { sub: sub.into(), username: Some(username.into()), email: Some(format!("{username}@idp.example.com")), email_verified: true, tamper: Tamper::None }
    }

    pub fn tampered(mut self, t: Tamper) -> SignIn {
        self.tamper = t;
        self
    }
}

struct Pending {
    sign_in: SignIn,
    challenge: String,
    nonce: Option<String>,
    redirect_uri: String,
}

#[derive(Default)]
pub struct Recorded {
    queued: Option<SignIn>,
    codes: HashMap<String, Pending>,
    /// How each token request authenticated the client (`basic`, `post`), or why it was refused.
    pub token_requests: Vec<String>,
    pub key_fetches: u32,
    /// The scopes each authorize request asked for.
    pub scopes: Vec<String>,
    second_key_published: bool,
    /// The discovery document names this issuer instead of the real one.
    pub issuer_override: Option<String>,
    /// The discovery document lists only `client_secret_post`.
    pub post_only: bool,
}

struct Key {
    pem: Vec<u8>,
    public_pem: Vec<u8>,
    n: String,
}

#[derive(Clone)]
struct Shared {
    url: String,
    recorded: Arc<Mutex<Recorded>>,
    keys: Arc<[Key; 2]>,
}

pub struct OidcStub {
    pub url: String,
    pub recorded: Arc<Mutex<Recorded>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OidcStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn make_key(dir: &std::path::Path, name: &str) -> Key {
    let key = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    openssl(&["genrsa", "-traditional", "-out", key.to_str().unwrap(), "2048"]);
    openssl(&["rsa", "-in", key.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()]);
    let out = std::process::Command::new("openssl").args(["rsa", "-noout", "-modulus", "-in", key.to_str().unwrap()]).output().expect("openssl modulus");
    let hex = String::from_utf8(out.stdout).unwrap().trim().trim_start_matches("Modulus=").to_string();
    let modulus: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
    Key { pem: std::fs::read(&key).unwrap(), public_pem: std::fs::read(&public).unwrap(), n: b64(&modulus) }
}

impl OidcStub {
    pub async fn start() -> OidcStub {
        let dir = tempfile::tempdir().expect("key dir");
        let keys = Arc::new([make_key(dir.path(), "k1"), make_key(dir.path(), "k2")]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let url = format!("http://{}/realms/acme", listener.local_addr().expect("addr"));
        let shared = Shared { url: url.clone(), recorded: Arc::default(), keys };
        let router = Router::new()
            .route("/realms/acme/.well-known/openid-configuration", get(discovery))
            .route("/realms/acme/authorize", get(authorize))
            .route("/realms/acme/token", post(token))
            .route("/realms/acme/keys", get(keys_set))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("stub serves");
        });
        OidcStub { url, recorded: shared.recorded, task }
    }

    /// The settings that point Rhone at this provider.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("RHONE_OIDC_ISSUER".into(), self.url.clone()),
            ("RHONE_OIDC_CLIENT_ID".into(), CLIENT_ID.into()),
            ("RHONE_OIDC_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
            ("RHONE_OIDC_NAME".into(), "Acme SSO".into()),
        ]
    }

    /// The next authorize request signs `s` in (none queued: the user cancels, `access_denied`).
    pub fn next_sign_in(&self, s: SignIn) {
        self.recorded.lock().unwrap().queued = Some(s);
    }

    pub fn publish_second_key(&self) {
        self.recorded.lock().unwrap().second_key_published = true;
    }

    pub fn key_fetches(&self) -> u32 {
        self.recorded.lock().unwrap().key_fetches
    }

    pub fn token_requests(&self) -> Vec<String> {
        self.recorded.lock().unwrap().token_requests.clone()
    }
}

async fn discovery(State(s): State<Shared>) -> Json<Value> {
    let rec = s.recorded.lock().unwrap();
    let methods = if rec.post_only { json!(["client_secret_post"]) } else { json!(["client_secret_basic", "client_secret_post"]) };
    Json(json!({
        "issuer": rec.issuer_override.clone().unwrap_or_else(|| s.url.clone()),
        "authorization_endpoint": format!("{}/authorize", s.url),
        "token_endpoint": format!("{}/token", s.url),
        "jwks_uri": format!("{}/keys", s.url),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": methods,
    }))
}

async fn keys_set(State(s): State<Shared>) -> Json<Value> {
    let mut rec = s.recorded.lock().unwrap();
    rec.key_fetches += 1;
    let jwk = |kid: &str, k: &Key| json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": k.n, "e": "AQAB"});
    let mut keys = vec![jwk("k1", &s.keys[0])];
    if rec.second_key_published {
        keys.push(jwk("k2", &s.keys[1]));
    }
    Json(json!({ "keys": keys }))
}

fn back_to(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut to = reqwest::Url::parse(redirect_uri).expect("redirect_uri");
    to.query_pairs_mut().extend_pairs(params);
    (StatusCode::FOUND, [(LOCATION, to.to_string())]).into_response()
}

/// The authorize endpoint: checks the request as a provider does, then sends the browser back
/// with a code for the queued sign-in (or `access_denied`).
async fn authorize(State(s): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let q: HashMap<String, String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes()).into_owned().collect();
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    if field("client_id") != CLIENT_ID || field("response_type") != "code" || field("code_challenge_method") != "S256" || field("code_challenge").is_empty() {
        return (StatusCode::BAD_REQUEST, "invalid authorization request").into_response();
    }
    let redirect_uri = field("redirect_uri");
    let state = field("state");
    let mut rec = s.recorded.lock().unwrap();
    rec.scopes.push(field("scope"));
    let Some(sign_in) = rec.queued.take() else {
        return back_to(&redirect_uri, &[("error", "access_denied"), ("error_description", "The user <b>cancelled</b>"), ("state", &state)]);
    };
    let code = format!("code-{}", rec.codes.len() + 1);
    rec.codes.insert(code.clone(), Pending { sign_in, challenge: field("code_challenge"), nonce: q.get("nonce").cloned(), redirect_uri: redirect_uri.clone() });
    back_to(&redirect_uri, &[("code", &code), ("state", &state)])
}

fn refuse(rec: &mut Recorded, status: StatusCode, error: &str) -> Response {
    rec.token_requests.push(format!("refused: {error}"));
    (status, Json(json!({"error": error}))).into_response()
}

/// The token endpoint: the client authenticates (Basic, or in the form if the provider is
/// `post_only`), the code is used once with its `redirect_uri` and PKCE verifier.
async fn token(State(s): State<Shared>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut rec = s.recorded.lock().unwrap();
    let basic = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic ")).map(|b| {
        let raw = base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (id, secret) = raw.split_once(':').unwrap_or_default();
        let dec = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
        (dec(id), dec(secret))
    });
    let in_form = form.get("client_secret").map(|secret| (form.get("client_id").cloned().unwrap_or_default(), secret.clone()));
    let (how, client) = match (basic, in_form) {
        (Some(c), None) if !rec.post_only => ("basic", c),
        (None, Some(c)) => ("post", c),
        _ => return refuse(&mut rec, StatusCode::UNAUTHORIZED, "invalid_client"),
    };
    if client != (CLIENT_ID.to_string(), CLIENT_SECRET.to_string()) {
        return refuse(&mut rec, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    if field("grant_type") != "authorization_code" {
        return refuse(&mut rec, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some(p) = rec.codes.remove(&field("code")) else { return refuse(&mut rec, StatusCode::BAD_REQUEST, "invalid_grant") };
    let challenge = b64(&Sha256::digest(field("code_verifier").as_bytes()));
    if p.redirect_uri != field("redirect_uri") || p.challenge != challenge {
        return refuse(&mut rec, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    rec.token_requests.push(how.to_string());
    let issuer = s.url.clone();
    drop(rec);
    let id_token = id_token(&s, &issuer, &p);
    Json(json!({"access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "id_token": id_token})).into_response()
}

fn id_token(s: &Shared, issuer: &str, p: &Pending) -> String {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let now = chrono::Utc::now().timestamp();
    let t = p.sign_in.tamper;
    let mut claims = json!({
        "iss": if t == Tamper::OtherIssuer { "https://evil.example.com" } else { issuer },
        "aud": match t { Tamper::OtherAudience => json!("another-client"), Tamper::SharedAudience => json!([CLIENT_ID, "another-client"]), _ => json!(CLIENT_ID) },
        "sub": p.sign_in.sub,
        "iat": if t == Tamper::Expired { now - 7200 } else { now },
        "exp": if t == Tamper::Expired { now - 3600 } else { now + 300 },
        "email_verified": p.sign_in.email_verified,
    });
    match (t, &p.nonce) {
        (Tamper::NoNonce, _) | (_, None) => {}
        (Tamper::WrongNonce, _) => claims["nonce"] = json!("a-nonce-of-another-sign-in"),
        (_, Some(n)) => claims["nonce"] = json!(n),
    }
    if let Some(e) = &p.sign_in.email {
        claims["email"] = json!(e);
    }
    if let Some(u) = &p.sign_in.username {
        claims["preferred_username"] = json!(u);
    }
    let rs = |kid: &str, key: &Key| {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        encode(&h, &claims, &EncodingKey::from_rsa_pem(&key.pem).expect("rsa key")).expect("sign")
    };
    match t {
        Tamper::Unsigned => format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(claims.to_string().as_bytes())),
        Tamper::Hs256WithPublicKey => {
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("k1".into());
            encode(&h, &claims, &EncodingKey::from_secret(&s.keys[0].public_pem)).expect("sign")
        }
        Tamper::ForeignKey => rs("k1", &s.keys[1]),
        Tamper::SecondKey => rs("k2", &s.keys[1]),
        _ => rs("k1", &s.keys[0]),
    }
}
