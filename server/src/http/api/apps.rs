use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use domain::apps::{AppPatch, NewApp};
use domain::model::App;

use crate::http::auth::CurrentUser;
use crate::http::error::ApiResult;
use crate::http::json::Body;
use crate::http::AppState;

pub async fn list(State(s): State<AppState>, _: CurrentUser) -> ApiResult<Json<Vec<App>>> {
    Ok(Json(s.services.list_apps().await?))
}

pub async fn create(State(s): State<AppState>, _: CurrentUser, Body(b): Body<NewApp>) -> ApiResult<(StatusCode, Json<App>)> {
    Ok((StatusCode::CREATED, Json(s.services.create_app(b).await?)))
}

pub async fn show(State(s): State<AppState>, _: CurrentUser, Path(slug): Path<String>) -> ApiResult<Json<App>> {
    Ok(Json(s.services.app(&slug).await?))
}

pub async fn update(State(s): State<AppState>, _: CurrentUser, Path(slug): Path<String>, Body(b): Body<AppPatch>) -> ApiResult<Json<App>> {
    Ok(Json(s.services.update_app(&slug, b).await?))
}

pub async fn delete(State(s): State<AppState>, _: CurrentUser, Path(slug): Path<String>) -> ApiResult<StatusCode> {
    s.services.delete_app(&slug).await?;
    Ok(StatusCode::NO_CONTENT)
}
