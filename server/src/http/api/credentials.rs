//! `/api/v1/apps/{slug}/credentials`: the app's git credential for a private repository. A token is
//! write-only (never echoed back); a deploy key's private half never leaves Rhone.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::credentials::CredentialInfo;
use serde::Deserialize;

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

/// No `Debug`: the token must not end up in a log line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    token: String,
    /// The user name git sends with it (default `x-access-token`).
    username: Option<String>,
}

/// `GET …/credentials` → `{"kind": "token"|"deploy_key"|null, "username", "public_key", "updated_at"}`.
pub async fn show(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<Json<CredentialInfo>> {
    Ok(Json(s.services.credential(&a, &slug).await?))
}

/// `PUT …/credentials/token {"token", "username"?}` → 204.
pub async fn set_token(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Body(b): Body<TokenBody>) -> ApiResult<StatusCode> {
    s.services.set_access_token(&a, &slug, &b.token, b.username.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/credentials/deploy-key` → 201 with the new public key (a new key pair each time).
pub async fn deploy_key(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<(StatusCode, Json<CredentialInfo>)> {
    Ok((StatusCode::CREATED, Json(s.services.generate_deploy_key(&a, &slug).await?)))
}

/// `DELETE …/credentials` → 204 (also when there was none).
pub async fn delete(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<StatusCode> {
    s.services.delete_credential(&a, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}
