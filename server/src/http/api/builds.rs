use axum::extract::State;
use axum::Json;
use domain::pipeline::queue::QueuedBuild;

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::AppState;

/// The build queue: deployments building, then those waiting, in the order they will build.
pub async fn queue(State(s): State<AppState>, Caller(a): Caller) -> ApiResult<Json<Vec<QueuedBuild>>> {
    Ok(Json(s.services.build_queue(&a).await?))
}
