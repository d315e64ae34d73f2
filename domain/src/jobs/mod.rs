//! Background jobs. A job is a persisted row (kind, dedupe key, JSON payload) that a worker claims and
//! runs; its Rust side implements [`Job`]. A failed attempt is queued again after a backoff until the
//! job's maximum number of attempts is used up, then it is failed for good with its last error.
//! Periodic jobs (retention, session purge) are enqueued by the scheduler (`schedule.rs`), at most once
//! per interval however many workers and Rhone processes share the database.
//!
//! Adding a kind: implement [`Job`] and add it to [`runner`]'s dispatch.

mod retention;
mod runner;
mod schedule;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use retention::{PurgeSessions, Retention, RetentionSettings};
pub use schedule::SCHEDULER_TICK;

use crate::error::{Error, Result};
use crate::store::{now_ms, NewJob};
use crate::Services;

/// One kind of background job. The value itself is the payload (stored as JSON).
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind name stored in the row; never change it once rows exist.
    const KIND: &'static str;
    /// Attempts before the job is failed for good (1 = never retried).
    const MAX_ATTEMPTS: i64 = 5;

    /// Jobs with the same key are enqueued once (until the row is pruned).
    fn dedupe_key(&self) -> Option<String> {
        None
    }

    /// Does the work. Must be safe to run again after a failed or interrupted attempt.
    fn run(&self, services: &Services) -> impl Future<Output = Result<()>> + Send;

    /// Called once when the last attempt failed.
    fn failed(&self, _services: &Services, _error: &str) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// The wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.
    fn backoff(&self, attempt: i64) -> Duration {
        backoff(attempt)
    }
}

/// Exponential backoff: 10 s, 20 s, 40 s, ... capped at one hour.
pub fn backoff(attempt: i64) -> Duration {
    let exp = attempt.clamp(1, 20) - 1;
    Duration::from_secs(10u64.saturating_mul(1 << exp)).min(Duration::from_secs(3600))
}

/// The row to insert for a job, due at `run_at` (unix ms).
pub fn new_job<J: Job>(job: &J, run_at: i64) -> Result<NewJob> {
    Ok(NewJob {
        kind: J::KIND.to_string(),
        dedupe_key: job.dedupe_key(),
        payload: serde_json::to_string(job).map_err(|e| Error::internal("job payload", e))?,
        max_attempts: J::MAX_ATTEMPTS.max(1),
        run_at,
    })
}

impl Services {
    /// Enqueues a job to run now; false if one with the same dedupe key exists already.
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<bool> {
        let added = self.store.enqueue(&new_job(job, now_ms())?).await?;
        if added {
            self.wake_workers();
        }
        Ok(added)
    }
}
