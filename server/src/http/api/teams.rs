//! Teams, their members and their audit log. Every permission is decided by the domain method called.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use domain::policy::Role;
use domain::teams::{AuditEntry, AuditFilter, Member, MyTeam};
use domain::Error;
use serde::Deserialize;

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

/// A `{team}/…/{id}` path whose id is a number; anything else is a 404 like an unknown id.
pub(crate) fn id_in(raw: &str, what: &'static str) -> Result<i64, Error> {
    raw.parse().map_err(|_| Error::NotFound(what))
}

/// `GET /api/v1/teams`: the caller's teams with their role.
pub async fn list(State(s): State<AppState>, Caller(a): Caller) -> ApiResult<Json<Vec<MyTeam>>> {
    Ok(Json(s.services.my_teams(&a).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    name: String,
    slug: Option<String>,
}

pub async fn create(State(s): State<AppState>, Caller(a): Caller, Body(b): Body<NewTeam>) -> ApiResult<(StatusCode, Json<MyTeam>)> {
    Ok((StatusCode::CREATED, Json(s.services.create_team(&a, &b.name, b.slug.as_deref()).await?)))
}

pub async fn show(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Json<MyTeam>> {
    Ok(Json(s.services.team(&a, &team).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    name: Option<String>,
    slug: Option<String>,
    /// Members must use two-factor sign-in (you must already).
    require_2fa: Option<bool>,
}

pub async fn update(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>, Body(b): Body<TeamPatch>) -> ApiResult<Json<MyTeam>> {
    Ok(Json(s.services.update_team(&a, &team, b.name.as_deref(), b.slug.as_deref(), b.require_2fa).await?))
}

pub async fn delete(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<StatusCode> {
    s.services.delete_team(&a, &team).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn members(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Json<Vec<Member>>> {
    Ok(Json(s.services.members(&a, &team).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: Role,
}

/// `PATCH …/members/{user} {"role"}`: takes effect on the member's next request.
pub async fn change_role(State(s): State<AppState>, Caller(a): Caller, Path((team, user)): Path<(String, String)>, Body(b): Body<RoleBody>) -> ApiResult<Json<Member>> {
    let user = id_in(&user, "member")?;
    Ok(Json(s.services.change_member_role(&a, &team, user, b.role).await?))
}

/// `DELETE …/members/{user}`: removes them (or, for one's own id, leaves).
pub async fn remove_member(State(s): State<AppState>, Caller(a): Caller, Path((team, user)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let user = id_in(&user, "member")?;
    s.services.remove_member(&a, &team, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct AuditQuery {
    user: Option<i64>,
    action: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

/// `GET …/audit?user=&action=&before=&limit=`: newest first; `before` is the last id of the previous page.
pub async fn audit(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>, Query(q): Query<AuditQuery>) -> ApiResult<Json<Vec<AuditEntry>>> {
    let filter = AuditFilter { user_id: q.user, action: q.action.filter(|x| !x.is_empty()), before: q.before, limit: q.limit.unwrap_or(50) };
    Ok(Json(s.services.audit_log(&a, &team, filter).await?))
}
