//! Workers: claim the next due job (a transactional claim in the store), run it, and record the
//! outcome: done, queued again after a backoff, or failed for good.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use super::{Job, PurgeSessions, Retention};
use crate::error::{Error, Result};
use crate::github::status::PostStatus;
use crate::pipeline::DeployJob;
use crate::store::{now_ms, ClaimedJob};
use crate::Services;

impl Services {
    /// Claims and runs one due job; returns false if none was due. Tests call this directly.
    pub async fn run_next_job(&self) -> Result<bool> {
        let Some(job) = self.store.claim_job().await? else { return Ok(false) };
        match job.kind.as_str() {
            DeployJob::KIND => execute::<DeployJob>(self, &job).await?,
            Retention::KIND => execute::<Retention>(self, &job).await?,
            PurgeSessions::KIND => execute::<PurgeSessions>(self, &job).await?,
            crate::domains::DomainChecks::KIND => execute::<crate::domains::DomainChecks>(self, &job).await?,
            crate::tls::IssueCertificate::KIND => execute::<crate::tls::IssueCertificate>(self, &job).await?,
            PostStatus::KIND => execute::<PostStatus>(self, &job).await?,
            crate::billing::UsageReport::KIND => execute::<crate::billing::UsageReport>(self, &job).await?,
            #[cfg(test)]
            super::tests::FailsUntil::KIND => execute::<super::tests::FailsUntil>(self, &job).await?,
            other => {
                tracing::error!(job.id = job.id, job.kind = other, "unknown job kind");
                self.store.finish_job(job.id, Some(&format!("unknown job kind {other:?}"))).await?;
            }
        }
        Ok(true)
    }

    /// Runs jobs until `shutdown` flips to true. Start `settings.workers` of these.
    pub async fn run_worker(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let wake = self.work_signal();
        loop {
            if *shutdown.borrow() {
                return;
            }
            let ran = match self.run_next_job().await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::error!(error = %e, "job queue unavailable");
                    false
                }
            };
            if !ran {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    }
}

fn message(e: &Error) -> String {
    match e {
        Error::Internal(m) => m.clone(),
        e => e.to_string(),
    }
}

/// Runs one claimed job of kind `J` and records the outcome.
async fn execute<J: Job>(s: &Services, job: &ClaimedJob) -> Result<()> {
    let parsed: J = match serde_json::from_str(&job.payload) {
        Ok(j) => j,
        Err(e) => {
            // a payload that does not parse never will: no retry
            let msg = format!("bad {} job payload: {e}", J::KIND);
            tracing::error!(job.id = job.id, job.kind = J::KIND, error = %msg, "job failed");
            return s.store.finish_job(job.id, Some(&msg)).await;
        }
    };
    let outcome = AssertUnwindSafe(parsed.run(s)).catch_unwind().await;
    let error = match outcome {
        Ok(Ok(())) => return s.store.finish_job(job.id, None).await,
        Ok(Err(e)) => message(&e),
        Err(_) => "the job panicked".to_string(),
    };
    if job.attempts < job.max_attempts {
        let delay = parsed.backoff(job.attempts);
        tracing::warn!(job.id = job.id, job.kind = J::KIND, attempt = job.attempts, retry_in_secs = delay.as_secs(), error = %error, "job failed; will retry");
        let run_at = now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        return s.store.retry_job(job.id, &error, run_at).await;
    }
    tracing::error!(job.id = job.id, job.kind = J::KIND, attempts = job.attempts, error = %error, "job failed");
    s.store.finish_job(job.id, Some(&error)).await?;
    if let Err(e) = parsed.failed(s, &error).await {
        tracing::error!(job.id = job.id, job.kind = J::KIND, error = %e, "handling a failed job failed");
    }
    Ok(())
}
