//! Apps: list, read, create, update, delete.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{AppFields, AppInfo, AppSummary};

#[server]
pub async fn list_apps() -> Result<Vec<AppSummary>, AppError> {
    let (services, _user) = super::ctx::authorize().await?;
    let apps = services.list_apps().await?;
    let mut out = Vec::with_capacity(apps.len());
    for app in apps {
        // The domain has no "apps with their newest status" query yet: one small query per app.
        let newest = services.list_deployments(&app.slug, None, 1).await?;
        let status = newest.first().map(|d| d.status.as_str().to_string());
        out.push(AppSummary { app: app.into(), status });
    }
    Ok(out)
}

#[server]
pub async fn get_app(slug: String) -> Result<AppInfo, AppError> {
    let (services, _user) = super::ctx::authorize().await?;
    Ok(services.app(&slug).await?.into())
}

#[server]
pub async fn create_app(fields: AppFields) -> Result<AppInfo, AppError> {
    use super::ctx::opt;
    let (services, _user) = super::ctx::authorize().await?;
    let input = domain::apps::NewApp {
        name: fields.name,
        slug: None,
        repo_url: fields.repo_url,
        branch: opt(fields.branch),
        root_dir: opt(fields.root_dir),
        build_command: opt(fields.build_command),
        start_command: opt(fields.start_command),
        health_check_path: opt(fields.health_check_path),
    };
    let app: AppInfo = services.create_app(input).await?.into();
    leptos_axum::redirect(&format!("/apps/{}", app.slug));
    Ok(app)
}

/// Saves the settings form: every field is sent; an empty branch, build or start command clears it.
#[server]
pub async fn update_app(slug: String, fields: AppFields) -> Result<AppInfo, AppError> {
    let (services, _user) = super::ctx::authorize().await?;
    let patch = domain::apps::AppPatch {
        name: Some(fields.name),
        repo_url: Some(fields.repo_url),
        branch: Some(fields.branch.trim().to_string()),
        root_dir: Some(fields.root_dir),
        build_command: Some(fields.build_command),
        start_command: Some(fields.start_command),
        health_check_path: super::ctx::opt(fields.health_check_path),
    };
    Ok(services.update_app(&slug, patch).await?.into())
}

#[server]
pub async fn delete_app(slug: String) -> Result<(), AppError> {
    let (services, _user) = super::ctx::authorize().await?;
    services.delete_app(&slug).await?;
    Ok(())
}
