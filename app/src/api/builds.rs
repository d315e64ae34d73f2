//! The build queue.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::QueuedBuildInfo;

/// Deployments building, then those waiting for a build slot, in the order they will build.
#[server]
pub async fn list_builds() -> Result<Vec<QueuedBuildInfo>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.build_queue(&actor).await?.into_iter().map(Into::into).collect())
}
