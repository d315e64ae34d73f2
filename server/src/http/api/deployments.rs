use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use domain::model::{Deployment, StatusEvent};
use serde::{Deserialize, Serialize};

use crate::http::auth::Caller;
use crate::http::path::IdPath;
use crate::http::error::ApiResult;
use crate::http::error::ApiError;
use crate::http::json::optional_json;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use crate::http::AppState;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewDeployment {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

#[derive(Deserialize)]
pub struct Page {
    before: Option<i64>,
    limit: Option<i64>,
}

#[derive(Serialize)]
pub struct Detail {
    #[serde(flatten)]
    deployment: Deployment,
    events: Vec<StatusEvent>,
}

/// The body is optional: no body (or `{}`) deploys the app's branch head.
pub async fn create(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, body: Bytes) -> Result<(StatusCode, Json<Deployment>), Response> {
    let b: NewDeployment = optional_json(&body)?;
    let dep = s.services.request_deploy(&a, &slug, b.git_ref.as_deref()).await.map_err(|e| ApiError(e).into_response())?;
    Ok((StatusCode::ACCEPTED, Json(dep)))
}

pub async fn list(State(s): State<AppState>, Caller(a): Caller, Path(slug): Path<String>, Query(p): Query<Page>) -> ApiResult<Json<Vec<Deployment>>> {
    Ok(Json(s.services.list_deployments(&a, &slug, p.before, p.limit.unwrap_or(20)).await?))
}

pub async fn show(State(s): State<AppState>, Caller(a): Caller, IdPath(id): IdPath) -> ApiResult<Json<Detail>> {
    let deployment = s.services.deployment(&a, id).await?;
    let events = s.services.deployment_events(&a, id).await?;
    Ok(Json(Detail { deployment, events }))
}

pub async fn cancel(State(s): State<AppState>, Caller(a): Caller, IdPath(id): IdPath) -> ApiResult<Json<Deployment>> {
    Ok(Json(s.services.cancel_deployment(&a, id).await?))
}

pub async fn rollback(State(s): State<AppState>, Caller(a): Caller, IdPath(id): IdPath) -> ApiResult<(StatusCode, Json<Deployment>)> {
    Ok((StatusCode::ACCEPTED, Json(s.services.rollback(&a, id).await?)))
}
