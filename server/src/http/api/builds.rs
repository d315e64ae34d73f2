use axum::extract::State;
use axum::Json;
use domain::pipeline::queue::QueuedBuild;

use crate::http::auth::CurrentUser;
use crate::http::error::ApiResult;
use crate::http::AppState;

/// The build queue: deployments building, then those waiting, in the order they will build.
pub async fn queue(State(s): State<AppState>, _: CurrentUser) -> ApiResult<Json<Vec<QueuedBuild>>> {
    Ok(Json(s.services.build_queue().await?))
}
