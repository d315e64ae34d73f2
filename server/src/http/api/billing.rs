//! A team's billing: `GET /teams/{team}/billing` (plan, limits, usage, projected charge, meters),
//! `GET …/billing/invoices` (from Stripe), `PUT …/billing/cap` (the spend cap), `POST …/billing/checkout`
//! `{"plan": …}` → `{"url": …}` (Stripe Checkout), `POST …/billing/portal` → `{"url": …}` (the
//! Billing Portal); and `POST /webhooks/stripe`, authenticated by its signature alone.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::billing::{StripeReply, StripeWebhookError, TeamBilling};
use serde::{Deserialize, Serialize};

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::json::Body;

use super::super::error::error_response;
use super::super::AppState;

pub async fn show(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Json<TeamBilling>> {
    Ok(Json(s.services.team_billing(&a, &team).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    plan: String,
}

#[derive(Serialize)]
pub struct Redirect {
    url: String,
}

pub async fn checkout(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>, Body(b): Body<CheckoutRequest>) -> ApiResult<Json<Redirect>> {
    Ok(Json(Redirect { url: s.services.billing_checkout(&a, &team, &b.plan).await? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageRange {
    from: Option<i64>,
    to: Option<i64>,
}

/// `GET /teams/{team}/billing/usage?from=&to=` (unix s): per meter, measured and reported.
pub async fn usage(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>, Query(q): Query<UsageRange>) -> ApiResult<Json<Vec<domain::billing::MeterUsage>>> {
    Ok(Json(s.services.team_usage(&a, &team, q.from, q.to).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapRequest {
    /// `null`: no cap.
    cap_cents: Option<i64>,
    #[serde(default)]
    stop_apps: bool,
}

/// `PUT /teams/{team}/billing/cap {"cap_cents": 5000, "stop_apps": false}`: the team's spend cap.
pub async fn cap(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>, Body(b): Body<CapRequest>) -> ApiResult<Json<TeamBilling>> {
    Ok(Json(s.services.set_spend_cap(&a, &team, b.cap_cents, b.stop_apps).await?))
}

/// `GET /teams/{team}/billing/invoices`: the team's invoices from Stripe, newest first.
pub async fn invoices(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Json<Vec<domain::billing::Invoice>>> {
    Ok(Json(s.services.team_invoices(&a, &team).await?))
}

pub async fn portal(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Json<Redirect>> {
    Ok(Json(Redirect { url: s.services.billing_portal(&a, &team).await? }))
}

/// Stripe's events: 200 once handled (or already handled, or not acted on), 400 for a missing or
/// wrong signature (nothing is parsed or changed), 404 while billing is off.
pub async fn stripe(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match s.services.stripe_webhook(signature, &body).await {
        Ok(reply @ (StripeReply::Handled { .. } | StripeReply::Duplicate { .. } | StripeReply::Ignored { .. })) => (StatusCode::OK, Json(reply)).into_response(),
        Err(StripeWebhookError::NotConfigured) => error_response(StatusCode::NOT_FOUND, "Stripe webhooks are not configured (stripe_webhook_secret)"),
        Err(StripeWebhookError::BadSignature) => error_response(StatusCode::BAD_REQUEST, "the Stripe-Signature header is missing, wrong or too old"),
        Err(StripeWebhookError::Malformed(why)) => error_response(StatusCode::BAD_REQUEST, why),
        Err(StripeWebhookError::Internal) => error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}
