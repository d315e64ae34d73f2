//! Start the new version, wait for it to be healthy, switch traffic atomically, then drain and stop the
//! old version. A version that never becomes healthy is stopped and the old one keeps serving.

use std::path::Path;
use std::time::Duration;

use super::build::{StepError, StepResult};
use super::health;
use super::run::{internal, Ctx};
use crate::detect::BuildPlan;
use crate::logs::app_channel;
use crate::model::DeploymentStatus as S;
use crate::routing::{Route, Target};
use crate::runtime::output::OutputFiles;
use crate::runtime::{Instance, State};
use crate::runtime::StartSpec;
use crate::Services;

impl Services {
    pub(super) async fn release(&self, ctx: &mut Ctx<'_>, plan: &BuildPlan, workdir: &Path) -> StepResult {
        let id = ctx.dep.id;
        let target = match (&plan.start, &plan.static_root) {
            (Some(start), _) => {
                let port = free_port().map_err(internal)?;
                ctx.log.info(&format!("starting: {start} (PORT={port})"));
                let app_log = self.logs.open(&app_channel(ctx.app.id), ctx.env.iter().map(|(_, v)| v.clone()).collect()).await;
                let spec = StartSpec {
                    deployment_id: id,
                    dir: workdir.to_path_buf(),
                    command: start.clone(),
                    sandbox: ctx.sandbox.clone(),
                    port,
                    output: OutputFiles::new(&self.settings.run_dir(), id),
                    log: app_log,
                    deploy_log: Some(ctx.log.clone()),
                };
                let inst = self.runtime.start(spec).await.map_err(|e| StepError::Failed(e.to_string()))?;
                self.record_instance(&inst).await.map_err(internal)?;
                self.record_restarts(&inst);
                let healthy = match self.wait_healthy(ctx, port).await {
                    Ok(()) => inst.check_listener(port).map_err(StepError::Failed),
                    Err(e) => Err(e),
                };
                if let Err(e) = healthy {
                    self.stop_version(id).await;
                    return Err(e);
                }
                Target::Http(([127, 0, 0, 1], port).into())
            }
            (None, Some(root)) => {
                let dir = workdir.join(root);
                if !super::run::inside(&dir, workdir) {
                    return Err(StepError::Failed(format!("static site directory {root:?} leads outside the repository (a symlink?)")));
                }
                if !dir.join("index.html").is_file() {
                    return Err(StepError::Failed(format!("static site has no index.html in {root:?}")));
                }
                ctx.log.info("static site: served by Rhone");
                Target::Static(dir)
            }
            (None, None) => return Err(StepError::Failed("the build plan has no start command".into())),
        };
        // live + superseding the previous live version(s) + their events: one transaction
        if !self.store.go_live(id, ctx.app.id).await.map_err(internal)? {
            self.stop_version(id).await;
            return Err(StepError::Cancelled);
        }
        if let Some(inst) = self.runtime.get(id) {
            inst.mark_live();
        }
        let previous = self.routes.switch(Route::new(ctx.app.slug.clone(), id, target));
        ctx.log.info("traffic switched to the new version");
        if let Some(old) = previous.filter(|r| r.deployment_id != id) {
            let drain = self.settings.drain_timeout;
            let deadline = tokio::time::Instant::now() + drain;
            while old.inflight() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            ctx.log.info(&format!("stopping the previous version (deployment {})", old.deployment_id));
            self.stop_version(old.deployment_id).await;
        }
        if let Err(e) = self.prune_builds(ctx.app.id).await {
            tracing::warn!(app.slug = %ctx.app.slug, error = %e, "pruning old builds failed");
        }
        Ok(())
    }

    async fn wait_healthy(&self, ctx: &mut Ctx<'_>, port: u16) -> StepResult {
        let path = &ctx.app.health_check_path;
        let deadline = tokio::time::Instant::now() + self.settings.health_timeout;
        ctx.log.info(&format!("health check: GET {path} on port {port} (up to {}s)", self.settings.health_timeout.as_secs()));
        let mut last;
        let mut next_note = tokio::time::Instant::now() + Duration::from_secs(5);
        // poll fast at first (most apps are up within ~100 ms), then back off to 250 ms
        let mut pause = Duration::from_millis(20);
        loop {
            if let Some(why) = self.runtime.get(ctx.dep.id).and_then(|i| i.exited()) {
                return Err(StepError::Failed(format!("the app {why} before it became healthy (see the log above)")));
            }
            match health::probe(port, path).await {
                Ok(code) if health::healthy(code) => {
                    ctx.log.info(&format!("health check passed: HTTP {code}"));
                    return Ok(());
                }
                Ok(code) => last = format!("HTTP {code}"),
                Err(e) => last = e,
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(StepError::Failed(format!(
                    "the app did not become healthy within {}s (last check: {last}); it must answer GET {path} with 2xx/3xx on $PORT",
                    self.settings.health_timeout.as_secs()
                )));
            }
            if now >= next_note {
                ctx.log.info(&format!("still waiting for the app to answer (last check: {last})"));
                next_note = now + Duration::from_secs(5);
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = super::build::cancelled(&mut ctx.cancel) => return Err(StepError::Cancelled),
            }
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// Records which runtime runs the version and its instance id (after a start or an adoption).
    pub(super) async fn record_instance(&self, inst: &Instance) -> crate::Result<()> {
        match inst.state() {
            State::Running { instance } => {
                self.store.set_instance(inst.deployment_id, Some((self.runtime.kind(), instance.as_str(), inst.port))).await
            }
            _ => Ok(()),
        }
    }

    /// Records the new instance each time the supervisor restarts a crashed one.
    pub(super) fn record_restarts(&self, inst: &std::sync::Arc<Instance>) {
        let (store, kind, id, port, mut rx) = (self.store.clone(), self.runtime.kind(), inst.deployment_id, inst.port, inst.watch());
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let state = rx.borrow_and_update().clone();
                if let State::Running { instance } = state {
                    if let Err(e) = store.set_instance(id, Some((kind, instance.as_str(), port))).await {
                        tracing::error!(deployment.id = id, error = %e, "could not record the restarted instance");
                    }
                }
            }
        });
    }

    /// Stops a version's process (if it has one) and forgets it.
    pub async fn stop_version(&self, deployment_id: i64) {
        if let Some(inst) = self.runtime.get(deployment_id) {
            inst.stop(self.settings.drain_timeout).await;
            self.runtime.remove(deployment_id);
            let _ = self.store.set_instance(deployment_id, None).await;
            OutputFiles::new(&self.settings.run_dir(), deployment_id).remove();
        }
    }

    /// Deletes builds beyond the newest `keep_builds` successful ones (never one in use).
    async fn prune_builds(&self, app_id: i64) -> crate::Result<()> {
        let in_use: Vec<String> = match self.store.deployments_with_status(S::Live).await {
            Ok(v) => futures::future::join_all(v.iter().map(|d| self.store.release(d.id)))
                .await
                .into_iter()
                .filter_map(|r| r.ok().and_then(|r| r.artifact_dir))
                .collect(),
            Err(e) => return Err(e),
        };
        let mut seen = std::collections::HashSet::new();
        let candidates = self.store.kept_builds(app_id).await?;
        for (id, dir) in candidates {
            if seen.len() < self.settings.keep_builds || in_use.contains(&dir) {
                seen.insert(dir);
                continue;
            }
            if seen.contains(&dir) {
                continue;
            }
            self.store.clear_artifact(id).await?;
            if !candidates_share(&self.store, &dir).await && Path::new(&dir).starts_with(self.settings.builds_dir()) {
                let _ = tokio::fs::remove_dir_all(&dir).await;
            }
        }
        Ok(())
    }
}

async fn candidates_share(store: &crate::store::Store, dir: &str) -> bool {
    store.artifact_in_use(dir).await.unwrap_or(true)
}

pub(super) fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}
