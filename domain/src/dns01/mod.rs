//! Publishing and removing ACME DNS-01 TXT records through an RFC 2136 (TSIG-signed dynamic
//! update) server or the Cloudflare API.

mod cloudflare;
mod rfc2136;

pub use cloudflare::Cloudflare;
pub use rfc2136::{Rfc2136, TsigAlgorithm};

/// Where DNS-01 challenge records are published.
#[derive(Clone, Debug)]
pub enum DnsProvider {
    Rfc2136(Rfc2136),
    Cloudflare(Cloudflare),
}

/// Errors with messages meant for users. They never contain the TSIG secret or the API token.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("{name} is not a valid DNS name")]
    InvalidName { name: String },
    #[error("{name} is not inside the zone {zone}")]
    NotInZone { name: String, zone: String },
    #[error("invalid TSIG settings: {0}")]
    Tsig(String),
    #[error("could not talk to the DNS server at {server}: {reason}")]
    Network { server: String, reason: String },
    #[error("no answer from the DNS server at {server} within 10 s")]
    Timeout { server: String },
    #[error("the DNS server refused the update: {rcode} ({explanation})")]
    Refused { rcode: String, explanation: String },
    #[error("the DNS server's answer could not be trusted or understood: {0}")]
    BadResponse(String),
    #[error("could not reach the Cloudflare API at {url}: {reason}")]
    Http { url: String, reason: String },
    #[error("Cloudflare refused: {message}")]
    Cloudflare { code: Option<i64>, message: String },
    #[error("no Cloudflare zone found for {name} (is the API token allowed to read it?)")]
    ZoneNotFound { name: String },
}

impl DnsProvider {
    /// Adds TXT `value` at `fqdn` (e.g. "_acme-challenge.example.test"), TTL 60, leaving other
    /// TXT values there alone.
    pub async fn set_txt(&self, fqdn: &str, value: &str) -> Result<(), DnsError> {
        match self {
            DnsProvider::Rfc2136(p) => p.update(fqdn, value, true).await,
            DnsProvider::Cloudflare(p) => p.set_txt(fqdn, value).await,
        }
    }

    /// Removes exactly that TXT value (other values stay). Removing a missing record is Ok.
    pub async fn remove_txt(&self, fqdn: &str, value: &str) -> Result<(), DnsError> {
        match self {
            DnsProvider::Rfc2136(p) => p.update(fqdn, value, false).await,
            DnsProvider::Cloudflare(p) => p.remove_txt(fqdn, value).await,
        }
    }
}

/// The error and its causes on one line (hyper's top-level errors say little on their own).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
