//! The periodic housekeeping jobs: `retention` (finished job rows, stored log lines, old finished
//! deployments) and `purge_sessions` (expired browser sessions).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Job;
use crate::error::Result;
use crate::store::now_ms;
use crate::Services;

/// How much history Rhone keeps, and how often it prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Finished job rows older than this are deleted ...
    pub job_max_age: Duration,
    /// ... and at most this many finished job rows are kept.
    pub job_keep: i64,
    /// Stored log lines older than this are deleted ...
    pub log_max_age: Duration,
    /// ... and at most this many lines are kept per channel (one build log, one app's output).
    pub log_keep_lines: i64,
    /// Finished deployments kept per app (live ones and those with a kept build are always kept).
    pub keep_deployments: i64,
    /// Audit log entries older than this are deleted.
    pub audit_max_age: Duration,
    /// How often `retention` runs.
    pub interval: Duration,
    /// How often expired sessions are purged.
    pub session_purge_interval: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        RetentionSettings {
            job_max_age: Duration::from_secs(7 * DAY),
            job_keep: 10_000,
            log_max_age: Duration::from_secs(30 * DAY),
            log_keep_lines: 10_000,
            keep_deployments: 100,
            audit_max_age: Duration::from_secs(365 * DAY),
            interval: Duration::from_secs(3600),
            session_purge_interval: Duration::from_secs(3600),
        }
    }
}

/// Prunes finished job rows, old log lines and old finished deployments.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Retention {}

impl Job for Retention {
    const KIND: &'static str = "retention";
    const MAX_ATTEMPTS: i64 = 3;

    async fn run(&self, s: &Services) -> Result<()> {
        let r = s.settings.retention;
        let now = now_ms();
        let age = |d: Duration| now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let jobs = s.store.prune_jobs(age(r.job_max_age), r.job_keep).await?;
        let lines = s.store.prune_log_lines(age(r.log_max_age), r.log_keep_lines).await?;
        let deployments = s.store.prune_deployments(r.keep_deployments).await?;
        let audit = s.store.prune_audit(age(r.audit_max_age)).await?;
        // a handled delivery's record outlives GitHub's redelivery window (3 days) like a job row
        let deliveries = s.store.prune_deliveries(age(r.job_max_age)).await?;
        tracing::info!(jobs, log_lines = lines, deployments = deployments.len(), audit, deliveries, "retention: pruned old rows");
        Ok(())
    }
}

/// Deletes sessions past their expiry.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PurgeSessions {}

impl Job for PurgeSessions {
    const KIND: &'static str = "purge_sessions";
    const MAX_ATTEMPTS: i64 = 3;

    async fn run(&self, s: &Services) -> Result<()> {
        let purged = s.store.purge_expired_sessions(now_ms()).await?;
        if purged > 0 {
            tracing::info!(sessions = purged, "purged expired sessions");
        }
        Ok(())
    }
}
