use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::apps::status::{AppListItem, AppOverview};
use domain::apps::{AppPatch, NewApp};
use domain::model::App;

use crate::http::auth::CurrentUser;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

/// Every app with its live version's runtime state.
pub async fn list(State(s): State<AppState>, _: CurrentUser) -> ApiResult<Json<Vec<AppListItem>>> {
    Ok(Json(s.services.list_app_overviews().await?))
}

pub async fn create(State(s): State<AppState>, _: CurrentUser, Body(b): Body<NewApp>) -> ApiResult<(StatusCode, Json<App>)> {
    Ok((StatusCode::CREATED, Json(s.services.create_app(b).await?)))
}

/// The app, its live version's runtime state (with the last log lines when it crashed) and the disk
/// its kept builds use.
pub async fn show(State(s): State<AppState>, _: CurrentUser, Path(slug): Path<String>) -> ApiResult<Json<AppOverview>> {
    Ok(Json(s.services.app_overview(&slug).await?))
}

pub async fn update(State(s): State<AppState>, _: CurrentUser, Path(slug): Path<String>, Body(b): Body<AppPatch>) -> ApiResult<Json<App>> {
    Ok(Json(s.services.update_app(&slug, b).await?))
}

pub async fn delete(State(s): State<AppState>, _: CurrentUser, Path(slug): Path<String>) -> ApiResult<StatusCode> {
    s.services.delete_app(&slug).await?;
    Ok(StatusCode::NO_CONTENT)
}
