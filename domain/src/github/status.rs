//! Commit statuses back to GitHub: every status change of a deployment of a repository that came
//! through the GitHub App queues a [`PostStatus`] job in the same transaction as the change (see
//! `store/deployments.rs`), so a crash never loses one. The job posts the deployment's state *at the
//! time it runs* (`rhone/{slug}`: pending while it builds, success with the app's URL once live,
//! failure/error with a link to its log), so a late retry of an older state never overwrites a newer
//! one. Posting retries with backoff; it never fails or delays the deployment, and what happened is
//! kept per deployment (`github_statuses`) and shown with it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::api::{CommitStatus, StatusState};
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::model::{App, Deployment, DeploymentStatus};
use crate::Services;

/// Posts deployment `deployment_id`'s current state as a commit status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostStatus {
    pub deployment_id: i64,
}

/// The job kind (the store's trigger inserts rows of it).
pub const KIND: &str = "github_status";

/// Attempts of one status (the store's trigger inserts rows with this many).
pub const STATUS_ATTEMPTS: i64 = 10;

impl Job for PostStatus {
    const KIND: &'static str = KIND;
    const MAX_ATTEMPTS: i64 = STATUS_ATTEMPTS;

    /// 2 s, 4 s, 8 s … capped at ten minutes (about 35 minutes over all attempts).
    fn backoff(&self, attempt: i64) -> Duration {
        let exp = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
        Duration::from_secs(2u64.saturating_mul(1 << exp)).min(Duration::from_secs(600))
    }

    async fn run(&self, s: &Services) -> Result<()> {
        s.post_commit_status(self.deployment_id).await
    }

    async fn failed(&self, s: &Services, error: &str) -> Result<()> {
        tracing::warn!(deployment.id = self.deployment_id, error, "giving up on posting a GitHub commit status");
        s.store.record_github_status(self.deployment_id, None, Some(&format!("{error} (gave up after {STATUS_ATTEMPTS} attempts)"))).await
    }
}

/// GitHub's limit on a status description.
const DESCRIPTION_MAX: usize = 140;

fn clip(s: &str) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() <= DESCRIPTION_MAX {
        return one_line;
    }
    let mut out: String = one_line.chars().take(DESCRIPTION_MAX - 1).collect();
    out.push('…');
    out
}

/// The status a deployment in its current state shows on its commit; `None`: leave the commit's
/// status as it is (a version that was live and was later replaced keeps its `success`).
pub fn status_for(d: &Deployment, app: &App, app_url: &str, log_url: &str) -> Option<CommitStatus> {
    use DeploymentStatus as S;
    let context = format!("rhone/{}", app.slug);
    let (state, description, target) = match d.status {
        S::Pending | S::Building | S::Deploying => (StatusState::Pending, format!("Deploying {} ({})", app.slug, d.release()), log_url),
        S::Live => (StatusState::Success, format!("Live at {app_url}"), app_url),
        S::Failed => (StatusState::Failure, format!("Deploy failed: {}", d.error.as_deref().unwrap_or("see the log")), log_url),
        S::Cancelled => (StatusState::Error, "Deploy cancelled".to_string(), log_url),
        S::Superseded if d.live_at.is_some() => return None,
        S::Superseded => (StatusState::Error, "Superseded by a newer deploy".to_string(), log_url),
    };
    Some(CommitStatus { state, target_url: Some(target.to_string()), description: clip(&description), context })
}

/// The commit a deployment builds: what the clone resolved, else its ref when that is a full sha.
fn commit_of(d: &Deployment) -> Option<String> {
    let full = |s: &str| s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit());
    d.commit_sha.clone().filter(|s| full(s)).or_else(|| full(&d.git_ref).then(|| d.git_ref.to_ascii_lowercase()))
}

impl Services {
    /// Posts deployment `id`'s current state on its commit (the [`PostStatus`] job's work). Posts
    /// again if the deployment moved on meanwhile (at most three times), so the last word is its
    /// newest state.
    pub async fn post_commit_status(&self, id: i64) -> Result<()> {
        let d = match self.store.deployment(id).await {
            Ok(d) => d,
            Err(Error::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(link) = self.store.app_github(d.app_id).await? else { return Ok(()) };
        let (Some(installation), Some(full_name)) = (link.installation_id, link.full_name.clone()) else { return Ok(()) };
        let Some(api) = self.github.clone() else {
            let why = "not posted: Rhone has no GitHub App configured (github_app_id, github_app_private_key_file)";
            return self.store.record_github_status(id, None, Some(why)).await;
        };
        let app = self.store.app_by_id(d.app_id).await?;
        let mut d = d;
        let links = self.links();
        for _ in 0..3 {
            let Some(sha) = commit_of(&d) else { return Ok(()) };
            let app_url = links.app_url(&self.settings.base_domain, &app.slug);
            let log_url = links.deployment_url(&app.slug, d.id);
            let Some(status) = status_for(&d, &app, &app_url, &log_url) else { return Ok(()) };
            if let Err(e) = api.create_status(installation, &full_name, &sha, &status).await {
                let msg = match &e {
                    Error::Internal(m) => m.clone(),
                    other => other.to_string(),
                };
                self.store.record_github_status(id, None, Some(&msg)).await?;
                return Err(e);
            }
            self.store.record_github_status(id, Some(status.state.as_str()), None).await?;
            tracing::info!(app.slug = %app.slug, deployment.id = id, state = status.state.as_str(), "posted the GitHub commit status");
            let now = self.store.deployment(id).await?;
            if now.status == d.status {
                return Ok(());
            }
            d = now;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_fit_githubs_limit_on_one_line() {
        let long = format!("line one\nline two {}", "x".repeat(300));
        let c = clip(&long);
        assert_eq!(c.chars().count(), DESCRIPTION_MAX);
        assert!(!c.contains('\n') && c.ends_with('…'));
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn backoff_doubles_from_two_seconds_to_ten_minutes() {
        let job = PostStatus { deployment_id: 1 };
        let waits: Vec<u64> = (1..=10).map(|a| job.backoff(a).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 512, 600]);
    }
}
