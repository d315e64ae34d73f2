//! The GitHub App on the new-app form: the team's repositories (through its connected
//! installations), a repository's branches, and the link that connects a GitHub account.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the new-app form offers from GitHub.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitHubPicker {
    /// A GitHub App is configured on this installation.
    pub enabled: bool,
    /// The team's slug (the one asked for, or the caller's personal team).
    pub team: String,
    /// GitHub's web root: a repository's URL is `{web_url}/{full_name}.git`.
    pub web_url: String,
    pub repos: Vec<PickerRepo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickerRepo {
    pub full_name: String,
    pub private: bool,
}

impl GitHubPicker {
    /// Where "Connect GitHub" goes (GitHub's install page, through Rhone).
    pub fn install_path(&self) -> String {
        format!("/api/v1/teams/{}/github/install", self.team)
    }

    pub fn repo_url(&self, full_name: &str) -> String {
        format!("{}/{full_name}.git", self.web_url)
    }
}

#[cfg(feature = "ssr")]
async fn team_slug(services: &domain::Services, actor: &domain::access::Actor, team: String) -> Result<String, AppError> {
    match super::ctx::opt(team) {
        Some(t) => Ok(t),
        None => {
            let teams = services.my_teams(actor).await?;
            Ok(teams.into_iter().find(|t| t.team.personal).ok_or(AppError::NotFound("Team".into()))?.team.slug)
        }
    }
}

/// The repositories `team` (blank: your personal team) may deploy through the GitHub App.
#[server]
pub async fn github_picker(team: String) -> Result<GitHubPicker, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let team = team_slug(&services, &actor, team).await?;
    // the caller's right on the team first, configured or not
    let repos = services.github_repositories(&actor, &team).await?;
    let Some(app) = services.settings.github_app.as_ref() else {
        return Ok(GitHubPicker { enabled: false, team, ..Default::default() });
    };
    Ok(GitHubPicker {
        enabled: true,
        web_url: app.web_url.clone(),
        repos: repos.into_iter().map(|r| PickerRepo { full_name: r.full_name, private: r.private }).collect(),
        team,
    })
}

/// The branches of one of the team's GitHub repositories.
#[server]
pub async fn github_branches(team: String, repo: String) -> Result<Vec<String>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let team = team_slug(&services, &actor, team).await?;
    Ok(services.github_branches(&actor, &team, &repo).await?)
}

/// Whether the login page offers "Sign in with GitHub" (anyone may ask).
#[server]
pub async fn github_sign_in_enabled() -> Result<bool, AppError> {
    let services = super::ctx::services()?;
    Ok(services.github_sign_in_enabled())
}

/// The account page's GitHub line: whether GitHub sign-in is on, and the GitHub account linked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitHubAccount {
    pub enabled: bool,
    pub linked: Option<String>,
}

#[server]
pub async fn github_account() -> Result<GitHubAccount, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(GitHubAccount { enabled: services.github_sign_in_enabled(), linked: services.linked_github(&actor).await? })
}

/// A GitLab/Gitea webhook secret just made (shown once), and where the forge posts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgeHook {
    pub secret: String,
    pub gitlab_url: String,
    pub gitea_url: String,
}

/// Makes (or replaces) the app's GitLab/Gitea webhook secret.
#[server]
pub async fn make_webhook_secret(slug: String) -> Result<ForgeHook, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let issued = services.new_webhook_secret(&actor, &slug).await?;
    let origin = services.links().dashboard.clone();
    Ok(ForgeHook { secret: issued.secret, gitlab_url: format!("{origin}{}", issued.gitlab_path), gitea_url: format!("{origin}{}", issued.gitea_path) })
}
