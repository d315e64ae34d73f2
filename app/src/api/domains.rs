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
    pub records: Vec<DomainRecord>,
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
pub async fn remove_domain(slug: String, domain: String) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.remove_domain(&actor, &slug, &domain).await?)
}
