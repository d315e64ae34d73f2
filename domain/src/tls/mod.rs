//! Certificates for custom domains from an ACME CA (Let's Encrypt by default), obtained by the
//! http-01 challenge the proxy answers, stored sealed like env vars, served by the HTTPS listener
//! through an atomically swapped map (no lock and no database on the hot path), renewed at two
//! thirds of their lifetime.
//!
//! Issuance is a job (`IssueCertificate`, retried with backoff): account (created once per
//! directory, its credentials sealed) → order → http-01 (the token's key authorization is put in
//! the route table, which the proxy answers at `/.well-known/acme-challenge/{token}`) → finalize
//! with a fresh key → the chain. Each domain shows `certificate` (`none | pending | issued |
//! failed`), `expires_at` and the last error.

mod app_https;
mod platform;

pub use app_https::AppHttps;
pub use platform::{is_public_name, HostCertificate};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use instant_acme::{Account, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::store::now_ms;
use crate::Services;

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// The ACME CA (`acme_directory`, `acme_email`, `acme_ca_file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeSettings {
    pub directory: String,
    pub email: Option<String>,
    /// An extra root to trust for the ACME server itself (a private CA, pebble).
    pub ca_file: Option<PathBuf>,
    /// How a domain proves itself (`acme_challenge`).
    pub challenge: Challenge,
}

/// The ACME challenge Rhone answers for a custom domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Challenge {
    /// A token served by the HTTP listener at `/.well-known/acme-challenge/` (port 80).
    #[default]
    Http01,
    /// A self-signed certificate shown by the HTTPS listener to a client that offers only ALPN
    /// `acme-tls/1` (port 443; for installs whose port 80 is closed).
    TlsAlpn01,
}

impl Challenge {
    pub fn parse(s: &str) -> Option<Challenge> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http-01" => Some(Challenge::Http01),
            "tls-alpn-01" => Some(Challenge::TlsAlpn01),
            _ => None,
        }
    }
}

/// How one authorization is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    Http01,
    TlsAlpn01,
    Dns01,
}

impl From<Challenge> for Proof {
    fn from(c: Challenge) -> Proof {
        match c {
            Challenge::Http01 => Proof::Http01,
            Challenge::TlsAlpn01 => Proof::TlsAlpn01,
        }
    }
}

impl Proof {
    fn kind(self) -> ChallengeType {
        match self {
            Proof::Http01 => ChallengeType::Http01,
            Proof::TlsAlpn01 => ChallengeType::TlsAlpn01,
            Proof::Dns01 => ChallengeType::Dns01,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Proof::Http01 => "http-01",
            Proof::TlsAlpn01 => "tls-alpn-01",
            Proof::Dns01 => "dns-01",
        }
    }
}

/// The ALPN protocol of tls-alpn-01 validation (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The certificates the HTTPS listener serves, by host name, and the self-signed one a host
/// without a certificate gets (so the listener can say why instead of refusing the handshake).
#[derive(Default)]
pub struct CertStore {
    certs: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
    fallback: ArcSwap<Option<Arc<CertifiedKey>>>,
    /// tls-alpn-01 challenge certificates by host, shown only to `acme-tls/1` clients.
    challenges: ArcSwap<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore").field("hosts", &self.certs.load().len()).finish()
    }
}

impl CertStore {
    pub fn insert(&self, host: &str, key: Arc<CertifiedKey>) {
        let host = host.to_ascii_lowercase();
        crate::routing::edit(&self.certs, |m| {
            m.insert(host.clone(), key.clone());
        });
    }

    pub fn remove(&self, host: &str) {
        let host = host.to_ascii_lowercase();
        crate::routing::edit(&self.certs, |m| {
            m.remove(&host);
        });
    }

    /// The certificate for `host`: its own, else a wildcard one for its parent (`*.{parent}`).
    pub fn get(&self, host: &str) -> Option<Arc<CertifiedKey>> {
        let certs = self.certs.load();
        if certs.is_empty() {
            return None;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        certs.get(&host).or_else(|| host.split_once('.').and_then(|(_, parent)| certs.get(&format!("*.{parent}")))).cloned()
    }

    fn set_challenge(&self, host: &str, key: Option<Arc<CertifiedKey>>) {
        let host = host.to_ascii_lowercase();
        crate::routing::edit(&self.challenges, |m| match &key {
            Some(k) => {
                m.insert(host.clone(), k.clone());
            }
            None => {
                m.remove(&host);
            }
        });
    }

    /// Makes the self-signed certificate served to hosts without one (once per process).
    pub fn make_fallback(&self) -> Result<()> {
        let made = rcgen::generate_simple_self_signed(vec!["no-certificate-yet.rhone.invalid".to_string()]).map_err(|e| Error::internal("fallback certificate", e))?;
        let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        let signing = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| Error::internal("fallback certificate", e))?;
        self.fallback.store(Arc::new(Some(Arc::new(CertifiedKey::new(vec![made.cert.der().clone()], signing)))));
        Ok(())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if hello.alpn().is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN)) {
            // a validator: its challenge certificate or no handshake at all
            let name = hello.server_name()?.trim_end_matches('.').to_ascii_lowercase();
            return self.challenges.load().get(&name).cloned();
        }
        hello.server_name().and_then(|name| self.get(name)).or_else(|| self.fallback.load().as_ref().clone())
    }
}

/// A chain (PEM) and its private key (PEM) as rustls serves them, and the leaf's validity (unix ms).
pub fn certified_key(chain_pem: &str, key_pem: &str) -> Result<(Arc<CertifiedKey>, i64, i64)> {
    let bad = |what: &str, e: &dyn std::fmt::Display| Error::Internal(format!("certificate {what}: {e}"));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes()).collect::<std::result::Result<_, _>>().map_err(|e| bad("chain", &e))?;
    let leaf = certs.first().ok_or_else(|| Error::Internal("certificate chain: empty".into()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| bad("leaf", &e))?;
    let validity = parsed.validity();
    let (not_before, not_after) = (validity.not_before.timestamp() * 1000, validity.not_after.timestamp() * 1000);
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| bad("key", &e))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| bad("key", &e))?;
    Ok((Arc::new(CertifiedKey::new(certs, signing)), not_before, not_after))
}

/// When a certificate valid from `not_before` to `not_after` (unix ms) is renewed, unless its CA
/// suggests otherwise: at two thirds of its lifetime.
pub fn renewal_due(not_before: i64, not_after: i64) -> i64 {
    not_before + (not_after - not_before) * 2 / 3
}

/// The moment in the CA's suggested renewal window `[start, end]` (unix ms) when `domain` is
/// renewed. RFC 9773 asks for a uniformly random point; this one is spread by the domain's hash,
/// so re-checking every hour does not move it.
pub fn ari_point(domain: &str, start: i64, end: i64) -> i64 {
    use sha2::Digest;
    if end <= start {
        return start;
    }
    let h = sha2::Sha256::digest(domain.as_bytes());
    let fraction = u64::from_be_bytes(h[..8].try_into().unwrap_or_default()) % 1_000_000;
    start + ((end - start) as i128 * fraction as i128 / 1_000_000) as i64
}

/// The CA's suggested renewal window for the leaf of `chain_pem` (unix ms), when the CA has
/// renewal information (`None` otherwise, or when it cannot be read: two thirds then).
async fn suggested_window(account: &Account, chain_pem: &str) -> Option<(i64, i64)> {
    let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes()).next()?.ok()?;
    let id = instant_acme::CertificateIdentifier::try_from(&leaf).ok()?;
    match account.renewal_info(&id).await {
        Ok((info, _)) => {
            let w = info.suggested_window;
            Some(((w.start.unix_timestamp_nanos() / 1_000_000) as i64, (w.end.unix_timestamp_nanos() / 1_000_000) as i64))
        }
        Err(instant_acme::Error::Unsupported(_)) => None,
        Err(e) => {
            tracing::debug!(error = %e, "renewal information could not be read");
            None
        }
    }
}

/// What a domain's certificate state warrants saying loudly, if anything: it has expired, or it
/// is past its renewal time and the renewal failed.
pub fn certificate_warning(domain: &str, c: &CertificateRow, now: i64) -> Option<String> {
    let (Some(nb), Some(na)) = (c.not_before, c.not_after) else { return None };
    let date = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default();
    let why = c.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
    if na <= now {
        return Some(format!("The certificate for {domain} expired on {} and browsers refuse it; renewing failed{why}", date(na)));
    }
    if now >= renewal_due(nb, na) && c.last_error.is_some() {
        return Some(format!("The certificate for {domain} expires on {} and could not be renewed yet{why}", date(na)));
    }
    None
}

/// A stored certificate's state, for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    pub domain: String,
    /// `pending`, `issued` or `failed`.
    pub status: String,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub last_error: Option<String>,
}

impl CertificateRow {
    /// The state shown at `now` (unix ms): an expired certificate protects nothing, whatever was
    /// last stored, so it is `failed`.
    pub fn shown_status(&self, now: i64) -> String {
        if self.not_after.is_some_and(|na| na <= now) { "failed".into() } else { self.status.clone() }
    }
}

fn acme_error(e: instant_acme::Error) -> Error {
    let msg = match &e {
        instant_acme::Error::Api(p) => format!("the CA refused: {}", p.detail.as_deref().unwrap_or("no detail")),
        other => format!("the CA could not be reached or answered oddly: {other}"),
    };
    Error::Conflict(msg.chars().filter(|c| !c.is_control()).take(300).collect())
}

/// Withdraws the challenge answers it holds (http-01 tokens in the route table, tls-alpn-01
/// certificates in the store), however issuance ends.
struct Answers<'a> {
    s: &'a Services,
    tokens: Vec<String>,
    alpn_hosts: Vec<String>,
    /// DNS-01 TXT records published (name, value), removed through the provider afterwards.
    txt: Vec<(String, String)>,
}

impl Drop for Answers<'_> {
    fn drop(&mut self) {
        for t in &self.tokens {
            self.s.routes.clear_challenge(t);
        }
        for h in &self.alpn_hosts {
            self.s.tls.set_challenge(h, None);
        }
        if let (Some(provider), false) = (self.s.settings.dns_provider.clone(), self.txt.is_empty()) {
            let txt = std::mem::take(&mut self.txt);
            tokio::spawn(async move {
                for (name, value) in txt {
                    if let Err(e) = provider.remove_txt(&name, &value).await {
                        tracing::warn!(%name, error = %e, "a DNS-01 challenge record could not be removed");
                    }
                }
            });
        }
    }
}

/// The tls-alpn-01 certificate for `domain`: self-signed, naming only it, with the critical
/// acmeIdentifier extension holding the SHA-256 of the key authorization (RFC 8737).
fn alpn_challenge_key(domain: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>> {
    let bad = |e: rcgen::Error| Error::internal("tls-alpn-01 certificate", e);
    let mut params = rcgen::CertificateParams::new(vec![domain.to_string()]).map_err(bad)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate().map_err(bad)?;
    let cert = params.self_signed(&key).map_err(bad)?;
    let der = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let signing = rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| Error::internal("tls-alpn-01 certificate", e))?;
    Ok(Arc::new(CertifiedKey::new(vec![cert.der().clone()], signing)))
}

impl Services {
    fn acme_aad(directory: &str) -> String {
        format!("acme-account:{directory}")
    }

    fn cert_aad(domain: &str) -> String {
        format!("certificate:{domain}")
    }

    /// The ACME account for the configured directory: stored, else created (and stored sealed).
    async fn acme_account(&self, acme: &AcmeSettings) -> Result<Account> {
        let builder = || match &acme.ca_file {
            Some(f) => Account::builder_with_root(f),
            None => Account::builder(),
        };
        let builder = builder().map_err(acme_error)?;
        if let Some((nonce, ct)) = self.store.acme_account(&acme.directory).await? {
            let json = self.key.open(&Self::acme_aad(&acme.directory), &nonce, &ct)?;
            let creds: instant_acme::AccountCredentials = serde_json::from_str(&json).map_err(|e| Error::internal("acme credentials", e))?;
            return builder.from_credentials(creds).await.map_err(acme_error);
        }
        let contact = acme.email.as_ref().map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, creds) = builder
            .create(&NewAccount { contact: &contacts, terms_of_service_agreed: true, only_return_existing: false }, acme.directory.clone(), None)
            .await
            .map_err(acme_error)?;
        let json = serde_json::to_string(&creds).map_err(|e| Error::internal("acme credentials", e))?;
        let (nonce, ct) = self.key.seal(&Self::acme_aad(&acme.directory), &json)?;
        self.store.put_acme_account(&acme.directory, &nonce, &ct).await?;
        Ok(account)
    }

    /// Obtains a certificate for `domain` by the configured challenge and serves it from now on.
    async fn issue_certificate(&self, acme: &AcmeSettings, domain: &str) -> Result<i64> {
        let account = self.acme_account(acme).await?;
        let ids = [Identifier::Dns(domain.to_string())];
        let mut order = account.new_order(&NewOrder::new(&ids)).await.map_err(acme_error)?;
        let mut held = Answers { s: self, tokens: Vec::new(), alpn_hosts: Vec::new(), txt: Vec::new() };
        {
            let mut authorizations = order.authorizations();
            while let Some(authz) = authorizations.next().await {
                let mut authz = authz.map_err(acme_error)?;
                match authz.status {
                    AuthorizationStatus::Pending => {}
                    AuthorizationStatus::Valid => continue,
                    other => return Err(Error::Conflict(format!("the CA's authorization for {domain} is {other:?}"))),
                }
                let host = match &authz.identifier().identifier {
                    Identifier::Dns(h) => h.clone(),
                    other => return Err(Error::Conflict(format!("the CA asks about {other:?}, not a DNS name"))),
                };
                // a wildcard can only be proven through DNS
                let how = if authz.wildcard { Proof::Dns01 } else { Proof::from(acme.challenge) };
                let mut challenge = authz.challenge(how.kind()).ok_or_else(|| Error::Conflict(format!("the CA offers no {} challenge for {host}", how.name())))?;
                let key_authorization = challenge.key_authorization();
                match how {
                    Proof::Http01 => {
                        let token = challenge.token.clone();
                        self.routes.set_challenge(&token, key_authorization.as_str());
                        held.tokens.push(token);
                    }
                    Proof::TlsAlpn01 => {
                        self.tls.set_challenge(&host, Some(alpn_challenge_key(&host, key_authorization.digest().as_ref())?));
                        held.alpn_hosts.push(host);
                    }
                    Proof::Dns01 => {
                        let provider = self.settings.dns_provider.as_ref().ok_or_else(|| Error::Conflict(format!("{domain} needs a DNS provider (dns_provider) to be proven")))?;
                        let (name, value) = (format!("_acme-challenge.{host}"), key_authorization.dns_value());
                        provider.set_txt(&name, &value).await.map_err(|e| Error::Conflict(format!("the DNS-01 record {name} could not be published: {e}")))?;
                        held.txt.push((name.clone(), value.clone()));
                        self.await_txt(&name, &value).await;
                    }
                }
                challenge.set_ready().await.map_err(acme_error)?;
            }
        }
        let status = order.poll_ready(&RetryPolicy::default()).await.map_err(acme_error)?;
        drop(held);
        if status != OrderStatus::Ready {
            let why = order.state().error.as_ref().and_then(|p| p.detail.clone()).unwrap_or_else(|| format!("the order is {status:?}"));
            return Err(Error::Conflict(format!("the CA did not validate {domain}: {why}")));
        }
        let key_pem = order.finalize().await.map_err(acme_error)?;
        let chain = order.poll_certificate(&RetryPolicy::default()).await.map_err(acme_error)?;
        let (certified, not_before, not_after) = certified_key(&chain, &key_pem)?;
        let (nonce, ct) = self.key.seal(&Self::cert_aad(domain), &key_pem)?;
        self.store.put_certificate(domain, &chain, &nonce, &ct, not_before, not_after).await?;
        self.tls.insert(domain, certified);
        self.routes.set_domain_https(domain, |h| h.certificate = true);
        self.refresh_slug_https().await?;
        tracing::info!(domain, not_after, "certificate issued");
        Ok(not_after)
    }

    /// Queues a certificate for `domain` when ACME is on (`why` makes the job unique: a domain
    /// claim, or the expiry being renewed).
    pub(crate) async fn queue_certificate(&self, domain: &str, why: &str) -> Result<()> {
        if self.settings.acme.is_none() {
            return Ok(());
        }
        if self.store.certificate(domain).await?.is_none() {
            self.store.set_certificate_status(domain, "pending", None).await?;
        }
        self.enqueue(&IssueCertificate { domain: domain.to_string(), why: why.to_string() }).await?;
        Ok(())
    }

    /// Serves every stored certificate (at startup).
    pub(crate) async fn load_certificates(&self) -> Result<()> {
        for (domain, chain, nonce, ct) in self.store.issued_certificates().await? {
            let loaded = self.key.open(&Self::cert_aad(&domain), &nonce, &ct).and_then(|key| certified_key(&chain, &key));
            match loaded {
                Ok((certified, _, _)) => {
                    self.tls.insert(&domain, certified);
                    self.routes.set_domain_https(&domain, |h| h.certificate = true);
                }
                Err(e) => tracing::error!(%domain, error = %e, "a stored certificate could not be loaded"),
            }
        }
        self.refresh_slug_https().await
    }

    /// Queues the renewal of every certificate that is due: at two thirds of its lifetime, or
    /// within the window the CA suggests (ACME renewal information, RFC 9773) when it has one.
    /// A round of attempts is one job (retried with backoff); a new round starts only once the
    /// last one has ended. A certificate past its renewal time whose renewal failed is logged as
    /// an error at every check (the API and dashboard show it too, see `certificate_warning`).
    pub(crate) async fn queue_renewals(&self) -> Result<()> {
        let Some(acme) = self.settings.acme.clone() else { return Ok(()) };
        let now = now_ms();
        let chains: HashMap<String, String> = self.store.issued_certificates().await?.into_iter().map(|(d, chain, _, _)| (d, chain)).collect();
        let mut account: Option<Option<Account>> = None;
        for c in self.store.certificates().await? {
            let (Some(nb), Some(na), Some(chain)) = (c.not_before, c.not_after, chains.get(&c.domain)) else { continue };
            let mut due = renewal_due(nb, na);
            if account.is_none() {
                account = Some(self.acme_account(&acme).await.inspect_err(|e| tracing::warn!(error = %e, "no ACME account for renewal information")).ok());
            }
            if let Some(Some(a)) = &account {
                if let Some((start, end)) = suggested_window(a, chain).await {
                    due = ari_point(&c.domain, start, end);
                }
            }
            if now < due {
                continue;
            }
            if let Some(error) = &c.last_error {
                tracing::error!(domain = %c.domain, expires_at = na, %error, "a certificate is due for renewal and its renewal failed");
            }
            if !self.store.active_job_with_prefix(&format!("certificate:{}:renew-", c.domain)).await? {
                self.queue_certificate(&c.domain, &format!("renew-{na}-{now}")).await?;
            }
        }
        Ok(())
    }

    /// Forgets a removed domain's certificate.
    pub(crate) async fn drop_certificate(&self, domain: &str) -> Result<()> {
        self.tls.remove(domain);
        self.routes.set_domain_https(domain, |h| h.certificate = false);
        self.store.delete_certificate(domain).await
    }
}

/// Obtains (or renews) one domain's certificate.
#[derive(Debug, Serialize, Deserialize)]
pub struct IssueCertificate {
    pub domain: String,
    pub why: String,
}

impl Job for IssueCertificate {
    const KIND: &'static str = "certificate";
    const MAX_ATTEMPTS: i64 = 8;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("certificate:{}:{}", self.domain, self.why))
    }

    async fn run(&self, s: &Services) -> Result<()> {
        let Some(acme) = s.settings.acme.clone() else { return Ok(()) };
        if !s.wants_certificate(&self.domain).await? {
            // removed or no longer verified meanwhile (or the app is gone)
            return Ok(());
        }
        match s.issue_certificate(&acme, &self.domain).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let shown = match &e {
                    Error::Internal(_) => "the certificate could not be stored (see the server log)".to_string(),
                    other => other.to_string(),
                };
                let status = if s.tls.get(&self.domain).is_some() { "issued" } else { "failed" };
                s.store.set_certificate_status(&self.domain, status, Some(&shown)).await?;
                Err(e)
            }
        }
    }

    fn backoff(&self, attempt: i64) -> std::time::Duration {
        // never faster than the CA's limits like: a minute, doubling, at most six hours
        std::time::Duration::from_secs((60u64 << attempt.clamp(0, 9) as u32).min(6 * 3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_at_two_thirds_or_at_a_stable_point_inside_the_cas_window() {
        assert_eq!(renewal_due(0, 90), 60);
        assert_eq!(renewal_due(1_000, 91_000), 61_000);
        let p = ari_point("a.example.com", 1_000, 2_000);
        assert!((1_000..=2_000).contains(&p), "{p}");
        assert_eq!(ari_point("a.example.com", 1_000, 2_000), p, "the same point at every check");
        assert_ne!(ari_point("a.example.com", 0, 1_000_000_000), ari_point("b.example.com", 0, 1_000_000_000), "spread by domain");
        assert_eq!(ari_point("a.example.com", 5, 5), 5);
        assert_eq!(ari_point("a.example.com", 9, 5), 9, "a backwards window: its start");
    }

    #[test]
    fn a_failed_renewal_or_an_expiry_is_said_and_a_healthy_certificate_is_not() {
        let row = |nb, na, err: Option<&str>| CertificateRow { domain: "a.example.com".into(), status: "issued".into(), not_before: Some(nb), not_after: Some(na), last_error: err.map(Into::into) };
        assert_eq!(certificate_warning("a.example.com", &row(0, 90_000, None), 70_000), None, "due, no failure yet");
        assert_eq!(certificate_warning("a.example.com", &row(0, 90_000, Some("boom")), 10_000), None, "not due yet");
        let w = certificate_warning("a.example.com", &row(0, 90_000, Some("the CA refused: x")), 70_000).unwrap();
        assert!(w.contains("could not be renewed") && w.contains("the CA refused: x") && w.contains("1970-01-01 00:01 UTC"), "{w}");
        let w = certificate_warning("a.example.com", &row(0, 90_000, None), 90_000).unwrap();
        assert!(w.contains("expired on"), "{w}");
    }
}
