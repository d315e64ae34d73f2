//! Push webhooks of GitLab (`X-Gitlab-Token`) and Gitea/Forgejo (`X-Gitea-Signature` /
//! `X-Forgejo-Signature`: HMAC-SHA256 of the raw body, hex) for apps whose repository lives there.
//! Each app has its own secret (made on request, sealed at rest, shown once) and its own URL
//! (`/api/v1/webhooks/{gitlab|gitea}/{slug}`); a delivery is checked against it before anything is
//! parsed, and an unknown app, an app without a secret and a wrong secret are the same 401. The
//! push rules are GitHub's (`deploy_push`): the app's branch, auto-deploy, its root directory.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{delivery_id_ok, push_branch, Commit, Push, Repository, WebhookError, WebhookReply};
use crate::access::Actor;
use crate::error::{Error, Result};
use crate::policy::Action;
use crate::model::App;
use crate::Services;

/// Where the repository lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    GitLab,
    Gitea,
}

impl Forge {
    pub fn parse(s: &str) -> Option<Forge> {
        [Forge::GitLab, Forge::Gitea].into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Forge::GitLab => "gitlab",
            Forge::Gitea => "gitea",
        }
    }

    /// Where this forge posts app `slug`'s pushes.
    pub fn hook_path(self, slug: &str) -> String {
        format!("/api/v1/webhooks/{}/{slug}", self.as_str())
    }
}

/// The headers of a delivery that matter.
#[derive(Debug, Default)]
pub struct ForgeDelivery<'a> {
    /// `X-Gitlab-Event` (`Push Hook`) or `X-Gitea-Event` (`push`).
    pub event: &'a str,
    /// `X-Gitlab-Event-UUID` / `X-Gitea-Delivery`.
    pub delivery: &'a str,
    /// `X-Gitlab-Token`.
    pub token: Option<&'a str>,
    /// `X-Gitea-Signature` or `X-Forgejo-Signature` (hex).
    pub signature: Option<&'a str>,
}

#[derive(Deserialize)]
struct ForgePush {
    #[serde(rename = "ref")]
    git_ref: String,
    after: String,
    #[serde(default)]
    commits: Vec<Commit>,
    /// GitLab: how many commits the push had (its list is cut at 20).
    #[serde(default)]
    total_commits_count: Option<usize>,
}

/// An app's webhook secret, made now (shown once).
#[derive(Debug, Clone)]
pub struct IssuedWebhookSecret {
    pub secret: String,
    pub gitlab_path: String,
    pub gitea_path: String,
}

fn aad(app_id: i64) -> String {
    format!("{app_id}:webhook")
}

/// Equal, in time that does not depend on where they differ (both hashed first: equal lengths).
fn same_secret(a: &str, b: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"rhone webhook token").expect("any key length");
    mac.update(a.as_bytes());
    let mut other = Hmac::<Sha256>::new_from_slice(b"rhone webhook token").expect("any key length");
    other.update(b.as_bytes());
    other.verify_slice(&mac.finalize().into_bytes()).is_ok()
}

impl Services {
    /// Makes (or replaces) app `slug`'s GitLab/Gitea webhook secret; app admins only.
    pub async fn new_webhook_secret(&self, actor: &Actor, slug: &str) -> Result<IssuedWebhookSecret> {
        let app = self.app_for(actor, slug, Action::UpdateApp).await?;
        let secret = crate::auth::random_token();
        let (nonce, ciphertext) = self.key.seal(&aad(app.id), &secret)?;
        self.store.put_webhook_secret(app.id, &nonce, &ciphertext).await?;
        self.record(&[app.team_id], actor.audit(crate::teams::AuditAction::AppUpdate, &app.slug, "webhook secret made")).await;
        Ok(IssuedWebhookSecret { secret, gitlab_path: Forge::GitLab.hook_path(&app.slug), gitea_path: Forge::Gitea.hook_path(&app.slug) })
    }

    /// Whether app `slug` has a webhook secret (and since when).
    pub async fn webhook_secret_made(&self, actor: &Actor, slug: &str) -> Result<Option<i64>> {
        let app = self.app_for(actor, slug, Action::ReadApp).await?;
        Ok(self.store.webhook_secret(app.id).await?.map(|(_, _, at)| at))
    }

    /// One GitLab or Gitea delivery for app `slug`.
    pub async fn forge_webhook(&self, forge: Forge, slug: &str, d: &ForgeDelivery<'_>, body: &[u8]) -> std::result::Result<WebhookReply, WebhookError> {
        let internal = |e: Error| {
            tracing::error!(error = %e, forge = forge.as_str(), "handling a webhook delivery failed");
            WebhookError::Internal
        };
        let app = match self.store.app_by_slug(slug).await {
            Ok(a) => a,
            Err(Error::NotFound(_)) => return Err(WebhookError::BadSignature),
            Err(e) => return Err(internal(e)),
        };
        let Some((nonce, ciphertext, _)) = self.store.webhook_secret(app.id).await.map_err(internal)? else {
            return Err(WebhookError::BadSignature);
        };
        let secret = self.key.open(&aad(app.id), &nonce, &ciphertext).map_err(internal)?;
        let authentic = match forge {
            Forge::GitLab => d.token.is_some_and(|t| same_secret(t, &secret)),
            Forge::Gitea => d.signature.is_some_and(|sig| super::signature_valid(secret.as_bytes(), body, Some(&format!("sha256={}", sig.trim())))),
        };
        if !authentic {
            return Err(WebhookError::BadSignature);
        }
        self.forge_event(forge, &app, d.event, d.delivery, body, super::STALE_MS).await
    }

    /// An authenticated GitLab or Gitea delivery for `app` (also one handled again after a
    /// restart, `stale_ms` 0).
    pub(super) async fn forge_event(&self, forge: Forge, app: &App, event: &str, delivery: &str, body: &[u8], stale_ms: i64) -> std::result::Result<WebhookReply, WebhookError> {
        let is_push = match forge {
            Forge::GitLab => event == "Push Hook",
            Forge::Gitea => event == "push",
        };
        if !is_push {
            return Ok(WebhookReply::Ignored { event: event.chars().take(64).collect() });
        }
        let delivery = delivery.trim();
        if !delivery_id_ok(delivery) {
            return Err(WebhookError::Malformed("the delivery has no id (X-Gitlab-Event-UUID / X-Gitea-Delivery)".into()));
        }
        let p: ForgePush = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(format!("the push payload is not valid: {e}")))?;
        let key = format!("{}-{delivery}", forge.as_str());
        // a list GitLab cut short may have touched any path: no file list then
        let cut = p.total_commits_count.is_some_and(|n| n > p.commits.len());
        let push = Push {
            git_ref: p.git_ref,
            after: p.after,
            deleted: false,
            repository: Repository { id: 0, full_name: None, default_branch: None, clone_url: None, ssh_url: None, html_url: None, git_url: None },
            installation: None,
            commits: if cut { Vec::new() } else { p.commits },
        };
        let work = async {
            match push_branch(&push) {
                Err(reason) => Ok(Ok(WebhookReply::Push { reason: Some(reason.to_string()), apps: Vec::new() })),
                Ok(branch) => self.deploy_push(app, &push, branch, &key).await.map(|o| Ok(WebhookReply::Push { reason: None, apps: vec![o] })),
            }
        };
        let stored = super::StoredDelivery::new(forge.as_str(), event, Some(&app.slug), body);
        self.once(&key, &stored, stale_ms, work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "ab") && !same_secret("", "abc"));
    }
}
