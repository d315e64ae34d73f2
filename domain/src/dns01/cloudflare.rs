//! Cloudflare API v4 DNS records.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use super::{error_chain, DnsError};

const TIMEOUT: Duration = Duration::from_secs(30);
/// "An identical record already exists."
const IDENTICAL_RECORD_EXISTS: i64 = 81058;

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

#[derive(Clone)]
pub struct Cloudflare {
    /// Default: <https://api.cloudflare.com/client/v4>.
    pub api_url: String,
    pub token: String,
    /// Otherwise looked up by the longest matching zone name via `GET /zones?name=`.
    pub zone_id: Option<String>,
}

impl Cloudflare {
    pub const DEFAULT_API_URL: &'static str = "https://api.cloudflare.com/client/v4";

    pub fn new(token: impl Into<String>) -> Self {
        Self {
            api_url: Self::DEFAULT_API_URL.into(),
            token: token.into(),
            zone_id: None,
        }
    }
}

impl std::fmt::Debug for Cloudflare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cloudflare")
            .field("api_url", &self.api_url)
            .field("token", &"<redacted>")
            .field("zone_id", &self.zone_id)
            .finish()
    }
}

fn client() -> HttpClient {
    let provider = || std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = match HttpsConnectorBuilder::new().with_provider_and_native_roots(provider()) {
        Ok(b) => b,
        // No system roots: plain http still works, https fails with a certificate error.
        Err(_) => {
            let tls = rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            HttpsConnectorBuilder::new().with_tls_config(tls)
        }
    };
    let connector = builder.https_or_http().enable_http1().build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Percent-encodes a query parameter value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Cloudflare {
    /// One API call; returns the envelope's `result` or the first of its `errors`.
    async fn call(
        &self,
        http: &HttpClient,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, DnsError> {
        let url = format!("{}{}", self.api_url.trim_end_matches('/'), path);
        let http_err = |reason: String| DnsError::Http {
            url: url.clone(),
            reason,
        };
        let request = Request::builder()
            .method(method)
            .uri(&url)
            .header(AUTHORIZATION, format!("Bearer {}", self.token.trim()))
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(
                body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
            ))
            // http's error says "invalid uri" / "invalid header value" without echoing the value.
            .map_err(|e| http_err(e.to_string()))?;
        let exchange = async {
            let response = http
                .request(request)
                .await
                .map_err(|e| http_err(error_chain(&e)))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| http_err(error_chain(&e)))?
                .to_bytes();
            Ok::<_, DnsError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| http_err("no answer within 30 s".into()))??;
        let envelope: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let success = envelope["success"].as_bool().unwrap_or(false);
        if success && status.is_success() {
            return Ok(envelope["result"].clone());
        }
        let first = &envelope["errors"][0];
        Err(DnsError::Cloudflare {
            code: first["code"].as_i64(),
            message: match first["message"].as_str() {
                Some(m) => m.to_string(),
                None => format!("unexpected answer (HTTP {status})"),
            },
        })
    }

    async fn zone_id(&self, http: &HttpClient, name: &str) -> Result<String, DnsError> {
        if let Some(id) = &self.zone_id {
            return Ok(id.clone());
        }
        let labels: Vec<&str> = name.split('.').collect();
        // Longest candidate first; a zone has at least two labels.
        for i in 0..labels.len().saturating_sub(1) {
            let candidate = labels[i..].join(".");
            let zones = self
                .call(
                    http,
                    Method::GET,
                    &format!("/zones?name={}", enc(&candidate)),
                    None,
                )
                .await?;
            let found = zones.as_array().into_iter().flatten().find(|z| {
                z["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&candidate))
            });
            if let Some(id) = found.and_then(|z| z["id"].as_str()) {
                return Ok(id.to_string());
            }
        }
        Err(DnsError::ZoneNotFound {
            name: name.to_string(),
        })
    }

    pub(crate) async fn set_txt(&self, fqdn: &str, value: &str) -> Result<(), DnsError> {
        let name = fqdn.trim().trim_end_matches('.');
        let http = client();
        let zone = self.zone_id(&http, name).await?;
        let body = json!({ "type": "TXT", "name": name, "content": value, "ttl": 60 });
        match self
            .call(
                &http,
                Method::POST,
                &format!("/zones/{}/dns_records", enc(&zone)),
                Some(body),
            )
            .await
        {
            Err(DnsError::Cloudflare {
                code: Some(IDENTICAL_RECORD_EXISTS),
                ..
            }) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => {
                tracing::info!(fqdn = name, "Cloudflare TXT record created");
                Ok(())
            }
        }
    }

    pub(crate) async fn remove_txt(&self, fqdn: &str, value: &str) -> Result<(), DnsError> {
        let name = fqdn.trim().trim_end_matches('.');
        let http = client();
        let zone = enc(&self.zone_id(&http, name).await?);
        let query = format!(
            "/zones/{zone}/dns_records?type=TXT&name={}&content={}",
            enc(name),
            enc(value)
        );
        let records = self.call(&http, Method::GET, &query, None).await?;
        for record in records.as_array().into_iter().flatten() {
            // Cloudflare may return TXT content quoted.
            let content = record["content"].as_str().unwrap_or_default();
            if content.trim_matches('"') != value {
                continue;
            }
            if let Some(id) = record["id"].as_str() {
                let path = format!("/zones/{zone}/dns_records/{}", enc(id));
                self.call(&http, Method::DELETE, &path, None).await?;
                tracing::info!(fqdn = name, "Cloudflare TXT record deleted");
            }
        }
        Ok(())
    }
}
