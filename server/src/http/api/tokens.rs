use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use domain::net::ClientIp;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::auth::Caller;
use crate::http::path::IdPath;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::{AppState, Client};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordLogin {
    email: String,
    password: String,
    name: Option<String>,
    /// For an account with two-factor sign-in: a TOTP code or a recovery code.
    code: Option<String>,
}

/// `POST /api/v1/auth/token {"email","password"}` → `{"token"}` (shown once; stored hashed).
pub async fn create_with_password(State(s): State<AppState>, Extension(ClientIp(client)): Client, Body(b): Body<PasswordLogin>) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = s.services.authenticate(&b.email, &b.password, client).await?;
    if user.two_factor {
        match b.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                s.services.check_second_factor(&user, code, client).await?;
            }
            None => return Err(domain::Error::invalid("code", "this account uses two-factor sign-in: send \"code\" with a current code").into()),
        }
    }
    let actor = domain::access::Actor::session(user, Some(client));
    let issued = s.services.issue_api_token(&actor, b.name.as_deref().unwrap_or("api"), None, domain::policy::Scope::Write).await?;
    Ok((StatusCode::CREATED, Json(json!({ "token": issued.secret, "id": issued.record.id }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
    /// Limit the token to this team (slug).
    team: Option<String>,
    /// `read` or `write` (default).
    scope: Option<domain::policy::Scope>,
}

pub async fn create(State(s): State<AppState>, Caller(a): Caller, Body(b): Body<NewToken>) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = s.services.issue_api_token(&a, &b.name, b.team.as_deref(), b.scope.unwrap_or(domain::policy::Scope::Write)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "token": issued.secret, "id": issued.record.id, "prefix": issued.record.prefix }))))
}

pub async fn list(State(s): State<AppState>, Caller(a): Caller) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.services.list_api_tokens(&a).await?)))
}

pub async fn revoke(State(s): State<AppState>, Caller(a): Caller, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    s.services.revoke_api_token(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
