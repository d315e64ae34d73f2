//! `POST /api/v1/webhooks/github`: GitHub's deliveries. Authenticated by their signature (no session,
//! no token): a missing or wrong `X-Hub-Signature-256` is 401 before the body is parsed.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::github::{WebhookError, WebhookReply};

use super::super::error::error_response;
use super::super::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub async fn github(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let event = header(&headers, "x-github-event").unwrap_or("");
    let delivery = header(&headers, "x-github-delivery").unwrap_or("");
    let signature = header(&headers, "x-hub-signature-256");
    match s.services.github_webhook(event, delivery, signature, &body).await {
        Ok(reply) => {
            let status = match &reply {
                WebhookReply::Pong | WebhookReply::Duplicate | WebhookReply::Push { .. } | WebhookReply::Installation { .. } | WebhookReply::PullRequest { .. } => StatusCode::OK,
                WebhookReply::Ignored { .. } => StatusCode::ACCEPTED,
            };
            (status, Json(reply)).into_response()
        }
        Err(WebhookError::NotConfigured) => error_response(StatusCode::NOT_FOUND, "GitHub webhooks are not configured (github_webhook_secret)"),
        Err(WebhookError::BadSignature) => error_response(StatusCode::UNAUTHORIZED, "the X-Hub-Signature-256 signature is missing or wrong"),
        Err(WebhookError::Malformed(why)) => error_response(StatusCode::BAD_REQUEST, why),
        Err(WebhookError::InProgress) => error_response(StatusCode::CONFLICT, "this delivery is being handled; try again later"),
        Err(WebhookError::Internal) => error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}
