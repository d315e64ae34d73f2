//! The caller's own account.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use domain::net::ClientIp;
use serde::Deserialize;

use crate::http::auth::{session_of, Caller};
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::{AppState, Client};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /api/v1/account/password {"current","new"}` → 204. Ends every other session of the user
/// (all of them when called with an API token; the calling browser session stays logged in).
pub async fn change_password(
    State(s): State<AppState>,
    Caller(a): Caller,
    Extension(ClientIp(client)): Client,
    headers: HeaderMap,
    Body(b): Body<PasswordChange>,
) -> ApiResult<StatusCode> {
    let keep = session_of(&headers, s.session_cookie_name());
    s.services.change_password(&a, &b.current, &b.new, keep, client).await?;
    Ok(StatusCode::NO_CONTENT)
}
