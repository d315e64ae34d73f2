//! Apps: list, read, create, update, delete.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{AppAccess, AppFields, AppOverview, Deployment, TeamApps};

/// The apps of `team` (blank: the caller's personal team).
#[server]
pub async fn list_apps(team: String) -> Result<TeamApps, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let teams = services.my_teams(&actor).await?;
    let team = match super::ctx::opt(team) {
        Some(slug) => services.team(&actor, &slug).await?,
        None => teams.into_iter().find(|t| t.team.personal).ok_or(AppError::NotFound("Team".into()))?,
    };
    let apps = services.list_app_overviews(&actor, Some(&team.team.slug)).await?;
    Ok(TeamApps { team, apps })
}

/// The app's state, its live version's runtime state (with the last log lines when it crashed), the
/// release it runs, its newest deployment and the disk its kept builds use.
#[server]
pub async fn get_app_status(slug: String) -> Result<AppOverview, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.app_overview(&actor, &slug).await?)
}

/// Starts the live build again with the current environment (no build).
#[server]
pub async fn restart_app(slug: String) -> Result<Deployment, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.restart_app(&actor, &slug).await?)
}

/// Takes the app out of service until it is started again.
#[server]
pub async fn stop_app(slug: String) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    services.stop_app(&actor, &slug).await?;
    Ok(())
}

/// Puts a stopped app back in service (its live build again).
#[server]
pub async fn start_app(slug: String) -> Result<Deployment, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.start_app(&actor, &slug).await?)
}

#[server]
pub async fn get_app(slug: String) -> Result<AppAccess, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let (app, team, role) = services.app_standing(&actor, &slug).await?;
    Ok(AppAccess { app, team: team.slug, team_name: team.name, role })
}

/// Creates an app in `team` (blank: the caller's personal team) and opens its page.
#[server]
pub async fn create_app(team: String, fields: AppFields) -> Result<wire::App, AppError> {
    use super::ctx::opt;
    let (services, actor) = super::ctx::authorize().await?;
    let team = opt(team);
    let input = domain::apps::NewApp {
        team: team.clone(),
        name: fields.name,
        slug: opt(fields.slug),
        repo_url: fields.repo_url,
        branch: opt(fields.branch),
        root_dir: opt(fields.root_dir),
        build_command: opt(fields.build_command),
        start_command: opt(fields.start_command),
        health_check_path: opt(fields.health_check_path),
        runtime: opt(fields.runtime),
        cpu_limit: form::number("cpu_limit", &fields.cpu_limit)?,
        memory_limit_mb: form::number("memory_limit_mb", &fields.memory_limit_mb)?,
        replicas: form::number("replicas", &fields.replicas)?,
        drain_timeout_secs: form::number("drain_timeout_secs", &fields.drain_timeout_secs)?,
        stop_timeout_secs: form::number("stop_timeout_secs", &fields.stop_timeout_secs)?,
        sticky_sessions: form::checked(&fields.sticky_sessions).then_some(true),
        dockerfile_path: opt(fields.dockerfile_path),
        auto_deploy: None,
        watch_root_dir: None,
        previews: None,
        check_repo: !form::checked(&fields.anyway),
    };
    let app = services.create_app(&actor, input).await?;
    match team {
        Some(t) => leptos_axum::redirect(&format!("/t/{t}/apps/{}", app.slug)),
        None => leptos_axum::redirect(&format!("/apps/{}", app.slug)),
    }
    Ok(app)
}

/// Saves the settings form: every field is sent; an empty branch, build or start command, CPU or
/// memory limit or Dockerfile path clears it; a blank runtime, replica count or timeout is kept.
#[server]
pub async fn update_app(slug: String, fields: AppFields) -> Result<wire::App, AppError> {
    use super::ctx::opt;
    let (services, actor) = super::ctx::authorize().await?;
    let patch = domain::apps::AppPatch {
        name: Some(fields.name),
        repo_url: Some(fields.repo_url),
        branch: Some(fields.branch.trim().to_string()),
        root_dir: Some(fields.root_dir),
        build_command: Some(fields.build_command),
        start_command: Some(fields.start_command),
        health_check_path: opt(fields.health_check_path),
        runtime: opt(fields.runtime),
        cpu_limit: Some(form::number("cpu_limit", &fields.cpu_limit)?),
        memory_limit_mb: Some(form::number("memory_limit_mb", &fields.memory_limit_mb)?),
        replicas: form::number("replicas", &fields.replicas)?,
        drain_timeout_secs: form::number("drain_timeout_secs", &fields.drain_timeout_secs)?,
        stop_timeout_secs: form::number("stop_timeout_secs", &fields.stop_timeout_secs)?,
        sticky_sessions: Some(form::checked(&fields.sticky_sessions)),
        dockerfile_path: Some(fields.dockerfile_path),
        auto_deploy: Some(form::checked(&fields.auto_deploy)),
        watch_root_dir: Some(form::checked(&fields.watch_root_dir)),
        previews: Some(form::checked(&fields.previews)),
    };
    Ok(services.update_app(&actor, &slug, patch).await?)
}

#[server]
pub async fn delete_app(slug: String) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    services.delete_app(&actor, &slug).await?;
    Ok(())
}

/// Form text → the numbers the domain checks (its range errors name the field too).
#[cfg(feature = "ssr")]
mod form {
    use crate::error::AppError;

    /// Blank: not given.
    pub fn number<T: std::str::FromStr>(field: &str, s: &str) -> Result<Option<T>, AppError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse().map(Some).map_err(|_| AppError::Invalid { field: field.into(), msg: format!("must be a number (not “{s}”)") })
    }

    /// A checkbox's value: the browser sends `on` when it is checked, nothing otherwise.
    pub fn checked(s: &str) -> bool {
        matches!(s.trim(), "on" | "true" | "1")
    }
}
