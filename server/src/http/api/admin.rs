//! Accounts, for the instance admin only (the domain refuses everyone else).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::admin::UserSummary;
use serde_json::{json, Value};

use super::teams::id_in;
use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::AppState;

pub async fn users(State(s): State<AppState>, Caller(a): Caller) -> ApiResult<Json<Vec<UserSummary>>> {
    Ok(Json(s.services.list_users(&a).await?))
}

pub async fn disable(State(s): State<AppState>, Caller(a): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.services.set_user_disabled(&a, id_in(&id, "user")?, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn enable(State(s): State<AppState>, Caller(a): Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.services.set_user_disabled(&a, id_in(&id, "user")?, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/v1/admin/users/{id}/sessions` → `{"ended": n}`.
pub async fn reset_sessions(State(s): State<AppState>, Caller(a): Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let ended = s.services.reset_user_sessions(&a, id_in(&id, "user")?).await?;
    Ok(Json(json!({ "ended": ended })))
}
