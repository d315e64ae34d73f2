//! Deployments of one app: list (newest first, paged by id), deploy, cancel, roll back.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::Deployment;

pub const PAGE_SIZE: i64 = 20;

/// Up to [`PAGE_SIZE`] deployments older than `before` (a deployment id), newest first.
#[server]
pub async fn list_deployments(slug: String, before: Option<i64>) -> Result<Vec<Deployment>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.list_deployments(&actor, &slug, before, PAGE_SIZE).await?)
}

/// Queues a deployment of `git_ref` (blank: the app's branch).
#[server]
pub async fn deploy(slug: String, git_ref: String) -> Result<Deployment, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let git_ref = super::ctx::opt(git_ref);
    Ok(services.request_deploy(&actor, &slug, git_ref.as_deref()).await?)
}

#[server]
pub async fn cancel_deployment(id: i64) -> Result<Deployment, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.cancel_deployment(&actor, id).await?)
}

/// Makes the kept build of deployment `id` live again (a new deployment, no rebuild).
#[server]
pub async fn rollback(id: i64) -> Result<Deployment, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.rollback(&actor, id).await?)
}
