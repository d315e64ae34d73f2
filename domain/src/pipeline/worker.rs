//! Job workers: claim the next queued job (a transactional claim in the store) and run it.

use std::time::Duration;

use super::{DeployJob, DEPLOY_JOB};
use crate::error::Result;
use crate::Services;

impl Services {
    /// Claims and runs one job; returns false if the queue was empty. Tests call this directly.
    pub async fn run_next_job(&self) -> Result<bool> {
        let Some(job) = self.store.claim_job().await? else { return Ok(false) };
        let result = match job.kind.as_str() {
            DEPLOY_JOB => match serde_json::from_str::<DeployJob>(&job.payload) {
                Ok(p) => self.run_deploy(p.deployment_id).await,
                Err(e) => Err(crate::Error::internal("deploy job payload", e)),
            },
            other => Err(crate::Error::Internal(format!("unknown job kind {other:?}"))),
        };
        let err = result.as_ref().err().map(|e| match e {
            crate::Error::Internal(m) => m.clone(),
            e => e.to_string(),
        });
        if let Some(e) = &err {
            tracing::error!(job.id = job.id, job.kind = %job.kind, error = %e, "job failed");
        }
        self.store.finish_job(job.id, err.as_deref()).await?;
        Ok(true)
    }

    /// Runs jobs until `shutdown` flips to true. Start `settings.workers` of these.
    pub async fn run_worker(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
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
                    _ = self.pipeline.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    }
}
