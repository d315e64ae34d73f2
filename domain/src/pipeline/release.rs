//! Start the new version, wait for it to be healthy, switch traffic atomically, then drain and stop the
//! old version. A version that never becomes healthy is stopped and the old one keeps serving.

use wire::Stage;
use std::sync::Arc;
use std::time::Duration;

use super::build::{StepError, StepResult};
use super::health;
use super::run::{internal, Artifact, Built, Ctx};
use crate::logs::app_channel;
use crate::model::DeploymentStatus as S;
use crate::routing::{Backend, DrainOutcome, Pool, Route, Target};
use crate::runtime::output::OutputFiles;
use crate::runtime::{Instance, State};
use crate::runtime::StartSpec;
use crate::Services;

impl Services {
    pub(super) async fn release(&self, ctx: &mut Ctx<'_>, built: &Built) -> StepResult {
        let id = ctx.dep.id;
        self.stage(id, Stage::Start).await;
        let plan = &built.plan;
        let workdir = &built.workdir;
        let run = match (&built.image, &plan.start, &plan.static_root) {
            (Some(image), _, _) => Some(("docker", Some(image.clone()), ctx.app.start_command.clone())),
            (None, Some(start), _) => Some(("process", None, Some(start.clone()))),
            (None, None, _) => None,
        };
        let target = match (run, &plan.static_root) {
            (Some((kind, image, command)), _) => {
                let replicas = ctx.app.replicas.max(1);
                let mut started: Vec<(Arc<Instance>, u16)> = Vec::new();
                for replica in 0..replicas {
                    match self.start_replica(ctx, kind, workdir, &image, &command, &plan.path, replica, replicas).await {
                        Ok(inst) => started.push(inst),
                        Err(e) => {
                            self.stop_version(id).await;
                            return Err(e);
                        }
                    }
                }
                target_of(&started, ctx.app.sticky_sessions)
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
                Target::Static { root: dir, spa: plan.spa_fallback }
            }
            (None, None) => return Err(StepError::Failed("the build plan has no start command".into())),
        };
        self.stage(id, Stage::Switch).await;
        // live + superseding the previous live version(s) + their events: one transaction
        if !self.store.go_live(id, ctx.app.id).await.map_err(internal)? {
            self.stop_version(id).await;
            return Err(StepError::Cancelled);
        }
        for inst in self.runtime.of(id) {
            inst.mark_live();
        }
        let previous = self.routes.switch(Route::new(ctx.app.slug.clone(), id, target));
        ctx.log.info("traffic switched to the new version");
        let old = previous.filter(|r| r.deployment_id != id);
        let drain_timeout = ctx.app.drain_timeout();
        // the previous version drains (no new request reaches it) while the new one is watched; it
        // is stopped only once both are over, so it can take the traffic back if the new one fails
        let log = ctx.log.clone();
        let old_route = old.clone();
        let drain = async move {
            let Some(old) = &old_route else { return };
            log.info(&format!("draining the previous version (deployment {})", old.deployment_id));
            match old.retire_and_drain(drain_timeout).await {
                DrainOutcome::Drained => log.info("the previous version finished its requests and connections"),
                DrainOutcome::TimedOut(open) => log.info(&format!(
                    "drain timeout ({}s) passed with {} request(s) and {} connection(s) still open on the previous version",
                    drain_timeout.as_secs(),
                    open.requests,
                    open.connections
                )),
            }
        };
        let watch = self.watch_after_switch(id, ctx.app.health_check_path.clone(), ctx.app.replicas.max(1));
        tokio::pin!(drain);
        tokio::pin!(watch);
        // a failure of the new version during the watch reverts at once, without waiting for the drain
        let mut drained = false;
        let watched = tokio::select! {
            w = &mut watch => w,
            () = &mut drain => {
                drained = true;
                watch.await
            }
        };
        if let Err(why) = watched {
            return self.revert_to(ctx, old, why).await;
        }
        if !drained {
            drain.await;
        }
        if let Some(old) = old {
            ctx.log.info(&format!("stopping the previous version (deployment {})", old.deployment_id));
            self.stop_version(old.deployment_id).await;
        }
        if let Err(e) = self.prune_builds(ctx.app.id).await {
            tracing::warn!(app.slug = %ctx.app.slug, error = %e, "pruning old builds failed");
        }
        Ok(())
    }

    /// Starts one instance of the new version and waits until it is healthy and holds its port.
    #[allow(clippy::too_many_arguments)]
    async fn start_replica(
        &self,
        ctx: &mut Ctx<'_>,
        kind: &'static str,
        workdir: &std::path::Path,
        image: &Option<String>,
        command: &Option<String>,
        path: &[String],
        replica: u32,
        replicas: u32,
    ) -> StepResult<(Arc<Instance>, u16)> {
        let id = ctx.dep.id;
        let port = free_port().map_err(internal)?;
        let which = if replicas > 1 { format!(" (instance {} of {replicas})", replica + 1) } else { String::new() };
        match image {
            Some(image) => ctx.log.info(&format!("starting a container of {image}{which} (PORT={port})")),
            None => ctx.log.info(&format!("starting: {}{which} (PORT={port})", command.as_deref().unwrap_or(""))),
        }
        let app_log = self.logs.open_release(&app_channel(ctx.app.id), ctx.env.iter().map(|(_, v)| v.clone()).collect(), ctx.dep.number).await;
        let spec = StartSpec {
            deployment_id: id,
            replica,
            app_slug: ctx.app.slug.clone(),
            dir: workdir.to_path_buf(),
            command: command.clone(),
            image: image.clone(),
            // the plan's own directories (`.venv/bin`, provisioned tools) first on the app's PATH
            sandbox: if image.is_none() { ctx.sandbox.with_path(path, workdir) } else { ctx.sandbox.clone() },
            port,
            limits: limits_of(ctx.app),
            output: OutputFiles::of_replica(&self.settings.run_dir(), id, replica),
            log: app_log,
            deploy_log: Some(ctx.log.clone()),
            liveness: liveness_of(&self.settings, ctx.app),
        };
        let inst = self.runtime.start(kind, spec).await.map_err(|e| StepError::Failed(e.to_string()))?;
        self.record_instance(&inst).await.map_err(internal)?;
        self.record_restarts(&inst);
        self.stage(id, Stage::HealthCheck).await;
        self.wait_healthy(ctx, &inst, port).await?;
        inst.check_listener(port).map_err(StepError::Failed)?;
        Ok((inst, port))
    }

    /// Watches the new version for `switch_watch` after the switch: it fails if an instance exits
    /// or its health check fails twice in a row.
    async fn watch_after_switch(&self, id: i64, path: String, replicas: u32) -> Result<(), String> {
        let period = self.settings.switch_watch;
        if period.is_zero() {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + period;
        let path = path.as_str();
        let mut failures = vec![0u32; replicas as usize];
        loop {
            for inst in self.runtime.of(id) {
                match inst.state() {
                    State::Running { .. } => {}
                    State::Stopped | State::Detached => return Ok(()), // stopped by Rhone (a newer deploy, a delete)
                    other => return Err(format!("the new version failed right after the switch ({})", describe(&other))),
                }
                let ok = matches!(health::probe(inst.port, path).await, Ok(code) if health::healthy(code));
                let n = failures.len();
                let slot = &mut failures[inst.replica as usize % n];
                *slot = if ok { 0 } else { *slot + 1 };
                if *slot >= 2 {
                    return Err(format!("the new version stopped answering its health check (GET {path}) right after the switch"));
                }
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(());
            }
            tokio::time::sleep((deadline - now).min(Duration::from_millis(500))).await;
        }
    }

    /// The new version failed right after the switch: the previous one (drained, not yet stopped)
    /// takes the traffic back, and the deployment is failed.
    async fn revert_to(&self, ctx: &mut Ctx<'_>, old: Option<Arc<Route>>, why: String) -> StepResult {
        let id = ctx.dep.id;
        ctx.log.info(&format!("{why}"));
        match old {
            Some(old) if self.store.revert_live(id, old.deployment_id, &why).await.map_err(internal)? => {
                let back = Route::new(ctx.app.slug.clone(), old.deployment_id, old.target.clone());
                if self.routes.switch_if_live(id, back) {
                    ctx.log.info(&format!("the previous version (deployment {}) takes the traffic back", old.deployment_id));
                }
            }
            _ => {
                // nothing to go back to: the version stays live and its supervisor keeps restarting it
                ctx.log.info("there is no previous version to go back to; the new version stays live");
                return Ok(());
            }
        }
        self.stop_version(id).await;
        Err(StepError::Failed(why))
    }

    async fn wait_healthy(&self, ctx: &mut Ctx<'_>, inst: &Instance, port: u16) -> StepResult {
        let path = &ctx.app.health_check_path;
        let deadline = tokio::time::Instant::now() + self.settings.health_timeout;
        ctx.log.info(&format!("health check: GET {path} on port {port} (up to {}s)", self.settings.health_timeout.as_secs()));
        let mut last;
        let mut next_note = tokio::time::Instant::now() + Duration::from_secs(5);
        // poll fast at first (most apps are up within ~100 ms), then back off to 250 ms
        let mut pause = Duration::from_millis(20);
        loop {
            if let Some(why) = inst.exited() {
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

    /// Records which runtime runs the instance and its instance id (after a start or an adoption).
    pub(super) async fn record_instance(&self, inst: &Instance) -> crate::Result<()> {
        match inst.state() {
            State::Running { instance } => {
                self.store.set_instance(inst.deployment_id, inst.replica, Some((inst.kind, instance.as_str(), inst.port))).await
            }
            _ => Ok(()),
        }
    }

    /// Records the new instance each time the supervisor restarts a crashed one, and keeps the
    /// instance's health flag (for balancing across replicas) in step with its state.
    pub(super) fn record_restarts(&self, inst: &Arc<Instance>) {
        let (store, kind, id, replica, port, mut rx) = (self.store.clone(), inst.kind, inst.deployment_id, inst.replica, inst.port, inst.watch());
        let healthy = inst.healthy.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let state = rx.borrow_and_update().clone();
                healthy.store(matches!(state, State::Running { .. }), std::sync::atomic::Ordering::Relaxed);
                if let State::Running { instance } = state {
                    if let Err(e) = store.set_instance(id, replica, Some((kind, instance.as_str(), port))).await {
                        tracing::error!(deployment.id = id, error = %e, "could not record the restarted instance");
                    }
                }
            }
        });
    }

    /// Stops every instance of a version, one at a time (SIGTERM, then SIGKILL after the app's stop
    /// timeout), and forgets them.
    pub async fn stop_version(&self, deployment_id: i64) {
        let instances = self.runtime.of(deployment_id);
        if instances.is_empty() {
            return;
        }
        let grace = match self.store.deployment(deployment_id).await {
            Ok(d) => self.store.app_by_id(d.app_id).await.map(|a| a.stop_timeout()).unwrap_or(self.settings.drain_timeout),
            Err(_) => self.settings.drain_timeout,
        };
        for inst in instances {
            inst.stop(grace).await;
            self.runtime.remove(deployment_id, inst.replica);
            let _ = self.store.set_instance(deployment_id, inst.replica, None).await;
            OutputFiles::of_replica(&self.settings.run_dir(), deployment_id, inst.replica).remove();
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
            if candidates_share(&self.store, &dir).await {
                continue;
            }
            match Artifact::parse(&dir) {
                Artifact::Dir(d) if d.starts_with(self.settings.builds_dir()) => {
                    let _ = tokio::fs::remove_dir_all(&d).await;
                }
                Artifact::Image(tag) => self.runtime.docker().remove_image(&tag).await,
                Artifact::Dir(_) => {}
            }
        }
        if seen.iter().any(|d: &String| matches!(Artifact::parse(d), Artifact::Image(_))) {
            // dangling layers of this installation's builds
            let _ = self.runtime.docker().prune_dangling().await;
        }
        Ok(())
    }
}

/// Where the proxy sends a version's requests: its one instance, or its replicas balanced.
pub(super) fn target_of(started: &[(Arc<Instance>, u16)], sticky: bool) -> Target {
    match started {
        [(_, port)] => Target::Http(([127, 0, 0, 1], *port).into()),
        many => Target::Pool(Arc::new(Pool::new(
            many.iter().map(|(inst, port)| Backend { addr: ([127, 0, 0, 1], *port).into(), healthy: inst.healthy.clone() }).collect(),
            sticky,
        ))),
    }
}

fn describe(state: &State) -> String {
    match state {
        State::Exited(why) | State::Crashed(why) | State::Restarting(why) => why.clone(),
        State::Running { .. } => "running".into(),
        State::Stopped => "stopped".into(),
        State::Detached => "detached".into(),
    }
}

/// The health checks of an app's live instances (none when `health_interval` is zero).
pub(super) fn liveness_of(settings: &crate::Settings, app: &crate::model::App) -> Option<crate::runtime::Liveness> {
    (!settings.health_interval.is_zero()).then(|| crate::runtime::Liveness {
        path: app.health_check_path.clone(),
        interval: settings.health_interval,
        failures: settings.health_failures,
        stop_grace: app.stop_timeout(),
    })
}

/// The CPU and memory limits of an app's new versions.
pub(super) fn limits_of(app: &crate::model::App) -> crate::runtime::Limits {
    crate::runtime::Limits {
        cpu_millis: app.cpu_limit.map(|c| i64::from(c.millicores())),
        memory_mb: app.memory_limit_mb.map(i64::from),
    }
}

async fn candidates_share(store: &crate::store::Store, dir: &str) -> bool {
    store.artifact_in_use(dir).await.unwrap_or(true)
}

pub(super) fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}
