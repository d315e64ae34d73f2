//! Startup recovery: nothing is lost, orphaned or duplicated across a restart (or a crash) of Rhone.
//! - jobs that were running are failed, and their deployments are marked `failed` with the reason;
//! - build steps left running by a crash (recorded in pid files) are killed, group and all;
//! - processes of versions that are not live (one that was starting or draining) are stopped;
//! - every live version whose process is still running (same pid + start time) is re-adopted: routed
//!   again and followed, without a restart; one whose process is gone is started from its kept build;
//! - queued deployments stay queued and run normally.

use super::build::{kill_recorded_step, StepError};
use super::release::{limits_of, liveness_of, target_of};
use std::collections::HashMap;
use std::sync::Arc;
use crate::runtime::Instance;
use super::run::Artifact;
use super::DeployJob;
use crate::error::Result;
use crate::logs::{app_channel, deploy_channel};
use crate::model::DeploymentStatus as S;
use crate::routing::{Route, Target};
use crate::runtime::output::OutputFiles;
use crate::runtime::{InstanceId, StartSpec};
use crate::types::RuntimeKind;
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
        let mut stopped = std::collections::HashSet::new();
        for app in self.store.list_apps().await? {
            self.routes.register(&app.slug);
            if app.stopped_at.is_some() {
                self.routes.stop(&app.slug);
                stopped.insert(app.id);
            }
        }
        let mut adopted: HashMap<i64, Vec<(Arc<Instance>, u16)>> = HashMap::new();
        let mut containers = std::collections::HashSet::new();
        let mut uses_docker = false;
        for rec in self.store.recorded_instances().await? {
            let instance = InstanceId::new(rec.instance_id.clone());
            if rec.status == S::Live.as_str() {
                if let Some(port) = rec.port.and_then(|port| u16::try_from(port).ok()) {
                    match self.adopt_live(rec.deployment_id, rec.replica, &rec.runtime, &instance, port).await {
                        Ok(Some(inst)) => {
                            adopted.entry(rec.deployment_id).or_default().push((inst, port));
                            if rec.runtime == "docker" {
                                containers.insert(rec.instance_id.clone());
                            }
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!(deployment.id = rec.deployment_id, error = ?e, "could not re-adopt the live version"),
                    }
                }
            }
            if rec.runtime == "docker" {
                uses_docker = true;
            }
            if self.runtime.stop_leftover(&rec.runtime, &instance).await {
                tracing::warn!(deployment.id = rec.deployment_id, instance = %rec.instance_id, status = %rec.status, "stopped an instance left over from before the restart");
            }
            let _ = self.store.set_instance(rec.deployment_id, rec.replica, None).await;
            if rec.status != S::Live.as_str() {
                OutputFiles::of_replica(&self.settings.run_dir(), rec.deployment_id, rec.replica).remove();
            }
        }
        // containers of this installation that no live version owns: strays of versions that never
        // went live (or whose record a crash lost)
        uses_docker = uses_docker || !containers.is_empty() || self.store.list_apps().await?.iter().any(|a| a.runtime == RuntimeKind::Docker);
        if uses_docker {
            match self.runtime.docker().remove_strays(&containers).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(containers = n, "removed stray containers left from before the restart"),
                Err(e) => tracing::warn!(error = %e, "could not look for stray containers"),
            }
        }
        for dep in self.store.deployments_with_status(S::Live).await? {
            let have = adopted.remove(&dep.id).unwrap_or_default();
            if stopped.contains(&dep.app_id) {
                // stopped by a user: it stays stopped (an instance still running is stopped again)
                drop(have);
                self.stop_version(dep.id).await;
                continue;
            }
            if let Err(e) = self.restart_live(&dep.app_slug, dep.id, have).await {
                tracing::error!(app.slug = %dep.app_slug, deployment.id = dep.id, error = ?e, "could not restart live version");
            }
        }
        self.route_domains().await?;
        // webhook deliveries whose handling the crash interrupted: handled again, once
        match self.resume_deliveries().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(deliveries = n, "handled again webhook deliveries a restart interrupted"),
            Err(e) => tracing::error!(error = ?e, "could not resume interrupted webhook deliveries"),
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

    /// A live version's instance is still running: follow it again (it is routed to once every
    /// instance of its version is back).
    async fn adopt_live(&self, id: i64, replica: u32, kind: &str, instance: &InstanceId, port: u16) -> crate::Result<Option<Arc<Instance>>> {
        let dep = self.store.deployment(id).await?;
        let app = self.store.app_by_id(dep.app_id).await?;
        let rel = self.store.release(id).await?;
        let Some(artifact) = rel.artifact_dir else { return Ok(None) };
        let env = self.env_plain(app.id).await?;
        let plan: crate::detect::BuildPlan = match rel.plan.as_deref().map(serde_json::from_str) {
            Some(Ok(p)) => p,
            _ => return Ok(None),
        };
        let (dir, image, command) = match Artifact::parse(&artifact) {
            Artifact::Image(tag) => (std::path::PathBuf::new(), Some(tag), app.start_command.clone()),
            Artifact::Dir(d) => match plan.start {
                Some(start) => (d.join(&app.root_dir), None, Some(start)),
                None => return Ok(None),
            },
        };
        let sandbox = self.sandbox_for(&app, id, &env)?;
        let sandbox = if image.is_none() { sandbox.with_path(&plan.path, &dir) } else { sandbox };
        let log = self.logs.open_release(&app_channel(app.id), env.iter().map(|(_, v)| v.clone()).collect(), dep.number).await;
        let spec = StartSpec {
            deployment_id: id,
            replica,
            app_slug: app.slug.clone(),
            dir,
            command,
            image,
            sandbox,
            port,
            limits: limits_of(&app),
            output: OutputFiles::of_replica(&self.settings.run_dir(), id, replica),
            log: log.clone(),
            deploy_log: None,
            liveness: liveness_of(&self.settings, &app),
        };
        let Some(inst) = self.runtime.adopt(kind, spec, instance).await else { return Ok(None) };
        self.record_restarts(&inst);
        log.info("Rhone restarted: re-adopted the running version (not restarted)");
        tracing::info!(app.slug = %app.slug, deployment.id = id, replica, instance = %instance.as_str(), "re-adopted live version");
        Ok(Some(inst))
    }

    /// Routes a live version again: its re-adopted instances (`have`), plus new ones started from
    /// its kept build for every instance that is gone (all of them if none survived).
    async fn restart_live(&self, slug: &str, id: i64, have: Vec<(Arc<Instance>, u16)>) -> std::result::Result<(), StepError> {
        let err = |e: crate::Error| StepError::Failed(e.to_string());
        let dep = self.store.deployment(id).await.map_err(err)?;
        let app = self.store.app_by_id(dep.app_id).await.map_err(err)?;
        let rel = self.store.release(id).await.map_err(err)?;
        let (Some(plan), Some(artifact)) = (rel.plan, rel.artifact_dir) else {
            return Err(StepError::Failed("build no longer on disk".into()));
        };
        let plan: crate::detect::BuildPlan = serde_json::from_str(&plan).map_err(|e| StepError::Failed(e.to_string()))?;
        let (workdir, image) = match Artifact::parse(&artifact) {
            Artifact::Image(tag) => (std::path::PathBuf::new(), Some(tag)),
            Artifact::Dir(d) => (d.join(&app.root_dir), None),
        };
        let run = match (&image, plan.start.clone()) {
            (Some(_), _) => Some(("docker", app.start_command.clone())),
            (None, Some(start)) => Some(("process", Some(start))),
            (None, None) => None,
        };
        let target = match (run, plan.static_root.clone()) {
            (Some((kind, command)), _) => {
                let mut all = have;
                let wanted = app.replicas.max(1).max(all.len() as u32);
                let missing: Vec<u32> = (0..wanted).filter(|r| !all.iter().any(|(i, _)| i.replica == *r)).collect();
                if !missing.is_empty() {
                    let env = self.env_plain(app.id).await.map_err(err)?;
                    let log = self.logs.open_release(&app_channel(app.id), env.iter().map(|(_, v)| v.clone()).collect(), dep.number).await;
                    log.info("Rhone restarted and the live version was not running: starting it again");
                    for replica in missing {
                        let sandbox = self.sandbox_for(&app, id, &env).map_err(err)?;
                        let sandbox = if image.is_none() { sandbox.with_path(&plan.path, &workdir) } else { sandbox };
                        let port = super::release::free_port().map_err(|e| StepError::Failed(e.to_string()))?;
                        let output = OutputFiles::of_replica(&self.settings.run_dir(), id, replica);
                        output.remove();
                        let spec = StartSpec {
                            deployment_id: id,
                            replica,
                            app_slug: app.slug.clone(),
                            dir: workdir.clone(),
                            command: command.clone(),
                            image: image.clone(),
                            sandbox,
                            port,
                            limits: limits_of(&app),
                            output,
                            log: log.clone(),
                            deploy_log: None,
                            liveness: liveness_of(&self.settings, &app),
                        };
                        let inst = self.runtime.start(kind, spec).await.map_err(err)?;
                        inst.mark_live();
                        self.record_instance(&inst).await.map_err(err)?;
                        self.record_restarts(&inst);
                        all.push((inst, port));
                    }
                }
                all.sort_by_key(|(i, _)| i.replica);
                target_of(&all, app.sticky_sessions)
            }
            (None, Some(root)) => Target::Static { root: workdir.join(root), spa: plan.spa_fallback },
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
