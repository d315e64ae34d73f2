//! Preview deployments per pull request. An app with previews on gets, for each pull request
//! opened (or pushed to, or reopened) against its branch, a preview app `pr-{number}-{slug}` in the
//! same team that deploys exactly the pull request's head commit at `pr-{number}-{slug}.{base}` with
//! the app's environment plus `RHONE_PREVIEW=1` — except for pull requests from forks, which get no
//! variable of the app (their code is not the team's). Its commit statuses carry its URL. Closing the
//! pull request tears the preview down: its versions stop, its route, builds, logs and records go.

use serde::Deserialize;

use super::{normalize_url, Installation, PushOutcome, Repository, WebhookReply};
use crate::error::{Error, Result};
use crate::model::{App, DeploymentKind};
use crate::store::deployments::NewDeployment;
use crate::Services;

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    number: i64,
    pull_request: PullRequest,
    repository: Repository,
    #[serde(default)]
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct PullRequest {
    head: Side,
    base: Side,
}

#[derive(Deserialize)]
struct Side {
    sha: String,
    #[serde(rename = "ref")]
    git_ref: String,
    /// `None` when the fork was deleted.
    #[serde(default)]
    repo: Option<RepoId>,
}

#[derive(Deserialize)]
struct RepoId {
    id: i64,
}

/// The slug of pull request `number`'s preview of app `slug` (at most 63 characters).
pub fn preview_slug(number: i64, slug: &str) -> String {
    let mut s = format!("pr-{number}-{slug}");
    s.truncate(63);
    s.trim_end_matches('-').to_string()
}

/// The variable every preview has.
pub const PREVIEW_VAR: &str = "RHONE_PREVIEW";

impl Services {
    /// A `pull_request` delivery (already authenticated and claimed).
    pub(super) async fn pull_request_event(&self, body: &[u8], key: &str) -> Result<std::result::Result<WebhookReply, String>> {
        let ev: PullRequestEvent = match serde_json::from_slice(body) {
            Ok(ev) => ev,
            Err(e) => return Ok(Err(format!("the pull_request payload is not valid: {e}"))),
        };
        let sha_ok = ev.pull_request.head.sha.len() == 40 && ev.pull_request.head.sha.chars().all(|c| c.is_ascii_hexdigit());
        if !sha_ok || ev.number <= 0 || ev.number > 1_000_000_000 {
            return Ok(Err("the pull request names no commit or number".into()));
        }
        let action = ev.action.as_str();
        let open = matches!(action, "opened" | "synchronize" | "reopened");
        if !open && action != "closed" {
            return Ok(Ok(WebhookReply::Ignored { event: format!("pull_request.{}", action.chars().take(40).collect::<String>()) }));
        }
        let urls = ev.repository.urls();
        let mut apps = Vec::new();
        for app in self.store.list_apps().await? {
            if app.preview_of.is_some() {
                continue;
            }
            let Some(url) = normalize_url(&app.repo_url) else { continue };
            if !urls.contains(&url) {
                continue;
            }
            apps.push(self.pull_request_for_app(&app, &ev, open, key).await?);
        }
        let reason = apps.is_empty().then(|| "no app deploys this repository".to_string());
        Ok(Ok(WebhookReply::PullRequest { number: ev.number, action: action.to_string(), reason, apps }))
    }

    async fn pull_request_for_app(&self, app: &App, ev: &PullRequestEvent, open: bool, key: &str) -> Result<PushOutcome> {
        let slug = preview_slug(ev.number, &app.slug);
        let skip = |why: String| Ok(PushOutcome { app: app.slug.clone(), deployment_id: None, skipped: Some(why) });
        if let Some(why) = self.other_repository(app, ev.repository.id).await? {
            return skip(why);
        }
        let existing = match self.store.app_by_slug(&slug).await {
            Ok(p) if p.preview_of == Some(app.id) => Some(p),
            Ok(_) => return skip(format!("{slug} is another app's name")),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        if !open {
            return match existing {
                Some(preview) => {
                    self.remove_app(&preview).await?;
                    tracing::info!(app.slug = %app.slug, preview = %slug, "pull request closed: preview removed");
                    skip(format!("the pull request was closed: preview {slug} removed"))
                }
                None => skip("the pull request was closed: there was no preview".into()),
            };
        }
        if !app.previews {
            return skip("previews are off for this app".into());
        }
        let wanted = if app.branch.is_empty() { ev.repository.default_branch.as_deref().unwrap_or("main") } else { app.branch.as_str() };
        if ev.pull_request.base.git_ref != wanted {
            return skip(format!("a pull request into {}; the app deploys {wanted}", ev.pull_request.base.git_ref));
        }
        let fork = ev.pull_request.head.repo.as_ref().map(|r| r.id) != Some(ev.repository.id);
        let preview = match existing {
            Some(p) => p,
            None => self.create_preview(app, &slug, ev.number).await?,
        };
        self.sync_preview_env(app, &preview, ev.number, fork).await?;
        self.store.link_app_github_repo(preview.id, ev.repository.id).await?;
        self.store.set_app_github_source(preview.id, ev.repository.owner_name(), ev.installation.as_ref().map(|i| i.id)).await?;
        let dep = self
            .enqueue_deployment(NewDeployment { app_id: preview.id, git_ref: &ev.pull_request.head.sha, kind: DeploymentKind::Deploy, rollback_of: None, delivery: Some(key) })
            .await?;
        tracing::info!(app.slug = %app.slug, preview = %slug, deployment.id = dep.id, fork, "deploying a pull request preview");
        Ok(PushOutcome { app: slug, deployment_id: Some(dep.id), skipped: None })
    }

    async fn create_preview(&self, app: &App, slug: &str, number: i64) -> Result<App> {
        let mut draft = app.clone();
        draft.id = 0;
        draft.slug = slug.to_string();
        draft.name = format!("{} · PR #{number}", app.name).chars().take(100).collect();
        draft.previews = false;
        draft.auto_deploy = false;
        draft.preview_of = Some(app.id);
        draft.pr_number = Some(number);
        draft.stopped_at = None;
        let preview = self.store.insert_app(&draft).await?;
        self.routes.register(&preview.slug);
        Ok(preview)
    }

    /// The preview's variables: the app's (not for a fork's pull request) plus `RHONE_PREVIEW=1` and
    /// `RHONE_PR_NUMBER`, sealed under the preview's own id.
    async fn sync_preview_env(&self, app: &App, preview: &App, number: i64, fork: bool) -> Result<()> {
        let mut vars: Vec<(String, String)> = if fork { Vec::new() } else { self.env_plain(app.id).await? };
        vars.retain(|(k, _)| k != PREVIEW_VAR && k != "RHONE_PR_NUMBER");
        vars.push((PREVIEW_VAR.into(), "1".into()));
        vars.push(("RHONE_PR_NUMBER".into(), number.to_string()));
        let mut changes = Vec::with_capacity(vars.len());
        for (k, v) in vars {
            let (nonce, ciphertext) = self.key.seal(&super::super::apps::env_aad(preview.id, &k), &v)?;
            changes.push((k.clone(), Some(crate::store::apps::SealedVar { key: k, nonce, ciphertext })));
        }
        self.store.write_env_vars(preview.id, true, &changes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_slugs_fit_a_dns_label() {
        assert_eq!(preview_slug(7, "web"), "pr-7-web");
        let long = "a".repeat(63);
        let s = preview_slug(123, &long);
        assert_eq!(s.len(), 63);
        assert!(s.starts_with("pr-123-"));
        assert_eq!(preview_slug(1, &format!("{}-bc", "a".repeat(57))), "pr-1-".to_string() + &"a".repeat(57), "no trailing dash");
    }
}
