//! GitHub push webhooks: a push to an app's branch deploys exactly the pushed commit.
//!
//! A delivery is authenticated before anything is parsed: `X-Hub-Signature-256` must be the
//! HMAC-SHA256 of the raw body under the webhook secret (compared in constant time). Each delivery
//! (`X-GitHub-Delivery`) is handled once: its row is written before any deployment, and a redelivery
//! of a finished one changes nothing. An app takes the pushes of the repository whose URL it was
//! created with, and only of that repository's id: the id is recorded at the first push that matches,
//! so a repository deleted and re-created under the same name (another id) deploys nothing.

pub mod api;
mod deliveries;
pub mod installations;
pub mod login;
pub mod forges;
pub mod previews;
pub mod status;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::Result;
use crate::model::{App, DeploymentKind};
use crate::store::deployments::NewDeployment;
use crate::Services;

use deliveries::{StoredDelivery, STALE_MS};
pub use deliveries::Claim;

/// The webhook secret (never printed).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(pub String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// The `X-Hub-Signature-256` value GitHub sends for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// True if `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`; constant time.
pub fn signature_valid(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Ok(sig) = hex::decode(hex_sig) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Why a delivery was refused (the handler answers with the status each names).
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookError {
    /// No webhook secret is configured: webhooks are off (404).
    NotConfigured,
    /// A missing or wrong signature (401); nothing was read.
    BadSignature,
    /// A signed body that is not what the event should carry (400).
    Malformed(String),
    /// The same delivery is being handled right now (409; GitHub may retry).
    InProgress,
    /// Rhone failed (500; logged, details never sent). The delivery is not recorded as handled, so a
    /// redelivery tries again.
    Internal,
}

/// What Rhone did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum WebhookReply {
    /// `ping`: the webhook works.
    Pong,
    /// A delivery handled before (a redelivery): nothing new happens.
    Duplicate,
    /// An event Rhone does not act on.
    Ignored { event: String },
    /// A push: what happened for each app of that repository (none if no app uses it).
    Push { reason: Option<String>, apps: Vec<PushOutcome> },
    /// An App installation changed (created, deleted, suspended, its repositories).
    Installation { installation: i64, action: String, repositories: usize },
    /// A pull request: what happened to each app's preview.
    PullRequest { number: i64, action: String, reason: Option<String>, apps: Vec<PushOutcome> },
}

/// A push's effect on one app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushOutcome {
    pub app: String,
    /// The deployment of the pushed commit, if one was queued.
    pub deployment_id: Option<i64>,
    /// Why not, otherwise.
    pub skipped: Option<String>,
}

#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: Repository,
    /// Present when the push came through the GitHub App.
    #[serde(default)]
    installation: Option<Installation>,
    /// The pushed commits (GitHub lists at most 20), with the paths each touched.
    #[serde(default)]
    commits: Vec<Commit>,
}

#[derive(Deserialize)]
struct Commit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
}

/// GitHub lists at most this many commits of a push; a longer push may touch any path.
const LISTED_COMMITS: usize = 20;

/// Why a push changes nothing under the app's root directory (a monorepo's other apps), if so.
fn outside_root(root_dir: &str, push: &Push) -> Option<String> {
    let root = root_dir.trim_matches('/').trim_start_matches("./");
    if root.is_empty() || root == "." || push.commits.is_empty() || push.commits.len() >= LISTED_COMMITS {
        return None;
    }
    let prefix = format!("{root}/");
    let touched = push.commits.iter().flat_map(|c| c.added.iter().chain(&c.removed).chain(&c.modified)).any(|p| p.starts_with(&prefix));
    (!touched).then(|| format!("no file under the app's root directory {root} changed"))
}

#[derive(Deserialize)]
struct Installation {
    id: i64,
}

#[derive(Deserialize)]
struct Repository {
    id: i64,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    clone_url: Option<String>,
    #[serde(default)]
    ssh_url: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    git_url: Option<String>,
}

impl Repository {
    /// `owner/name`, when the payload names one that fits.
    fn owner_name(&self) -> Option<&str> {
        self.full_name.as_deref().filter(|n| n.len() <= 200 && n.split('/').count() == 2)
    }

    fn urls(&self) -> Vec<String> {
        [&self.clone_url, &self.ssh_url, &self.html_url, &self.git_url].into_iter().flatten().filter_map(|u| normalize_url(u)).collect()
    }
}

/// A repository URL reduced to `host/path` (lowercase host, no scheme, user, `.git` or trailing `/`),
/// so `https://github.com/O/r.git`, `git@github.com:O/r` and `ssh://git@github.com/O/r` compare
/// equal; a local path stays a path.
pub fn normalize_url(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    if url.starts_with('/') {
        return Some(url.trim_end_matches('/').trim_end_matches(".git").to_string());
    }
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like `user@host:path`
        None => match url.split_once(':') {
            Some((host, path)) if !host.contains('/') => format!("{host}/{}", path.trim_start_matches('/')),
            _ => return None,
        },
    };
    let rest = rest.rsplit_once('@').filter(|(user, _)| !user.contains('/')).map_or(rest.as_str(), |(_, r)| r);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let path = path.trim_end_matches('/').trim_end_matches(".git").trim_end_matches('/');
    (!host.is_empty() && !path.is_empty()).then(|| format!("{host}/{path}"))
}


impl Services {
    /// Handles one webhook delivery: `event` (`X-GitHub-Event`), `delivery` (`X-GitHub-Delivery`),
    /// `signature` (`X-Hub-Signature-256`) and the raw body.
    pub async fn github_webhook(
        &self,
        event: &str,
        delivery: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> std::result::Result<WebhookReply, WebhookError> {
        let Some(secret) = &self.settings.github_webhook_secret else { return Err(WebhookError::NotConfigured) };
        if !signature_valid(secret.0.as_bytes(), body, signature) {
            return Err(WebhookError::BadSignature);
        }
        if event == "ping" {
            return Ok(WebhookReply::Pong);
        }
        let delivery = delivery.trim();
        if !delivery_id_ok(delivery) {
            return Err(WebhookError::Malformed("X-GitHub-Delivery is missing or not a delivery id".into()));
        }
        self.github_event(event, delivery, body, STALE_MS).await
    }

    /// An authenticated GitHub delivery (also one handled again after a restart, `stale_ms` 0).
    async fn github_event(&self, event: &str, delivery: &str, body: &[u8], stale_ms: i64) -> std::result::Result<WebhookReply, WebhookError> {
        let stored = StoredDelivery::new("github", event, None, body);
        match event {
            "installation" | "installation_repositories" => self.once(delivery, &stored, stale_ms, self.installation_event(event, body)).await,
            "pull_request" => self.once(delivery, &stored, stale_ms, self.pull_request_event(body, delivery)).await,
            "push" => {
                let push: Push = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(format!("the push payload is not valid: {e}")))?;
                self.once(delivery, &stored, stale_ms, async { self.handle_push(&push, delivery).await.map(Ok) }).await
            }
            _ => Ok(WebhookReply::Ignored { event: event.chars().take(64).collect() }),
        }
    }

    async fn handle_push(&self, push: &Push, key: &str) -> Result<WebhookReply> {
        let branch = match push_branch(push) {
            Ok(b) => b,
            Err(reason) => return Ok(WebhookReply::Push { reason: Some(reason.to_string()), apps: Vec::new() }),
        };
        let urls = push.repository.urls();
        let mut apps = Vec::new();
        for app in self.store.list_apps().await? {
            let Some(url) = normalize_url(&app.repo_url) else { continue };
            // a preview follows its pull request, not the branch
            if !urls.contains(&url) || app.preview_of.is_some() {
                continue;
            }
            apps.push(self.push_to_app(&app, push, branch, key).await?);
        }
        let reason = apps.is_empty().then(|| "no app deploys this repository".to_string());
        Ok(WebhookReply::Push { reason, apps })
    }

    async fn push_to_app(&self, app: &App, push: &Push, branch: &str, key: &str) -> Result<PushOutcome> {
        if let Some(why) = self.other_repository(app, push.repository.id).await? {
            return Ok(PushOutcome { app: app.slug.clone(), deployment_id: None, skipped: Some(why) });
        }
        self.store.set_app_github_source(app.id, push.repository.owner_name(), push.installation.as_ref().map(|i| i.id)).await?;
        self.deploy_push(app, push, branch, key).await
    }

    /// Why an event of repository `repo_id` is not for `app`, if it is not: the app takes events of
    /// the repository id recorded at the first one that matched its URL (recorded now if none was).
    async fn other_repository(&self, app: &App, repo_id: i64) -> Result<Option<String>> {
        match self.store.app_github_repo(app.id).await? {
            Some(id) if id != repo_id => Ok(Some(format!("the app takes pushes of repository id {id}, not {repo_id}"))),
            Some(_) => Ok(None),
            None => self.store.link_app_github_repo(app.id, repo_id).await.map(|()| None),
        }
    }

    /// The rules every push follows once its repository is the app's (GitHub, GitLab, Gitea): the
    /// app's branch, in service, auto-deploy on, its root directory touched — then exactly `after`.
    async fn deploy_push(&self, app: &App, push: &Push, branch: &str, key: &str) -> Result<PushOutcome> {
        let skip = |why: String| Ok(PushOutcome { app: app.slug.clone(), deployment_id: None, skipped: Some(why) });
        let wanted = if app.branch.is_empty() { push.repository.default_branch.as_deref().unwrap_or("main") } else { app.branch.as_str() };
        if branch != wanted {
            return skip(format!("a push to {branch}; the app deploys {wanted}"));
        }
        if app.stopped_at.is_some() {
            return skip("the app is stopped".into());
        }
        if !app.auto_deploy {
            return skip("auto-deploy is off for this app".into());
        }
        if let Some(why) = app.watch_root_dir.then(|| outside_root(&app.root_dir, push)).flatten() {
            return skip(why);
        }
        // over its plan's builds: not deployed, and the reply says why
        match self.check_deploy(app.team_id).await {
            Err(crate::Error::PaymentRequired(why)) => return skip(why),
            other => other?,
        }
        let dep = self
            .enqueue_deployment(NewDeployment { app_id: app.id, git_ref: &push.after, kind: DeploymentKind::Deploy, rollback_of: None, delivery: Some(key) })
            .await?;
        tracing::info!(app.slug = %app.slug, deployment.id = dep.id, sha = %push.after, "deploying a GitHub push");
        Ok(PushOutcome { app: app.slug.clone(), deployment_id: Some(dep.id), skipped: None })
    }
}

/// A delivery id as forges send them (a UUID or similar): 1 to 100 letters, digits and `-`.
fn delivery_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The branch a push deploys, or why it deploys nothing (a tag, a deletion, no commit).
fn push_branch(push: &Push) -> std::result::Result<&str, &'static str> {
    let Some(branch) = push.git_ref.strip_prefix("refs/heads/") else {
        return Err("not a branch push (a tag or another ref): nothing to deploy");
    };
    if push.deleted || push.after.chars().all(|c| c == '0') {
        return Err("the branch was deleted: nothing to deploy");
    }
    let sha_ok = push.after.len() == 40 && push.after.chars().all(|c| c.is_ascii_hexdigit());
    if !sha_ok {
        return Err("the push names no commit");
    }
    Ok(branch)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_documented_signature_vector_verifies() {
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(b"It's a Secret to Everybody", b"Hello, World!"), header);
        assert!(signature_valid(b"It's a Secret to Everybody", b"Hello, World!", Some(header)));
        assert!(!signature_valid(b"It's a Secret to Everybody", b"Hello, World?", Some(header)));
        assert!(!signature_valid(b"another secret", b"Hello, World!", Some(header)));
        assert!(!signature_valid(b"It's a Secret to Everybody", b"Hello, World!", None));
        assert!(!signature_valid(b"It's a Secret to Everybody", b"Hello, World!", Some("sha1=757107ea")));
        assert!(!signature_valid(b"It's a Secret to Everybody", b"Hello, World!", Some("sha256=zz")));
    }

    fn push_touching(paths: &[&str], commits: usize) -> Push {
        let commit = || Commit { added: vec![], removed: vec![], modified: paths.iter().map(|p| p.to_string()).collect() };
        Push {
            git_ref: "refs/heads/main".into(),
            after: "a".repeat(40),
            deleted: false,
            installation: None,
            repository: Repository { id: 1, full_name: None, default_branch: None, clone_url: None, ssh_url: None, html_url: None, git_url: None },
            commits: (0..commits).map(|_| commit()).collect(),
        }
    }

    #[test]
    fn a_push_outside_the_root_directory_is_skipped_unless_the_list_may_be_incomplete() {
        assert_eq!(outside_root(".", &push_touching(&["README.md"], 1)), None, "the whole repository is the app");
        assert_eq!(outside_root("apps/web", &push_touching(&["apps/web/src/main.ts"], 1)), None);
        assert!(outside_root("apps/web", &push_touching(&["apps/api/main.go", "apps/webby/x"], 1)).is_some());
        assert_eq!(outside_root("apps/web", &push_touching(&["README.md"], 20)), None, "GitHub lists 20 commits at most");
        assert_eq!(outside_root("apps/web", &push_touching(&[], 0)), None, "no list: deploy");
    }

    #[test]
    fn repository_urls_compare_by_host_and_path() {
        let all = [
            "https://github.com/Codertocat/Hello-World.git",
            "git@github.com:Codertocat/Hello-World.git",
            "ssh://git@github.com/Codertocat/Hello-World",
            "https://GitHub.com/Codertocat/Hello-World/",
            "git://github.com/Codertocat/Hello-World.git",
        ];
        for url in all {
            assert_eq!(normalize_url(url).as_deref(), Some("github.com/Codertocat/Hello-World"), "{url}");
        }
        assert_ne!(normalize_url("https://github.com/Codertocat/Hello-World2"), normalize_url(all[0]));
        assert_eq!(normalize_url("/srv/repos/app.git").as_deref(), Some("/srv/repos/app"));
        assert_eq!(normalize_url(""), None);
    }
}
