//! The build queue.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::QueuedBuild;

/// Deployments building, then those waiting for a build slot, in the order they will build.
#[server]
pub async fn list_builds() -> Result<Vec<QueuedBuild>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.build_queue(&actor).await?)
}
