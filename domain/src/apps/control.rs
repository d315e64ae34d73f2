//! Restart, stop and start an app. None of them builds: a restart (and a start) releases the live
//! build again with the current environment, through the same health check and zero-downtime switch
//! as a deploy; a stop takes the app out of service (the proxy says so) until it is started again,
//! and a Rhone restart leaves it stopped.

use std::time::Duration;

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::model::{App, Deployment, DeploymentKind};
use crate::policy::Action;
use crate::store::NewDeployment;
use crate::teams::AuditAction;
use crate::Services;

/// How long a stop waits for the app's cancelled deployments to wind down before it stops what runs.
const WIND_DOWN: Duration = Duration::from_secs(30);

impl Services {
    /// Starts the live build again with the current environment (a new release, no build).
    pub async fn restart_app(&self, actor: &Actor, slug: &str) -> Result<Deployment> {
        let app = self.app_for(actor, slug, Action::Operate).await?;
        crate::pipeline::refuse_stopped(&app)?;
        let dep = self.release_live_build(&app).await?;
        self.record(&[app.team_id], actor.audit(AuditAction::AppRestart, &app.slug, format!("v{} (#{})", dep.number, dep.id))).await;
        Ok(dep)
    }

    /// Takes the app out of service: cancels its deployments in progress, stops every instance, and
    /// the proxy answers "stopped" until [`Services::start_app`]. Stopping a stopped app changes
    /// nothing.
    pub async fn stop_app(&self, actor: &Actor, slug: &str) -> Result<App> {
        let app = self.app_for(actor, slug, Action::Operate).await?;
        if !self.halt_app(&app).await? {
            return Ok(app);
        }
        self.record(&[app.team_id], actor.audit(AuditAction::AppStop, &app.slug, "")).await;
        tracing::info!(app.slug = %app.slug, "app stopped");
        self.store.app_by_id(app.id).await
    }

    /// Stops `app` (see [`Services::stop_app`]); false if it was stopped already.
    pub(crate) async fn halt_app(&self, app: &App) -> Result<bool> {
        if !self.store.set_app_stopped(app.id, true).await? {
            return Ok(false);
        }
        self.routes.stop(&app.slug);
        let running: Vec<i64> = self.store.list_deployments(app.id, None, 20).await?.into_iter().filter(|d| d.status.in_progress()).map(|d| d.id).collect();
        self.cancel_app_deployments(app.id).await?;
        // a pipeline that was switching when it was cancelled may still install its route: wait for
        // the cancelled pipelines to end, then clear the route again and stop whatever runs
        let deadline = tokio::time::Instant::now() + WIND_DOWN;
        while running.iter().any(|id| self.deployment_running(*id)) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.routes.stop(&app.slug);
        self.stop_app_instances(app.id).await;
        Ok(true)
    }

    /// Puts a stopped app back in service: its live build is released again (or, if that build is
    /// no longer kept, its branch is deployed). Returns that deployment.
    pub async fn start_app(&self, actor: &Actor, slug: &str) -> Result<Deployment> {
        let app = self.app_for(actor, slug, Action::Operate).await?;
        if app.stopped_at.is_none() {
            return Err(Error::Conflict(format!("{slug} is not stopped")));
        }
        if !self.store.set_app_stopped(app.id, false).await? {
            return Err(Error::Conflict(format!("{slug} is not stopped")));
        }
        self.routes.unstop(&app.slug);
        let dep = match self.release_live_build(&app).await {
            Ok(dep) => dep,
            Err(Error::Conflict(_)) => {
                let git_ref = if app.branch.is_empty() { "HEAD" } else { app.branch.as_str() };
                self.enqueue_deployment(NewDeployment { app_id: app.id, git_ref, kind: DeploymentKind::Deploy, rollback_of: None, delivery: None }).await?
            }
            Err(e) => return Err(e),
        };
        self.record(&[app.team_id], actor.audit(AuditAction::AppStart, &app.slug, format!("v{} (#{})", dep.number, dep.id))).await;
        Ok(dep)
    }

    /// Queues a restart of the app's live build (Conflict: no live version, or its build is gone).
    async fn release_live_build(&self, app: &App) -> Result<Deployment> {
        let live = self
            .store
            .live_deployment(app.id)
            .await?
            .ok_or_else(|| Error::Conflict(format!("{} has no live version to restart: deploy it first", app.slug)))?;
        if !live.rollback_available {
            return Err(Error::Conflict(format!("the build of v{} is no longer kept: deploy again", live.number)));
        }
        let new = NewDeployment { app_id: app.id, git_ref: &live.git_ref, kind: DeploymentKind::Restart, rollback_of: Some(live.id), delivery: None };
        self.enqueue_deployment(new).await
    }

    /// Stops every instance of the app this process runs (of any of its versions).
    pub(crate) async fn stop_app_instances(&self, app_id: i64) {
        for inst in self.runtime.all() {
            if let Ok(d) = self.store.deployment(inst.deployment_id).await {
                if d.app_id == app_id {
                    self.stop_version(d.id).await;
                }
            }
        }
    }
}
