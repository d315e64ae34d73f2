//! GitHub App installations: which GitHub accounts installed Rhone's App, on which repositories, and
//! which team each one is connected to.
//!
//! GitHub tells Rhone about installations through the `installation` and `installation_repositories`
//! webhooks (signed like every delivery): those keep the account and the repository list current.
//! An installation is connected to a team only through the installation callback, and only after
//! GitHub confirmed, with the installing user's own OAuth token, that this user can access that
//! installation — an `installation_id` in a URL alone proves nothing (anyone can type one).
//! A team's apps clone that installation's private repositories with short-lived installation
//! tokens; an installation connected to one team is never used by another.

use serde::{Deserialize, Serialize};

use super::WebhookReply;
use crate::access::Actor;
use crate::error::{Error, Result};
use crate::policy::Action;
use crate::teams::AuditAction;
use crate::Services;

#[derive(Debug, Deserialize)]
struct InstallationEvent {
    action: String,
    installation: InstallationPayload,
    /// `installation` events: the repositories it covers (GitHub lists them on create).
    #[serde(default)]
    repositories: Option<Vec<RepoRef>>,
    #[serde(default)]
    repositories_added: Vec<RepoRef>,
    #[serde(default)]
    repositories_removed: Vec<RepoRef>,
}

/// An installation as GitHub describes it (webhooks, `GET /app/installations/{id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct InstallationPayload {
    pub id: i64,
    pub account: Account,
    #[serde(default)]
    pub suspended_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    pub id: i64,
    pub login: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// A repository an installation covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRef {
    pub id: i64,
    pub full_name: String,
    #[serde(default)]
    pub private: bool,
}

/// An installation as Rhone keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    pub id: i64,
    pub account_login: String,
    pub account_type: String,
    /// The team it is connected to (`None`: none yet).
    pub team_id: Option<i64>,
    pub suspended: bool,
}

/// A repository a team may deploy through the GitHub App.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRepo {
    pub installation_id: i64,
    pub repo_id: i64,
    pub full_name: String,
    pub private: bool,
}

fn full_name_ok(n: &str) -> bool {
    let mut parts = n.split('/');
    let ok = |p: Option<&str>| p.is_some_and(super::api::full_name_part);
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// The repositories of a payload that are what they say (GitHub's names; anything else is dropped).
fn clean(repos: &[RepoRef]) -> Vec<RepoRef> {
    repos.iter().filter(|r| full_name_ok(&r.full_name)).cloned().collect()
}

/// How long the link of a browser flow (install the App, sign in) stays good.
pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// Where GitHub sends the browser back after installing the App or signing in.
pub const CALLBACK_PATH: &str = "/api/v1/github/callback";

impl Services {
    /// The link that installs the GitHub App for team `team` (a team admin's): GitHub shows the
    /// account and repository choice, then sends the browser back to [`CALLBACK_PATH`] with this
    /// one-use state.
    pub async fn github_install_url(&self, actor: &Actor, team: &str) -> Result<String> {
        let (team, _) = self.team_for(actor, team, Action::UpdateTeam).await?;
        let (Some(api), Some(app)) = (self.github.clone(), self.settings.github_app.as_ref()) else {
            return Err(Error::Conflict("no GitHub App is configured on this installation (github_app_id, github_app_private_key_file)".into()));
        };
        if app.client_id.is_none() {
            return Err(Error::Conflict("connecting GitHub needs the App's OAuth client (github_client_id, github_client_secret)".into()));
        }
        let slug = api.app_slug().await?;
        let state = crate::auth::random_token();
        let row = crate::store::github_installations::OAuthState {
            purpose: "install".into(),
            user_id: Some(actor.user.id),
            team_id: Some(team.id),
            verifier: None,
            next: None,
            nonce: None,
            created_at: crate::store::now_ms(),
        };
        self.store.put_oauth_state(&state, &row).await?;
        Ok(format!("{}/apps/{slug}/installations/new?state={state}", app.web_url))
    }

    /// The browser came back from installing the App (its state taken back by
    /// `Services::github_return`): the state must be the one this user's install link carried;
    /// GitHub's `code` proves who installed. Returns the team's slug and the connected installation.
    pub async fn finish_install(&self, actor: &Actor, st: crate::store::github_installations::OAuthState, code: &str, installation_id: i64) -> Result<(String, Installation)> {
        let expired = || Error::Forbidden("this GitHub link has expired or was used already: connect GitHub again from Rhone".into());
        if st.user_id != Some(actor.user.id) {
            return Err(Error::Forbidden("this GitHub link was started by another user".into()));
        }
        let team = self.store.team_by_id(st.team_id.ok_or_else(expired)?).await?;
        let api = self.github.clone().ok_or_else(|| Error::Conflict("no GitHub App is configured on this installation".into()))?;
        let redirect = format!("{}{CALLBACK_PATH}", self.links().dashboard);
        let token = api.exchange_code(code, None, &redirect).await?;
        let inst = self.connect_installation(actor, &team.slug, installation_id, &token).await?;
        Ok((team.slug, inst))
    }

    /// An `installation` or `installation_repositories` delivery (already authenticated).
    pub(super) async fn installation_event(&self, event: &str, body: &[u8]) -> Result<std::result::Result<WebhookReply, String>> {
        let ev: InstallationEvent = match serde_json::from_slice(body) {
            Ok(ev) => ev,
            Err(e) => return Ok(Err(format!("the {event} payload is not valid: {e}"))),
        };
        let inst = &ev.installation;
        if !full_name_ok(&format!("{}/x", inst.account.login)) {
            return Ok(Err("the installation's account is not a GitHub login".into()));
        }
        let kind = inst.account.kind.clone().unwrap_or_else(|| "User".into());
        let store = &self.store;
        let action = ev.action.as_str();
        match (event, action) {
            ("installation", "deleted") => store.delete_installation(inst.id).await?,
            ("installation", _) => {
                store.upsert_installation(inst.id, &inst.account.login, inst.account.id, &kind, action == "suspend" || (inst.suspended_at.is_some() && action != "unsuspend")).await?;
                if let Some(repos) = &ev.repositories {
                    store.set_installation_repos(inst.id, &clean(repos)).await?;
                }
            }
            ("installation_repositories", _) => {
                store.upsert_installation(inst.id, &inst.account.login, inst.account.id, &kind, inst.suspended_at.is_some()).await?;
                store.add_installation_repos(inst.id, &clean(&ev.repositories_added)).await?;
                let removed: Vec<i64> = ev.repositories_removed.iter().map(|r| r.id).collect();
                store.remove_installation_repos(inst.id, &removed).await?;
            }
            _ => return Ok(Ok(WebhookReply::Ignored { event: event.into() })),
        }
        let repositories = store.installation_repos(inst.id).await?.len();
        tracing::info!(installation.id = inst.id, account = %inst.account.login, action, repositories, "GitHub App installation changed");
        Ok(Ok(WebhookReply::Installation { installation: inst.id, action: action.chars().take(40).collect(), repositories }))
    }

    /// Connects installation `installation_id` to team `team` for `actor` (a team admin) after the
    /// installation callback. `user_token` is the installing user's OAuth token from that callback:
    /// GitHub must list the installation among the ones this user can access.
    pub async fn connect_installation(&self, actor: &Actor, team: &str, installation_id: i64, user_token: &str) -> Result<Installation> {
        let (team, _) = self.team_for(actor, team, Action::UpdateTeam).await?;
        let api = self.github.clone().ok_or_else(|| Error::Conflict("no GitHub App is configured on this installation".into()))?;
        let mine = api.user_installations(user_token).await?;
        if !mine.contains(&installation_id) {
            return Err(Error::Forbidden("GitHub does not list this installation among yours: install the App from Rhone's link, signed in to GitHub as its owner".into()));
        }
        // what GitHub says the installation is (a webhook may not have arrived yet)
        let info = api.installation(installation_id).await?;
        let kind = info.account.kind.clone().unwrap_or_else(|| "User".into());
        self.store.upsert_installation(info.id, &info.account.login, info.account.id, &kind, info.suspended_at.is_some()).await?;
        if !self.store.connect_installation(installation_id, team.id).await? {
            return Err(Error::Conflict(format!("the GitHub account {} is connected to another team already", info.account.login)));
        }
        match api.installation_repos(installation_id).await {
            Ok(repos) => self.store.set_installation_repos(installation_id, &clean(&repos)).await?,
            // the webhook keeps the list too: connecting does not fail for this
            Err(e) => tracing::warn!(installation.id = installation_id, error = %e, "listing the installation's repositories failed"),
        }
        self.record(&[team.id], actor.audit(AuditAction::GitHubConnect, &info.account.login, &format!("installation {installation_id}"))).await;
        let inst = self.store.installation(installation_id).await?.ok_or(Error::NotFound("installation"))?;
        Ok(inst)
    }

    /// The repositories team `team` may deploy through the GitHub App.
    pub async fn github_repositories(&self, actor: &Actor, team: &str) -> Result<Vec<TeamRepo>> {
        let (team, _) = self.team_for(actor, team, Action::CreateApp).await?;
        self.store.team_repos(team.id).await
    }

    /// The branches of `full_name`, one of team `team`'s GitHub repositories.
    pub async fn github_branches(&self, actor: &Actor, team: &str, full_name: &str) -> Result<Vec<String>> {
        let (team, _) = self.team_for(actor, team, Action::CreateApp).await?;
        let repo = self.store.team_repos(team.id).await?.into_iter().find(|r| r.full_name.eq_ignore_ascii_case(full_name)).ok_or(Error::NotFound("repository"))?;
        let api = self.github.clone().ok_or(Error::NotFound("repository"))?;
        api.branches(repo.installation_id, &repo.full_name).await
    }

    /// The installation token that lets git fetch `repo_url` for app team `team_id`: when the URL is
    /// a repository on the configured GitHub that an installation connected to that team covers.
    pub(crate) async fn installation_token_for(&self, team_id: i64, repo_url: &str) -> Result<Option<super::api::InstallationToken>> {
        let (Some(api), Some(app)) = (self.github.clone(), self.settings.github_app.as_ref()) else { return Ok(None) };
        let Some(full_name) = repo_on(&app.web_url, repo_url) else { return Ok(None) };
        let Some(repo) = self.store.team_repos(team_id).await?.into_iter().find(|r| r.full_name.eq_ignore_ascii_case(&full_name)) else {
            return Ok(None);
        };
        api.installation_token(repo.installation_id).await.map(Some)
    }
}

/// `owner/name` when `repo_url` is an https repository URL on `web_url`'s host (`.git` optional).
pub fn repo_on(web_url: &str, repo_url: &str) -> Option<String> {
    let web = url::Url::parse(web_url).ok()?;
    // dot segments would be resolved away by the parser: a URL that needs them names no repository
    if repo_url.split(['/', '\\']).any(|seg| seg == ".." || seg == "." || seg.eq_ignore_ascii_case("%2e%2e")) {
        return None;
    }
    let repo = url::Url::parse(repo_url.trim()).ok()?;
    if repo.scheme() != web.scheme() || repo.host_str()? != web.host_str()? || repo.port_or_known_default() != web.port_or_known_default() {
        return None;
    }
    if !repo.username().is_empty() || repo.password().is_some() || repo.query().is_some() {
        return None;
    }
    let base = web.path().trim_end_matches('/');
    let path = repo.path().strip_prefix(base)?.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    full_name_ok(path).then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_repository_urls_on_the_configured_github_name_a_repository() {
        let gh = "https://github.com";
        assert_eq!(repo_on(gh, "https://github.com/octo-org/app.git").as_deref(), Some("octo-org/app"));
        assert_eq!(repo_on(gh, "https://github.com/octo-org/app").as_deref(), Some("octo-org/app"));
        assert_eq!(repo_on(gh, "https://GitHub.com/octo-org/app/").as_deref(), Some("octo-org/app"));
        for other in [
            "https://gitlab.com/octo-org/app",
            "http://github.com/octo-org/app",
            "https://github.com.evil.example/octo-org/app",
            "https://github.com/octo-org/app/tree/main",
            "https://github.com/../etc/passwd",
            "https://x@github.com/octo-org/app",
            "git@github.com:octo-org/app.git",
            "/srv/octo-org/app",
        ] {
            assert_eq!(repo_on(gh, other), None, "{other}");
        }
        assert_eq!(repo_on("http://127.0.0.1:9000", "http://127.0.0.1:9000/o/r.git").as_deref(), Some("o/r"));
        assert_eq!(repo_on("http://127.0.0.1:9000", "http://127.0.0.1:9001/o/r.git"), None);
    }

    #[test]
    fn repository_names_from_payloads_are_checked() {
        let r = |n: &str| RepoRef { id: 1, full_name: n.into(), private: true };
        let kept = clean(&[r("a/b"), r("../x"), r("a/b/c"), r("a b/c"), r("Octo-Org/my.repo_1")]);
        assert_eq!(kept.iter().map(|r| r.full_name.as_str()).collect::<Vec<_>>(), ["a/b", "Octo-Org/my.repo_1"]);
    }
}
