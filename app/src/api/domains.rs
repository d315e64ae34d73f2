//! An app's custom domains on its settings page: list, add (→ the records to create), check now,
//! remove.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A record to create at the DNS provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRecord {
    pub kind: String,
    pub name: String,
    pub value: String,
    /// `verify` (proves control, enough alone) or `route` (sends visitors here).
    pub purpose: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainView {
    pub domain: String,
    pub verified: bool,
    pub checked_at: Option<i64>,
    pub last_error: Option<String>,
    pub certificate: String,
    /// When the certificate expires (unix ms).
    pub expires_at: Option<i64>,
    pub certificate_error: Option<String>,
    /// The certificate has expired, or is due for renewal and the renewal failed.
    pub certificate_warning: Option<String>,
    pub records: Vec<DomainRecord>,
    /// Another domain of the app this one redirects to.
    pub redirect_to: Option<String>,
}

/// The app's HTTPS settings for its custom domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpsView {
    pub redirect: bool,
    pub hsts: bool,
}

/// The app's own `{slug}.{base_domain}` certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCertificateView {
    pub host: String,
    /// `none`, `pending`, `issued` or `failed`.
    pub certificate: String,
    /// `*.{base_domain}` (the wildcard) or the host itself.
    pub covered_by: Option<String>,
    pub expires_at: Option<i64>,
    pub certificate_error: Option<String>,
}

/// What a check found: verified, or each record that is missing or wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainCheck {
    pub domain: String,
    pub verified: bool,
    pub problems: Vec<String>,
}

#[cfg(feature = "ssr")]
fn view_of(d: domain::domains::AppDomain) -> DomainView {
    DomainView {
        domain: d.domain,
        verified: d.verified,
        checked_at: d.checked_at,
        last_error: d.last_error,
        certificate: d.certificate,
        expires_at: d.expires_at,
        certificate_error: d.certificate_error,
        certificate_warning: d.certificate_warning,
        redirect_to: d.redirect_to,
        records: d.records.into_iter().map(|r| DomainRecord { kind: r.kind, name: r.name, value: r.value, purpose: r.purpose }).collect(),
    }
}

#[server]
pub async fn app_domains(slug: String) -> Result<Vec<DomainView>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.list_domains(&actor, &slug).await?.into_iter().map(view_of).collect())
}

#[server]
pub async fn add_domain(slug: String, domain: String) -> Result<DomainView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(view_of(services.add_domain(&actor, &slug, &domain).await?))
}

#[server]
pub async fn check_domain(slug: String, domain: String) -> Result<DomainCheck, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let (v, shown) = services.verify_domain(&actor, &slug, &domain).await?;
    Ok(DomainCheck { domain: shown.domain, verified: shown.verified, problems: v.problems })
}

#[server]
pub async fn app_https(slug: String) -> Result<HttpsView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let h = services.app_https(&actor, &slug).await?;
    Ok(HttpsView { redirect: h.redirect, hsts: h.hsts })
}

/// Sets both from the settings form's checkboxes (absent: off).
#[server]
pub async fn set_app_https(slug: String, #[server(default)] redirect: Option<String>, #[server(default)] hsts: Option<String>) -> Result<HttpsView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let h = services.set_app_https(&actor, &slug, Some(redirect.is_some()), Some(hsts.is_some())).await?;
    Ok(HttpsView { redirect: h.redirect, hsts: h.hsts })
}

/// Makes `domain` redirect to another domain of the app (e.g. the apex to `www`), or serve the
/// app again (`redirect_to` empty or absent).
#[server]
pub async fn app_host_certificate(slug: String) -> Result<HostCertificateView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let c = services.app_host_certificate(&actor, &slug).await?;
    Ok(HostCertificateView { host: c.host, certificate: c.certificate, covered_by: c.covered_by, expires_at: c.expires_at, certificate_error: c.certificate_error })
}

#[server]
pub async fn set_domain_redirect(slug: String, domain: String, #[server(default)] redirect_to: Option<String>) -> Result<DomainView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(view_of(services.set_domain_redirect(&actor, &slug, &domain, redirect_to.as_deref()).await?))
}

#[server]
pub async fn remove_domain(slug: String, domain: String) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.remove_domain(&actor, &slug, &domain).await?)
}
