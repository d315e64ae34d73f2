use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::apps::status::{AppListItem, AppOverview};
use domain::apps::{AppPatch, NewApp};
use domain::model::{App, Deployment};

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

#[derive(serde::Deserialize)]
pub struct ListQuery {
    team: Option<String>,
}

/// The apps of the caller's teams (`?team=<slug>`: of that team) with their live version's runtime state.
pub async fn list(State(s): State<AppState>, Caller(a): Caller, axum::extract::Query(q): axum::extract::Query<ListQuery>) -> ApiResult<Json<Vec<AppListItem>>> {
    Ok(Json(s.services.list_app_overviews(&a, q.team.as_deref()).await?))
}

pub async fn create(State(s): State<AppState>, Caller(a): Caller, Body(b): Body<NewApp>) -> ApiResult<(StatusCode, Json<App>)> {
    Ok((StatusCode::CREATED, Json(s.services.create_app(&a, b).await?)))
}

/// The app, its live version's runtime state (with the last log lines when it crashed) and the disk
/// its kept builds use.
pub async fn show(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<Json<AppOverview>> {
    Ok(Json(s.services.app_overview(&a, &slug).await?))
}

pub async fn update(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Body(b): Body<AppPatch>) -> ApiResult<Json<App>> {
    Ok(Json(s.services.update_app(&a, &slug, b).await?))
}

/// Starts the live build again with the current environment (a new release, no build): 202 with it.
pub async fn restart(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<(StatusCode, Json<Deployment>)> {
    Ok((StatusCode::ACCEPTED, Json(s.services.restart_app(&a, &slug).await?)))
}

/// Takes the app out of service (returns once its instances are stopped); stopping it again is a no-op.
pub async fn stop(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<Json<App>> {
    Ok(Json(s.services.stop_app(&a, &slug).await?))
}

/// Puts a stopped app back in service: 202 with the deployment that releases its build again.
pub async fn start(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<(StatusCode, Json<Deployment>)> {
    Ok((StatusCode::ACCEPTED, Json(s.services.start_app(&a, &slug).await?)))
}

pub async fn delete(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>) -> ApiResult<StatusCode> {
    s.services.delete_app(&a, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}
