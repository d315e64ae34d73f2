//! The provider side of OpenID Connect: its discovery document and key set (fetched with Rhone's own
//! hyper + rustls client, cached), the code exchange, and the ID token's checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::OidcSettings;
use crate::error::{Error, Result};

const DOCUMENT_TTL: Duration = Duration::from_secs(3600);
/// A token signed with a key Rhone has not seen refetches the provider's keys, at most this often.
pub const KEY_REFETCH: Duration = Duration::from_secs(2);
const MAX_BODY: usize = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(15);
/// The signature algorithms an ID token may use: public-key ones only.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512,
    Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA,
];

/// The parts of the discovery document Rhone uses.
#[derive(Debug, Deserialize)]
pub(super) struct Discovery {
    issuer: String,
    pub(super) authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A configured provider: its settings, an HTTP client and the documents fetched from it.
pub struct Oidc {
    pub settings: OidcSettings,
    http: Client<Https, Full<Bytes>>,
    discovery: tokio::sync::Mutex<Option<(Instant, Arc<Discovery>)>>,
    keys: tokio::sync::Mutex<Option<(Instant, Arc<JwkSet>)>>,
}

/// The claims Rhone reads from an ID token (signature, `iss`, `aud` and `exp` are checked by the
/// decoder).
#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Value,
    #[serde(default)]
    preferred_username: Option<String>,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcUser {
    pub subject: String,
    /// What Rhone shows for the account (preferred username, else email, else subject).
    pub login: String,
    /// The email, only when the provider says it verified it.
    pub verified_email: Option<String>,
}

fn fetch_failed(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("the identity provider's {what} could not be fetched: {e}"))
}

fn printable(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Result<Oidc> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| Error::internal("TLS roots", e))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Oidc { settings, http: Client::builder(TokioExecutor::new()).build(https), discovery: Default::default(), keys: Default::default() })
    }

    async fn send(&self, what: &str, req: http::Request<Full<Bytes>>) -> Result<Value> {
        let res = tokio::time::timeout(TIMEOUT, self.http.request(req)).await.map_err(|_| fetch_failed(what, "timed out"))?.map_err(|e| fetch_failed(what, e))?;
        let status = res.status();
        let body = tokio::time::timeout(TIMEOUT, Limited::new(res.into_body(), MAX_BODY).collect())
            .await
            .map_err(|_| fetch_failed(what, "timed out"))?
            .map_err(|e| fetch_failed(what, e))?
            .to_bytes();
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            let why = json.as_ref().and_then(|j| j["error"].as_str()).map(|e| printable(e, 80)).unwrap_or_default();
            return Err(Error::Internal(format!("the identity provider's {what} answered {} {why}", status.as_u16())));
        }
        json.ok_or_else(|| Error::Internal(format!("the identity provider's {what} did not answer JSON")))
    }

    async fn get_json(&self, what: &str, url: &str) -> Result<Value> {
        let req = http::Request::get(url).header(http::header::ACCEPT, "application/json").body(Full::default()).map_err(|e| fetch_failed(what, e))?;
        self.send(what, req).await
    }

    /// The discovery document (cached an hour); its `issuer` must be the configured one.
    pub(super) async fn discovery(&self) -> Result<Arc<Discovery>> {
        let mut cached = self.discovery.lock().await;
        if let Some((at, d)) = cached.as_ref() {
            if at.elapsed() < DOCUMENT_TTL {
                return Ok(d.clone());
            }
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer.trim_end_matches('/'));
        let doc: Discovery = serde_json::from_value(self.get_json("discovery document", &url).await?)
            .map_err(|e| Error::Internal(format!("the identity provider's discovery document is incomplete: {e}")))?;
        if doc.issuer != self.settings.issuer {
            return Err(Error::Internal(format!("the discovery document names issuer {:?}, not the configured {:?}", printable(&doc.issuer, 200), self.settings.issuer)));
        }
        for u in [&doc.authorization_endpoint, &doc.token_endpoint, &doc.jwks_uri] {
            if !matches!(url::Url::parse(u), Ok(p) if matches!(p.scheme(), "http" | "https")) {
                return Err(Error::Internal(format!("the discovery document names an endpoint that is not an http(s) URL: {:?}", printable(u, 200))));
            }
        }
        let doc = Arc::new(doc);
        *cached = Some((Instant::now(), doc.clone()));
        Ok(doc)
    }

    /// The key that signed a token: from the cached key set, else from a fresh one.
    async fn key_for(&self, jwks_uri: &str, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey> {
        let mut cached = self.keys.lock().await;
        for attempt in 0..2 {
            let stale = match cached.as_ref() {
                None => true,
                Some((at, _)) => at.elapsed() > DOCUMENT_TTL || (attempt == 1 && at.elapsed() > KEY_REFETCH),
            };
            if stale {
                let set: JwkSet = serde_json::from_value(self.get_json("key set", jwks_uri).await?)
                    .map_err(|e| Error::Internal(format!("the identity provider's key set could not be read: {e}")))?;
                *cached = Some((Instant::now(), Arc::new(set)));
            }
            let Some(set) = cached.as_ref().map(|(_, s)| s.clone()) else { continue };
            let usable = |j: &&jsonwebtoken::jwk::Jwk| {
                j.common.public_key_use.as_ref().is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature)
                    && j.common.key_algorithm.is_none_or(|a| a.to_string() == format!("{alg:?}"))
            };
            let found = match kid {
                Some(kid) => set.keys.iter().filter(usable).find(|j| j.common.key_id.as_deref() == Some(kid)),
                None => {
                    let mut candidates = set.keys.iter().filter(usable);
                    match (candidates.next(), candidates.next()) {
                        (Some(only), None) => Some(only),
                        _ => None,
                    }
                }
            };
            if let Some(jwk) = found {
                return DecodingKey::from_jwk(jwk).map_err(|e| Error::Internal(format!("the identity provider's signing key is unusable: {e}")));
            }
        }
        Err(Error::Forbidden("the identity provider's answer was signed with a key it does not publish: sign in again".into()))
    }

    /// Checks an ID token and says who it names.
    async fn verify(&self, jwks_uri: &str, id_token: &str, nonce: &str) -> Result<OidcUser> {
        let refused = |why: &str| Error::Forbidden(format!("the identity provider's answer was refused ({why}): sign in again"));
        let header = jsonwebtoken::decode_header(id_token).map_err(|_| refused("no ID token"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(refused("unsupported signature algorithm"));
        }
        let key = self.key_for(jwks_uri, header.kid.as_deref(), header.alg).await?;
        let mut v = Validation::new(header.alg);
        v.set_audience(&[&self.settings.client_id]);
        v.set_issuer(&[&self.settings.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 60;
        let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            refused(match e.kind() {
                ErrorKind::ExpiredSignature => "expired",
                ErrorKind::InvalidAudience => "meant for another client",
                ErrorKind::InvalidIssuer => "another issuer",
                ErrorKind::InvalidSignature => "bad signature",
                _ => "not a valid ID token",
            })
        })?;
        let c = claims.claims;
        if c.nonce.as_deref() != Some(nonce) {
            return Err(refused("nonce does not match"));
        }
        let audiences = match &c.aud {
            Value::Array(a) => a.len(),
            _ => 1,
        };
        if c.azp.as_deref().is_some_and(|azp| azp != self.settings.client_id) || (audiences > 1 && c.azp.is_none()) {
            return Err(refused("meant for another client"));
        }
        if c.sub.is_empty() || c.sub.len() > 255 || c.sub.chars().any(char::is_control) {
            return Err(refused("no subject"));
        }
        let verified = c.email_verified == Value::Bool(true) || c.email_verified == Value::String("true".into());
        let verified_email = c.email.clone().filter(|_| verified);
        let login = [c.preferred_username, c.email].into_iter().flatten().map(|s| printable(s.trim(), 100)).find(|s| !s.is_empty()).unwrap_or_else(|| printable(&c.sub, 100));
        Ok(OidcUser { subject: c.sub, login, verified_email })
    }

    /// The token request: client secret (in `Authorization: Basic`, or the form when `post`) and
    /// the PKCE verifier.
    fn token_request(&self, endpoint: &str, post: bool, code: &str, verifier: &str, redirect_uri: &str) -> http::Result<http::Request<Full<Bytes>>> {
        use secrecy::ExposeSecret;
        let secret = self.settings.client_secret.expose_secret();
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code").append_pair("code", code).append_pair("redirect_uri", redirect_uri).append_pair("code_verifier", verifier);
        let mut req = http::Request::post(endpoint).header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded").header(http::header::ACCEPT, "application/json");
        if post {
            form.append_pair("client_id", &self.settings.client_id).append_pair("client_secret", secret);
        } else {
            // RFC 6749 2.3.1: both halves form-encoded before the base64
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{}:{}", enc(&self.settings.client_id), enc(secret)));
            req = req.header(http::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        req.body(Full::new(Bytes::from(form.finish())))
    }

    /// Exchanges the code (client secret + PKCE verifier) and checks the ID token that comes back.
    pub(super) async fn redeem(&self, code: &str, verifier: &str, nonce: &str, redirect_uri: &str) -> Result<OidcUser> {
        let d = self.discovery().await?;
        // client_secret_basic is the default of the spec; a provider that lists only _post gets that
        let post = !d.token_endpoint_auth_methods_supported.is_empty()
            && !d.token_endpoint_auth_methods_supported.iter().any(|m| m == "client_secret_basic")
            && d.token_endpoint_auth_methods_supported.iter().any(|m| m == "client_secret_post");
        let req = self.token_request(&d.token_endpoint, post, code, verifier, redirect_uri).map_err(|e| fetch_failed("token endpoint", e))?;
        let answer = self.send("token endpoint", req).await?;
        let id_token = answer["id_token"].as_str().ok_or_else(|| Error::Internal("the identity provider's token endpoint answered no id_token (is the `openid` scope allowed?)".into()))?;
        self.verify(&d.jwks_uri, id_token, nonce).await
    }
}
