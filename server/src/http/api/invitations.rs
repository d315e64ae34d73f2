//! Invitations: created by owners and admins, used once through their link.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::policy::Role;
use domain::teams::{Invitation, MyTeam};
use domain::model::User;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::teams::id_in;
use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    email: String,
    role: Role,
}

/// `POST /api/v1/teams/{team}/invitations {"email","role"}` → `{id, url, expires_at, emailed,
/// email_error}` (the link is shown once: only its hash is stored; `emailed` when a relay took it).
pub async fn create(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>, Body(b): Body<NewInvitation>) -> ApiResult<(StatusCode, Json<Value>)> {
    let issued = s.services.invite(&a, &team, &b.email, b.role, &s.dashboard.url()).await?;
    let (emailed, email_error) = issued.email.reported();
    let inv = issued.invitation;
    let body = json!({ "id": inv.id, "url": issued.url, "expires_at": inv.expires_at, "email": inv.email, "role": inv.role, "emailed": emailed, "email_error": email_error });
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn list(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Json<Vec<Invitation>>> {
    Ok(Json(s.services.invitations(&a, &team).await?))
}

pub async fn show(State(s): State<AppState>, Caller(a): Caller, Path((team, id)): Path<(String, String)>) -> ApiResult<Json<Invitation>> {
    let id = id_in(&id, "invitation")?;
    let found = s.services.invitations(&a, &team).await?.into_iter().find(|i| i.id == id);
    Ok(Json(found.ok_or(domain::Error::NotFound("invitation"))?))
}

pub async fn revoke(State(s): State<AppState>, Caller(a): Caller, Path((team, id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    s.services.revoke_invitation(&a, &team, id_in(&id, "invitation")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    /// For a new account (no session or token sent).
    password: Option<String>,
}

#[derive(Serialize)]
pub struct Accepted {
    user: User,
    team: MyTeam,
}

/// `POST /api/v1/invitations/{token}/accept`: the caller joins; without a session or token, a new
/// account is made for the invited email with `{"password"}`.
pub async fn accept(State(s): State<AppState>, caller: Option<Caller>, Path(token): Path<String>, body: axum::body::Bytes) -> Result<Json<Accepted>, axum::response::Response> {
    use axum::response::IntoResponse;
    let b: Accept = crate::http::json::optional_json(&body)?;
    let actor = caller.map(|Caller(a)| a);
    let (user, team) = s.services.accept_invitation(&token, actor.as_ref(), b.password.as_deref()).await.map_err(|e| crate::http::error::ApiError(e).into_response())?;
    Ok(Json(Accepted { user, team }))
}
