//! Startup recovery: nothing is lost or duplicated across a restart of Rhone.
//! - jobs that were running are failed, and their deployments are marked `failed` with the reason;
//! - queued deployments stay queued and run normally;
//! - every live version is started again from its kept build (a process left over from a crash is
//!   identified by pid + start time and stopped first, so nothing runs twice).

use super::build::StepError;
use super::DeployJob;
use crate::error::Result;
use crate::logs::{app_channel, deploy_channel};
use crate::model::DeploymentStatus as S;
use crate::routing::{Route, Target};
use crate::runtime::process::kill_orphan;
use crate::runtime::StartSpec;
use crate::Services;

const INTERRUPTED: &str = "interrupted: Rhone restarted while this deployment was in progress; deploy again";

impl Services {
    pub async fn recover(&self) -> Result<()> {
        for (_, payload) in self.store.fail_interrupted_jobs(INTERRUPTED).await? {
            if let Ok(job) = serde_json::from_str::<DeployJob>(&payload) {
                if self.store.transition(job.deployment_id, &[S::Building, S::Deploying, S::Pending], S::Failed, Some(INTERRUPTED)).await? {
                    let log = self.logs.open(&deploy_channel(job.deployment_id), vec![]).await;
                    log.info(INTERRUPTED);
                    log.end();
                }
            }
        }
        for app in self.store.list_apps().await? {
            self.routes.register(&app.slug);
        }
        for dep in self.store.deployments_with_status(S::Live).await? {
            let rel = self.store.release(dep.id).await?;
            if let (Some(pid), Some(start)) = (rel.pid, rel.pid_start) {
                if kill_orphan(pid, start).await {
                    tracing::warn!(app.slug = %dep.app_slug, deployment.id = dep.id, pid, "stopped a process left over from before the restart");
                }
            }
            if let Err(e) = self.restart_live(&dep.app_slug, dep.id).await {
                tracing::error!(app.slug = %dep.app_slug, deployment.id = dep.id, error = ?e, "could not restart live version");
            }
        }
        Ok(())
    }

    async fn restart_live(&self, slug: &str, id: i64) -> std::result::Result<(), StepError> {
        let err = |e: crate::Error| StepError::Failed(e.to_string());
        let dep = self.store.deployment(id).await.map_err(err)?;
        let app = self.store.app_by_id(dep.app_id).await.map_err(err)?;
        let rel = self.store.release(id).await.map_err(err)?;
        let (Some(plan), Some(dir)) = (rel.plan, rel.artifact_dir) else {
            return Err(StepError::Failed("build no longer on disk".into()));
        };
        let plan: crate::detect::BuildPlan = serde_json::from_str(&plan).map_err(|e| StepError::Failed(e.to_string()))?;
        let workdir = std::path::Path::new(&dir).join(&app.root_dir);
        let target = match (plan.start, plan.static_root) {
            (Some(start), _) => {
                let env = self.env_plain(app.id).await.map_err(err)?;
                let port = std::net::TcpListener::bind(("127.0.0.1", 0))
                    .and_then(|l| l.local_addr())
                    .map_err(|e| StepError::Failed(e.to_string()))?
                    .port();
                let log = self.logs.open(&app_channel(app.id), env.iter().map(|(_, v)| v.clone()).collect()).await;
                log.info("Rhone restarted: starting the live version again");
                let inst = self
                    .runtime
                    .start(StartSpec { deployment_id: id, dir: workdir, command: start, env, port, log, deploy_log: None })
                    .await
                    .map_err(err)?;
                inst.mark_live();
                if let crate::runtime::process::State::Running { pid, pid_start } = inst.state() {
                    self.store.set_process(id, Some(port as i64), Some(pid as i64), pid_start).await.map_err(err)?;
                }
                Target::Http(([127, 0, 0, 1], port).into())
            }
            (None, Some(root)) => Target::Static(workdir.join(root)),
            (None, None) => return Err(StepError::Failed("no start command".into())),
        };
        self.routes.switch(Route::new(slug, id, target));
        Ok(())
    }

    /// On shutdown: deployments being built or started are failed (and their steps killed); queued
    /// ones stay queued and run after the next start.
    pub async fn interrupt_in_progress(&self) -> Result<()> {
        for status in [S::Building, S::Deploying] {
            for d in self.store.deployments_with_status(status).await? {
                if self.store.transition(d.id, &[status], S::Failed, Some(INTERRUPTED)).await? {
                    self.pipeline.cancel(d.id);
                }
            }
        }
        Ok(())
    }

    /// Stops every running version (on shutdown); they are started again by `recover` on the next start.
    pub async fn stop_all(&self) {
        let all = self.runtime.all();
        futures::future::join_all(all.iter().map(|i| i.stop(self.settings.drain_timeout))).await;
    }
}
