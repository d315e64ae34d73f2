//! Startup recovery: nothing is lost, orphaned or duplicated across a restart (or a crash) of Rhone.
//! - jobs that were running are failed, and their deployments are marked `failed` with the reason;
//! - build steps left running by a crash (recorded in pid files) are killed, group and all;
//! - processes of versions that are not live (one that was starting or draining) are stopped;
//! - every live version whose process is still running (same pid + start time) is re-adopted: routed
//!   again and followed, without a restart; one whose process is gone is started from its kept build;
//! - queued deployments stay queued and run normally.

use super::build::{kill_recorded_step, StepError};
use super::DeployJob;
use crate::error::Result;
use crate::logs::{app_channel, deploy_channel};
use crate::model::DeploymentStatus as S;
use crate::routing::{Route, Target};
use crate::runtime::output::OutputFiles;
use crate::runtime::{InstanceId, StartSpec};
use crate::Services;

const INTERRUPTED: &str = "interrupted: Rhone restarted while this deployment was in progress; deploy again";

impl Services {
    pub async fn recover(&self) -> Result<()> {
        self.kill_leftover_builds().await;
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
        let mut adopted = std::collections::HashSet::new();
        for rec in self.store.recorded_instances().await? {
            let instance = InstanceId::new(rec.instance_id.clone());
            if rec.runtime != self.runtime.kind() {
                tracing::error!(deployment.id = rec.deployment_id, runtime = %rec.runtime, "a version of a runtime this Rhone does not run");
                continue;
            }
            if rec.status == S::Live.as_str() {
                if let Some(port) = rec.port.and_then(|port| u16::try_from(port).ok()) {
                    match self.adopt_live(rec.deployment_id, &instance, port).await {
                        Ok(true) => {
                            adopted.insert(rec.deployment_id);
                            continue;
                        }
                        Ok(false) => {}
                        Err(e) => tracing::error!(deployment.id = rec.deployment_id, error = ?e, "could not re-adopt the live version"),
                    }
                }
            }
            if self.runtime.stop_leftover(&instance).await {
                tracing::warn!(deployment.id = rec.deployment_id, instance = %rec.instance_id, status = %rec.status, "stopped an instance left over from before the restart");
            }
            let _ = self.store.set_instance(rec.deployment_id, None).await;
            if rec.status != S::Live.as_str() {
                OutputFiles::new(&self.settings.run_dir(), rec.deployment_id).remove();
            }
        }
        for dep in self.store.deployments_with_status(S::Live).await? {
            if adopted.contains(&dep.id) {
                continue;
            }
            if let Err(e) = self.restart_live(&dep.app_slug, dep.id).await {
                tracing::error!(app.slug = %dep.app_slug, deployment.id = dep.id, error = ?e, "could not restart live version");
            }
        }
        Ok(())
    }

    /// Kills build steps a crash left running (their pid files are in the run dir) and removes
    /// temporary deploy-key files of interrupted fetches.
    async fn kill_leftover_builds(&self) {
        let Ok(dir) = std::fs::read_dir(self.settings.run_dir()) else { return };
        for entry in dir.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("build-") && name.ends_with(".pid") && kill_recorded_step(&entry.path()).await {
                tracing::warn!(file = %name, "killed a build step left running before the restart");
            }
            // a deploy key written for a fetch that a crash interrupted
            if name.starts_with("git-key-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The live version's instance is still running: follow it again and route to it.
    async fn adopt_live(&self, id: i64, instance: &InstanceId, port: u16) -> std::result::Result<bool, crate::Error> {
        let dep = self.store.deployment(id).await?;
        let app = self.store.app_by_id(dep.app_id).await?;
        let rel = self.store.release(id).await?;
        let Some(dir) = rel.artifact_dir else { return Ok(false) };
        let env = self.env_plain(app.id).await?;
        let sandbox = self.sandbox_for(&app, id, &env)?;
        let plan: crate::detect::BuildPlan = match rel.plan.as_deref().map(serde_json::from_str) {
            Some(Ok(p)) => p,
            _ => return Ok(false),
        };
        let Some(command) = plan.start else { return Ok(false) };
        let log = self.logs.open(&app_channel(app.id), env.iter().map(|(_, v)| v.clone()).collect()).await;
        let spec = StartSpec {
            deployment_id: id,
            dir: std::path::Path::new(&dir).join(&app.root_dir),
            command,
            sandbox,
            port,
            output: OutputFiles::new(&self.settings.run_dir(), id),
            log: log.clone(),
            deploy_log: None,
        };
        let Some(inst) = self.runtime.adopt(spec, instance) else { return Ok(false) };
        self.record_restarts(&inst);
        log.info("Rhone restarted: re-adopted the running version (not restarted)");
        tracing::info!(app.slug = %app.slug, deployment.id = id, instance = %instance.as_str(), "re-adopted live version");
        self.routes.switch(Route::new(app.slug.as_str(), id, Target::Http(([127, 0, 0, 1], port).into())));
        Ok(true)
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
                let sandbox = self.sandbox_for(&app, id, &env).map_err(err)?;
                let port = super::release::free_port().map_err(|e| StepError::Failed(e.to_string()))?;
                let log = self.logs.open(&app_channel(app.id), env.iter().map(|(_, v)| v.clone()).collect()).await;
                log.info("Rhone restarted and the live version was not running: starting it again");
                let output = OutputFiles::new(&self.settings.run_dir(), id);
                output.remove();
                let spec = StartSpec { deployment_id: id, dir: workdir, command: start, sandbox, port, output, log, deploy_log: None };
                let inst = self.runtime.start(spec).await.map_err(err)?;
                inst.mark_live();
                self.record_instance(&inst).await.map_err(err)?;
                self.record_restarts(&inst);
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

    /// On shutdown: either stop every running version (`stop_apps`), or let go of them so they keep
    /// serving while Rhone is down; the next start re-adopts them.
    pub async fn release_apps(&self, stop_apps: bool) {
        if stop_apps {
            let all = self.runtime.all();
            futures::future::join_all(all.iter().map(|i| i.stop(self.settings.drain_timeout))).await;
        } else {
            self.runtime.detach_all().await;
        }
    }
}
