//! `POST /api/v1/webhooks/github`: GitHub's deliveries. Authenticated by their signature (no session,
//! no token): a missing or wrong `X-Hub-Signature-256` is 401 before the body is parsed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::github::forges::{Forge, ForgeDelivery};
use domain::github::{WebhookError, WebhookReply};

use crate::http::auth::Caller;
use crate::http::error::ApiResult;

use super::super::error::error_response;
use super::super::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn github(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let event = header(&headers, "x-github-event").unwrap_or("");
    let delivery = header(&headers, "x-github-delivery").unwrap_or("");
    let signature = header(&headers, "x-hub-signature-256");
    answer(s.services.github_webhook(event, delivery, signature, &body).await)
}

/// The answer to any forge's delivery.
fn answer(result: Result<WebhookReply, WebhookError>) -> Response {
    match result {
        Ok(reply) => {
            let status = match &reply {
                WebhookReply::Pong | WebhookReply::Duplicate | WebhookReply::Push { .. } | WebhookReply::Installation { .. } | WebhookReply::PullRequest { .. } => StatusCode::OK,
                WebhookReply::Ignored { .. } => StatusCode::ACCEPTED,
            };
            (status, Json(reply)).into_response()
        }
        Err(WebhookError::NotConfigured) => error_response(StatusCode::NOT_FOUND, "GitHub webhooks are not configured (github_webhook_secret)"),
        Err(WebhookError::BadSignature) => error_response(StatusCode::UNAUTHORIZED, "the delivery's signature or token is missing or wrong"),
        Err(WebhookError::Malformed(why)) => error_response(StatusCode::BAD_REQUEST, why),
        Err(WebhookError::InProgress) => error_response(StatusCode::CONFLICT, "this delivery is being handled; try again later"),
        Err(WebhookError::Internal) => error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// `POST /webhooks/gitlab/{slug}`: a GitLab push, authenticated by `X-Gitlab-Token` (the app's secret).
pub async fn gitlab(State(s): State<AppState>, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let d = ForgeDelivery {
        event: header(&headers, "x-gitlab-event").unwrap_or(""),
        delivery: header(&headers, "x-gitlab-event-uuid").or_else(|| header(&headers, "idempotency-key")).unwrap_or(""),
        token: header(&headers, "x-gitlab-token"),
        signature: None,
    };
    answer(s.services.forge_webhook(Forge::GitLab, &slug, &d, &body).await)
}

/// `POST /webhooks/gitea/{slug}`: a Gitea or Forgejo push, authenticated by its body's HMAC.
pub async fn gitea(State(s): State<AppState>, Path(slug): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let d = ForgeDelivery {
        event: header(&headers, "x-gitea-event").or_else(|| header(&headers, "x-forgejo-event")).unwrap_or(""),
        delivery: header(&headers, "x-gitea-delivery").or_else(|| header(&headers, "x-forgejo-delivery")).unwrap_or(""),
        token: None,
        signature: header(&headers, "x-gitea-signature").or_else(|| header(&headers, "x-forgejo-signature")),
    };
    answer(s.services.forge_webhook(Forge::Gitea, &slug, &d, &body).await)
}

#[derive(serde::Serialize)]
pub struct SecretView {
    /// Shown once, when made.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    made_at: Option<i64>,
    gitlab_url: String,
    gitea_url: String,
}

/// `POST /apps/{slug}/webhook-secret`: a new secret for GitLab/Gitea webhooks (shown once).
pub async fn make_secret(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<(StatusCode, Json<SecretView>)> {
    let issued = s.services.new_webhook_secret(&a, &slug).await?;
    let made_at = s.services.webhook_secret_made(&a, &slug).await?;
    Ok((StatusCode::CREATED, Json(SecretView { secret: Some(issued.secret), made_at, gitlab_url: issued.gitlab_path, gitea_url: issued.gitea_path })))
}

/// `GET /apps/{slug}/webhook-secret`: whether one is set, and the URLs to give GitLab/Gitea.
pub async fn show_secret(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<Json<SecretView>> {
    let made_at = s.services.webhook_secret_made(&a, &slug).await?;
    let app = s.services.app(&a, &slug).await?;
    Ok(Json(SecretView { secret: None, made_at, gitlab_url: Forge::GitLab.hook_path(&app.slug), gitea_url: Forge::Gitea.hook_path(&app.slug) }))
}
