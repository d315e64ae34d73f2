//! The deploy pipeline: clone → detect → build → start → health-check → switch traffic → retire the
//! old version. Each deployment runs as a persisted `deploy` job; every status change is a store write.

mod build;
pub(crate) use build::{cancelled, command};
pub(crate) use run::Artifact;
mod git;
pub(crate) mod health;
pub mod queue;
mod recover;
mod release;
mod run;
pub mod toolchain;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Notify};

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::policy::Action;
use crate::teams::AuditAction;
use crate::model::{App, Deployment, DeploymentKind, DeploymentStatus as S};
use crate::store::NewDeployment;
use crate::types::GitRef;
use crate::Services;

pub const DEPLOY_JOB: &str = "deploy";

/// The `deploy` job: runs one deployment (see `worker.rs`). Deduped per deployment, never retried.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DeployJob {
    pub deployment_id: i64,
}

/// In-memory coordination: wakes workers, tells a running deployment it was cancelled, and hands
/// out the build slots.
#[derive(Clone)]
pub struct Control {
    wake: Arc<Notify>,
    cancels: Arc<Mutex<HashMap<i64, watch::Sender<bool>>>>,
    builds: queue::BuildSlots,
}

impl Control {
    /// `max_builds`: deployments in their build phase at once.
    pub fn new(max_builds: usize) -> Control {
        Control { wake: Arc::default(), cancels: Arc::default(), builds: queue::BuildSlots::new(max_builds) }
    }

    fn cancel_signal(&self, id: i64) -> watch::Receiver<bool> {
        let mut map = self.cancels.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id).or_insert_with(|| watch::channel(false).0).subscribe()
    }

    fn cancel(&self, id: i64) {
        let map = self.cancels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&id) {
            let _ = tx.send(true);
        }
    }

    fn forget(&self, id: i64) {
        self.cancels.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

impl Services {
    /// Tells idle workers there is a job to claim.
    pub(crate) fn wake_workers(&self) {
        self.pipeline.wake.notify_waiters();
        self.pipeline.wake.notify_one();
    }

    /// What idle workers wait on.
    pub(crate) fn work_signal(&self) -> Arc<Notify> {
        self.pipeline.wake.clone()
    }

    /// Queues a deployment of `git_ref` (default: the app's branch). Older deployments of the same app
    /// still in progress are superseded.
    pub async fn request_deploy(&self, actor: &Actor, slug: &str, git_ref: Option<&str>) -> Result<Deployment> {
        let app = self.app_for(actor, slug, Action::Deploy).await?;
        refuse_stopped(&app)?;
        self.check_deploy(app.team_id).await?;
        let git_ref = match git_ref.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) => GitRef::parse(r)?.as_str().to_string(),
            None if app.branch.is_empty() => "HEAD".to_string(),
            None => app.branch.clone(),
        };
        let dep = self.enqueue_deployment(NewDeployment { app_id: app.id, git_ref: &git_ref, kind: DeploymentKind::Deploy, rollback_of: None, delivery: None }).await?;
        self.record(&[app.team_id], actor.audit(AuditAction::Deploy, &app.slug, format!("#{} {git_ref}", dep.id))).await;
        Ok(dep)
    }

    pub(crate) async fn enqueue_deployment(&self, new: NewDeployment<'_>) -> Result<Deployment> {
        // a delivery handled again (after a crash) finds its deployment rather than making another
        if let Some(key) = new.delivery {
            if let Some(dep) = self.store.deployment_for_delivery(new.app_id, key).await? {
                return Ok(dep);
            }
        }
        self.supersede_in_progress(new.app_id).await?;
        let job = |id| crate::jobs::new_job(&DeployJob { deployment_id: id }, 0);
        let dep = self.store.insert_deployment_with_job(new, job).await?;
        self.wake_workers();
        tracing::info!(app.id = new.app_id, deployment.id = dep.id, release = dep.number, kind = new.kind.as_str(), git_ref = new.git_ref, "deployment queued");
        Ok(dep)
    }

    async fn supersede_in_progress(&self, app_id: i64) -> Result<()> {
        for d in self.store.list_deployments(app_id, None, 20).await? {
            if d.status.in_progress() && self.store.transition(d.id, &[S::Pending, S::Building, S::Deploying], S::Superseded, Some("superseded by a newer deployment")).await? {
                self.pipeline.cancel(d.id);
            }
        }
        Ok(())
    }

    pub(crate) async fn cancel_app_deployments(&self, app_id: i64) -> Result<()> {
        for d in self.store.list_deployments(app_id, None, 20).await? {
            if d.status.in_progress() && self.store.transition(d.id, &[S::Pending, S::Building, S::Deploying], S::Cancelled, Some("cancelled")).await? {
                self.pipeline.cancel(d.id);
            }
        }
        Ok(())
    }

    pub async fn deployment(&self, actor: &Actor, id: i64) -> Result<Deployment> {
        Ok(self.deployment_for(actor, id, Action::ReadDeployments).await?.1)
    }

    /// A deployment's status changes, oldest first.
    pub async fn deployment_events(&self, actor: &Actor, id: i64) -> Result<Vec<crate::model::StatusEvent>> {
        self.deployment_for(actor, id, Action::ReadDeployments).await?;
        self.store.status_events(id).await
    }

    /// True while this process still runs deployment `id`'s pipeline. A deployment is `live` from
    /// its switch on, but its pipeline goes on for a while (the replaced version drains, the new one
    /// is watched) and still writes to its log.
    pub fn deployment_running(&self, id: i64) -> bool {
        self.pipeline.cancels.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&id)
    }

    pub async fn list_deployments(&self, actor: &Actor, slug: &str, before: Option<i64>, limit: i64) -> Result<Vec<Deployment>> {
        let app = self.app_for(actor, slug, Action::ReadDeployments).await?;
        self.store.list_deployments(app.id, before, limit.clamp(1, 100)).await
    }

    pub async fn cancel_deployment(&self, actor: &Actor, id: i64) -> Result<Deployment> {
        let (app, d) = self.deployment_for(actor, id, Action::CancelDeployment).await?;
        if !d.status.in_progress() {
            return Err(Error::Conflict(format!("deployment {id} is {} and can no longer be cancelled", d.status.as_str())));
        }
        if self.store.transition(id, &[S::Pending, S::Building, S::Deploying], S::Cancelled, Some("cancelled by user")).await? {
            self.pipeline.cancel(id);
            self.record(&[app.team_id], actor.audit(AuditAction::Cancel, &app.slug, format!("#{id}"))).await;
        }
        self.store.deployment(id).await
    }

    /// Makes the build of an earlier deployment live again, without rebuilding.
    pub async fn rollback(&self, actor: &Actor, id: i64) -> Result<Deployment> {
        let (app, target) = self.deployment_for(actor, id, Action::Rollback).await?;
        refuse_stopped(&app)?;
        if !matches!(target.status, S::Live | S::Superseded) || !target.rollback_available {
            return Err(Error::Conflict(format!(
                "deployment {id} has no kept build to roll back to (only the last successful builds are kept)"
            )));
        }
        if target.status == S::Live && self.routes.live(&target.app_slug).is_some_and(|r| r.deployment_id == id) {
            return Err(Error::Conflict(format!("deployment {id} is already live")));
        }
        let new = NewDeployment { app_id: target.app_id, git_ref: &target.git_ref, kind: DeploymentKind::Rollback, rollback_of: Some(id), delivery: None };
        let dep = self.enqueue_deployment(new).await?;
        self.record(&[app.team_id], actor.audit(AuditAction::Rollback, &app.slug, format!("#{} to #{id}", dep.id))).await;
        Ok(dep)
    }
}

/// A stopped app deploys nothing until it is started again (a deploy would put it back in service
/// behind its team's back).
pub(crate) fn refuse_stopped(app: &App) -> Result<()> {
    match app.stopped_at {
        Some(_) => Err(Error::Conflict(format!("{} is stopped: start it first", app.slug))),
        None => Ok(()),
    }
}
