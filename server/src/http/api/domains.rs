//! An app's custom domains: add (→ the records to create), list, show, remove, and check now.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::domains::{AppDomain, Verification};
use serde::{Deserialize, Serialize};

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    domain: String,
}

/// `POST /apps/{slug}/domains` → 201 with the records to create (app admins).
pub async fn add(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Body(b): Body<NewDomain>) -> ApiResult<(StatusCode, Json<AppDomain>)> {
    Ok((StatusCode::CREATED, Json(s.services.add_domain(&a, &slug, &b.domain).await?)))
}

/// `GET /apps/{slug}/domains`.
pub async fn list(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<Json<Vec<AppDomain>>> {
    Ok(Json(s.services.list_domains(&a, &slug).await?))
}

/// `GET /apps/{slug}/domains/{domain}`.
pub async fn show(State(s): State<AppState>, Caller(a): Caller, Path((slug, domain)): Path<(String, String)>) -> ApiResult<Json<AppDomain>> {
    Ok(Json(s.services.get_domain(&a, &slug, &domain).await?))
}

/// `DELETE /apps/{slug}/domains/{domain}`: no longer routed.
pub async fn remove(State(s): State<AppState>, Caller(a): Caller, Path((slug, domain)): Path<(String, String)>) -> ApiResult<StatusCode> {
    s.services.remove_domain(&a, &slug, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainPatch {
    redirect_to: Option<String>,
}

/// `PATCH /apps/{slug}/domains/{domain}` `{"redirect_to": "www.example.com" | null}`: redirect to
/// another domain of the app (308), or serve the app again.
pub async fn update(State(s): State<AppState>, Caller(a): Caller, Path((slug, domain)): Path<(String, String)>, Body(b): Body<DomainPatch>) -> ApiResult<Json<AppDomain>> {
    Ok(Json(s.services.set_domain_redirect(&a, &slug, &domain, b.redirect_to.as_deref()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpsPatch {
    redirect: Option<bool>,
    hsts: Option<bool>,
}

/// `GET /apps/{slug}/https`: whether plain HTTP redirects to HTTPS and whether HSTS is sent.
/// Also the state of the app's own `{slug}.{base_domain}` certificate (`host`, `certificate`,
/// `covered_by`, `expires_at`, `certificate_error`).
pub async fn https(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<Json<AppHttpsShown>> {
    let settings = s.services.app_https(&a, &slug).await?;
    let host = s.services.app_host_certificate(&a, &slug).await?;
    Ok(Json(AppHttpsShown { settings, host }))
}

#[derive(serde::Serialize)]
pub struct AppHttpsShown {
    #[serde(flatten)]
    settings: domain::tls::AppHttps,
    #[serde(flatten)]
    host: domain::tls::HostCertificate,
}

/// `PATCH /apps/{slug}/https` `{"redirect": bool, "hsts": bool}` (admins).
pub async fn set_https(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Body(b): Body<HttpsPatch>) -> ApiResult<Json<domain::tls::AppHttps>> {
    Ok(Json(s.services.set_app_https(&a, &slug, b.redirect, b.hsts).await?))
}

#[derive(Serialize)]
pub struct Checked {
    #[serde(flatten)]
    check: Verification,
    #[serde(rename = "state")]
    domain: AppDomain,
}

/// `POST /apps/{slug}/domains/{domain}/verify`: checks DNS now; 200 with what it found, whatever
/// DNS answered.
pub async fn verify(State(s): State<AppState>, Caller(a): Caller, Path((slug, domain)): Path<(String, String)>) -> ApiResult<Json<Checked>> {
    let (check, domain) = s.services.verify_domain(&a, &slug, &domain).await?;
    Ok(Json(Checked { check, domain }))
}
