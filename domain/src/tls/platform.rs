//! Certificates Rhone obtains for its own names: `*.{base_domain}` by DNS-01 when a DNS provider
//! is configured (one certificate for every app), else each `{slug}.{base_domain}` by the
//! configured challenge; and the dashboard's `public_url` host. Only when ACME is on and the base
//! domain is a public name (`localhost` and bare IPs get none).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::now_ms;
use crate::Services;

/// Whether a CA could ever issue for names under `name` (not `localhost`, not an IP, has a dot).
pub fn is_public_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    name.contains('.') && name.parse::<IpAddr>().is_err() && name != "localhost" && !name.ends_with(".localhost")
}

/// The certificate state of an app's own `{slug}.{base_domain}` host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCertificate {
    pub host: String,
    /// `none` (no ACME, or a base domain no CA issues for), `pending`, `issued` or `failed`.
    pub certificate: String,
    /// The certificate that covers it: `*.{base_domain}` or the host's own.
    pub covered_by: Option<String>,
    pub expires_at: Option<i64>,
    pub certificate_error: Option<String>,
}

impl Services {
    /// App `slug`'s `{slug}.{base_domain}` certificate (viewers).
    pub async fn app_host_certificate(&self, actor: &crate::access::Actor, slug: &str) -> Result<HostCertificate> {
        let app = self.app_for(actor, slug, crate::policy::Action::ReadApp).await?;
        let host = format!("{}.{}", app.slug, self.routes.base_domain());
        let name = match self.base_wildcard() {
            None => None,
            Some(w) if self.settings.dns_provider.is_some() => Some(w),
            Some(_) => Some(host.clone()),
        };
        let row = match &name {
            Some(n) => self.store.certificate(n).await?,
            None => None,
        };
        let now = now_ms();
        Ok(match row {
            Some(c) => HostCertificate {
                host,
                certificate: c.shown_status(now),
                covered_by: name,
                expires_at: c.not_after,
                certificate_error: c.last_error,
            },
            None => HostCertificate { host, certificate: "none".into(), covered_by: name, expires_at: None, certificate_error: None },
        })
    }

    /// `*.{base_domain}` when certificates for the base domain are possible.
    fn base_wildcard(&self) -> Option<String> {
        let base = self.routes.base_domain();
        (self.settings.acme.is_some() && is_public_name(base)).then(|| format!("*.{base}"))
    }

    /// The names Rhone wants certificates for on its own behalf, right now.
    pub(crate) async fn platform_names(&self) -> Result<Vec<String>> {
        let Some(wildcard) = self.base_wildcard() else { return Ok(self.dashboard_name().into_iter().collect()) };
        let mut names = Vec::new();
        if self.settings.dns_provider.is_some() {
            names.push(wildcard);
        } else {
            let base = self.routes.base_domain();
            names.extend(self.store.list_apps().await?.into_iter().map(|a| format!("{}.{base}", a.slug)));
        }
        names.extend(self.dashboard_name());
        Ok(names)
    }

    /// The dashboard's host, when it needs a certificate of its own (not covered by the wildcard).
    fn dashboard_name(&self) -> Option<String> {
        let host = self.settings.dashboard_host.clone().filter(|h| self.settings.acme.is_some() && is_public_name(h))?;
        let covered = self.settings.dns_provider.is_some() && host.split_once('.').is_some_and(|(_, parent)| parent == self.routes.base_domain());
        (!covered).then_some(host)
    }

    /// Whether `name` (a certificate job's) is still wanted: a verified custom domain, or one of
    /// the platform's names.
    pub(crate) async fn wants_certificate(&self, name: &str) -> Result<bool> {
        if self.store.verified_domain(name).await?.is_some() {
            return Ok(true);
        }
        Ok(self.platform_names().await?.iter().any(|n| n == name))
    }

    /// Queues a certificate for each platform name that has none and no job under way (at
    /// startup, with every domain check, and when an app is created).
    pub(crate) async fn ensure_platform_certificates(&self) -> Result<()> {
        for name in self.platform_names().await? {
            let issued = self.store.certificate(&name).await?.is_some_and(|c| c.not_after.is_some());
            if !issued && !self.store.active_job_with_prefix(&format!("certificate:{name}:")).await? {
                self.queue_certificate(&name, &format!("platform-{}", now_ms())).await?;
            }
        }
        Ok(())
    }

    /// Applies each app's HTTPS settings (redirect, HSTS) to its `{slug}.{base_domain}` host once
    /// a certificate covers it (its own or the wildcard).
    pub(crate) async fn refresh_slug_https(&self) -> Result<()> {
        if self.base_wildcard().is_none() {
            return Ok(());
        }
        let base = self.routes.base_domain().to_string();
        for app in self.store.list_apps().await? {
            let https = match self.tls.get(&format!("{}.{base}", app.slug)) {
                Some(_) => {
                    let a = self.store.app_https(app.id).await?.unwrap_or_default();
                    Some(crate::routing::DomainHttps { certificate: true, redirect: a.redirect, hsts: a.hsts })
                }
                None => None,
            };
            self.routes.set_slug_https(&app.slug, https);
        }
        Ok(())
    }

    /// A deleted app's `{slug}.{base_domain}` certificate goes with it.
    pub(crate) async fn drop_app_certificate(&self, slug: &str) -> Result<()> {
        let name = format!("{slug}.{}", self.routes.base_domain());
        if self.store.certificate(&name).await?.is_some() {
            self.drop_certificate(&name).await?;
        }
        self.routes.set_slug_https(slug, None);
        Ok(())
    }

    /// Waits (up to a minute) until this installation's resolvers see TXT `value` at `name`, so
    /// the CA is not asked to look before the record has reached the zone's servers.
    pub(super) async fn await_txt(&self, name: &str, value: &str) {
        let Ok(dns) = self.dns() else { return };
        for _ in 0..60 {
            if dns.txt(name).await.is_ok_and(|found| found.iter().any(|v| v == value)) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        tracing::warn!(%name, "the DNS-01 record is not visible through dns_resolvers after a minute; asking the CA anyway");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_public_names_get_certificates() {
        for n in ["apps.example.com", "rhone.example.com.", "a.b.c"] {
            assert!(super::is_public_name(n), "{n}");
        }
        for n in ["localhost", "apps.localhost", "127.0.0.1", "::1", "intranet"] {
            assert!(!super::is_public_name(n), "{n}");
        }
    }
}
