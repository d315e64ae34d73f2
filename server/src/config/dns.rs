//! The DNS provider for DNS-01 challenges (`dns_provider`): RFC 2136 dynamic updates signed with
//! TSIG, or the Cloudflare API. With one, `*.{base_domain}` gets a wildcard certificate.

use std::net::SocketAddr;

use base64::Engine;
use domain::dns01::{Cloudflare, DnsProvider, Rfc2136, TsigAlgorithm};

use super::ConfigError;

/// Reads `dns_provider` and its settings; each missing or malformed one is named.
pub(super) fn dns_provider(get: &dyn Fn(&str) -> Option<String>, base_domain: &str) -> Result<Option<DnsProvider>, ConfigError> {
    let need = |key: &str, what: &str| get(key).filter(|v| !v.trim().is_empty()).ok_or_else(|| ConfigError(format!("{key} is required with dns_provider = {what}")));
    match get("dns_provider").map(|p| p.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("none") => Ok(None),
        Some("rfc2136") => {
            let server = need("dns_rfc2136_server", "rfc2136")?;
            let server: SocketAddr = server
                .parse()
                .or_else(|_| format!("{server}:53").parse())
                .map_err(|_| ConfigError(format!("dns_rfc2136_server must be ip or ip:port, got {server:?}")))?;
            let zone = get("dns_rfc2136_zone").unwrap_or_else(|| base_domain.to_string());
            let key_name = need("dns_rfc2136_key_name", "rfc2136")?;
            let algorithm = match get("dns_rfc2136_key_algorithm").map(|a| a.trim().to_ascii_lowercase()).as_deref() {
                None | Some("hmac-sha256") => TsigAlgorithm::HmacSha256,
                Some("hmac-sha512") => TsigAlgorithm::HmacSha512,
                Some(other) => return Err(ConfigError(format!("dns_rfc2136_key_algorithm must be hmac-sha256 or hmac-sha512, got {other:?}"))),
            };
            let secret = base64::engine::general_purpose::STANDARD
                .decode(need("dns_rfc2136_key_secret", "rfc2136")?.trim())
                .ok()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ConfigError("dns_rfc2136_key_secret must be the TSIG key's secret in base64 (as in BIND's key statement)".into()))?;
            Ok(Some(DnsProvider::Rfc2136(Rfc2136 { server, zone, key_name, algorithm, secret })))
        }
        Some("cloudflare") => {
            let token = need("cloudflare_api_token", "cloudflare")?;
            let api_url = get("cloudflare_api_url").unwrap_or_else(|| Cloudflare::DEFAULT_API_URL.to_string());
            match url::Url::parse(&api_url) {
                Ok(u) if matches!(u.scheme(), "https" | "http") => {}
                _ => return Err(ConfigError(format!("cloudflare_api_url must be an http(s) URL, got {api_url:?}"))),
            }
            let zone_id = get("cloudflare_zone_id").filter(|z| !z.trim().is_empty());
            Ok(Some(DnsProvider::Cloudflare(Cloudflare { api_url: api_url.trim_end_matches('/').to_string(), token, zone_id })))
        }
        Some(other) => Err(ConfigError(format!("dns_provider must be rfc2136 or cloudflare, got {other:?}"))),
    }
}
