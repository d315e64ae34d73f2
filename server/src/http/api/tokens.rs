use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use domain::net::ClientIp;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::auth::CurrentUser;
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
}

/// `POST /api/v1/auth/token {"email","password"}` → `{"token"}` (shown once; stored hashed).
pub async fn create_with_password(State(s): State<AppState>, Extension(ClientIp(client)): Client, Body(b): Body<PasswordLogin>) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = s.services.authenticate(&b.email, &b.password, client).await?;
    let issued = s.services.issue_api_token(&user, b.name.as_deref().unwrap_or("api")).await?;
    Ok((StatusCode::CREATED, Json(json!({ "token": issued.secret, "id": issued.record.id }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    name: String,
}

pub async fn create(State(s): State<AppState>, CurrentUser(u): CurrentUser, Body(b): Body<NewToken>) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = s.services.issue_api_token(&u, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "token": issued.secret, "id": issued.record.id, "prefix": issued.record.prefix }))))
}

pub async fn list(State(s): State<AppState>, CurrentUser(u): CurrentUser) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.services.list_api_tokens(&u).await?)))
}

pub async fn revoke(State(s): State<AppState>, CurrentUser(u): CurrentUser, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    s.services.revoke_api_token(&u, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
