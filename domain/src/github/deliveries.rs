//! Webhook deliveries, each handled once — also across a crash: the claim keeps the delivery's
//! payload until it is handled, and every start handles the unfinished ones again.

use super::forges::Forge;
use super::{WebhookError, WebhookReply};
use crate::error::Result;
use crate::store::now_ms;
use crate::Services;
use serde::{Deserialize, Serialize};

/// How long a delivery may stay "being handled" before a redelivery takes it over (Rhone stopped
/// while handling it).
pub(super) const STALE_MS: i64 = 5 * 60 * 1000;

impl Services {
    /// Handles delivery `key` once: claims it (keeping its payload until it is handled, so a
    /// restart handles it again: `resume_deliveries`), runs `work` (whose `Err(String)` is a
    /// malformed payload), and records the outcome — or, if `work` failed, gives the claim up so
    /// the next redelivery is handled at once. A redelivery of a handled one is a duplicate. Every
    /// deployment `work` makes names `key`, so handling it again never makes a second one.
    pub(super) async fn once(
        &self,
        key: &str,
        stored: &StoredDelivery,
        stale_ms: i64,
        work: impl std::future::Future<Output = Result<std::result::Result<WebhookReply, String>>>,
    ) -> std::result::Result<WebhookReply, WebhookError> {
        let internal = |e: crate::Error| {
            tracing::error!(error = %e, delivery = key, "handling a webhook delivery failed");
            WebhookError::Internal
        };
        let payload = serde_json::to_string(stored).map_err(|e| internal(crate::Error::internal("delivery payload", e)))?;
        match self.store.claim_delivery(key, &stored.event, now_ms(), stale_ms, &payload).await.map_err(internal)? {
            Claim::New => {}
            Claim::Done => return Ok(WebhookReply::Duplicate),
            Claim::Busy => return Err(WebhookError::InProgress),
        }
        match work.await {
            Ok(Ok(reply)) => {
                let outcome = serde_json::to_string(&reply).unwrap_or_default();
                self.store.finish_delivery(key, &outcome).await.map_err(internal)?;
                Ok(reply)
            }
            Ok(Err(bad)) => {
                let _ = self.store.release_delivery(key).await;
                Err(WebhookError::Malformed(bad))
            }
            Err(e) => {
                let _ = self.store.release_delivery(key).await;
                Err(internal(e))
            }
        }
    }

    /// Handles again the deliveries a crash interrupted (claimed, not finished), from the payload
    /// kept with each claim; called once at startup, before anything else takes deliveries.
    pub async fn resume_deliveries(&self) -> Result<usize> {
        let mut resumed = 0;
        for (key, payload) in self.store.unfinished_deliveries().await? {
            let Some(stored) = payload.as_deref().and_then(|p| serde_json::from_str::<StoredDelivery>(p).ok()) else {
                // claimed by a version that kept no payload: a redelivery is handled anew
                self.store.release_delivery(&key).await?;
                continue;
            };
            let body = stored.body.as_bytes();
            let reply = match (stored.source.as_str(), stored.slug.as_deref()) {
                ("github", _) => self.github_event(&stored.event, &key, body, 0).await,
                (forge, Some(slug)) => match Forge::parse(forge) {
                    Some(forge) => match self.store.app_by_slug(slug).await {
                        Ok(app) => self.forge_event(forge, &app, &stored.event, key.strip_prefix(&format!("{}-", forge.as_str())).unwrap_or(&key), body, 0).await,
                        Err(crate::Error::NotFound(_)) => Ok(WebhookReply::Ignored { event: "push for an app deleted meanwhile".into() }),
                        Err(e) => return Err(e),
                    },
                    None => Err(WebhookError::Malformed("unknown source".into())),
                },
                _ => Err(WebhookError::Malformed("unknown source".into())),
            };
            match reply {
                Ok(r) => tracing::info!(delivery = %key, reply = ?r, "handled a delivery a restart interrupted"),
                Err(e) => {
                    tracing::warn!(delivery = %key, error = ?e, "a delivery a restart interrupted could not be handled again");
                    self.store.release_delivery(&key).await?;
                }
            }
            resumed += 1;
        }
        Ok(resumed)
    }
}

/// What handling a delivery needs again after a crash: where it came from, its event, the app of a
/// per-app forge webhook, and the (authenticated) body.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredDelivery {
    source: String,
    event: String,
    #[serde(default)]
    slug: Option<String>,
    body: String,
}

impl StoredDelivery {
    pub(super) fn new(source: &str, event: &str, slug: Option<&str>, body: &[u8]) -> StoredDelivery {
        StoredDelivery { source: source.into(), event: event.into(), slug: slug.map(str::to_string), body: String::from_utf8_lossy(body).into_owned() }
    }
}

/// Whether a delivery is Rhone's to handle.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First time (or taken over from a handler that stopped): handle it.
    New,
    /// Handled before.
    Done,
    /// Being handled right now.
    Busy,
}
