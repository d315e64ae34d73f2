//! One deploy job, step by step. The deployment's status in the store is the source of truth: every
//! step starts with a conditional transition, so a cancel or a newer deploy stops it cleanly.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::watch;

use super::build::{pid_file, run, user_command, Step, StepError, StepResult};
use super::git;
use crate::detect::{self, BuildPlan, DirView, Overrides};
use crate::error::Result;
use crate::logs::{deploy_channel, LogSink};
use crate::model::{App, Deployment, DeploymentStatus as S};
use crate::runtime::sandbox::{give_tree, own_dir, Sandbox};
use crate::Services;

pub(super) struct Ctx<'a> {
    pub app: &'a App,
    pub dep: &'a Deployment,
    pub env: &'a [(String, String)],
    pub log: &'a LogSink,
    pub cancel: watch::Receiver<bool>,
    /// Who the app's build steps and processes run as, and what environment they get.
    pub sandbox: Sandbox,
    pub pid_file: PathBuf,
}

impl Ctx<'_> {
    pub fn step(&mut self) -> Step<'_> {
        Step { log: self.log, cancel: &mut self.cancel, pid_file: &self.pid_file }
    }
}

impl Services {
    pub(crate) async fn run_deploy(&self, id: i64) -> Result<()> {
        let dep = self.store.deployment(id).await?;
        if dep.status != S::Pending {
            return Ok(()); // superseded or cancelled while queued
        }
        let app = self.store.app_by_id(dep.app_id).await?;
        let env = self.env_plain(app.id).await?;
        let mut secrets: Vec<String> = env.iter().map(|(_, v)| v.clone()).collect();
        secrets.extend(self.credential_redactions(app.id).await);
        let log = self.logs.open(&deploy_channel(id), secrets).await;
        let sandbox = match self.sandbox_for(&app, id, &env) {
            Ok(s) => s,
            Err(e) => {
                let msg = e.to_string();
                self.store.transition(id, &[S::Pending], S::Failed, Some(&msg)).await?;
                log.info(&format!("deployment failed: {msg}"));
                self.pipeline.forget(id);
                log.end();
                return Ok(());
            }
        };
        let pid_file = pid_file(&self.settings.run_dir(), id);
        let mut ctx = Ctx { app: &app, dep: &dep, env: &env, log: &log, cancel: self.pipeline.cancel_signal(id), sandbox, pid_file };
        let started = Instant::now();
        let outcome = self.deploy_steps(&mut ctx).await;
        match outcome {
            Ok(()) => {
                log.info(&format!("deployment is live ({:.1}s)", started.elapsed().as_secs_f64()));
                tracing::info!(app.slug = %app.slug, deployment.id = id, "deployment live");
            }
            Err(StepError::Cancelled) => {
                let now = self.store.deployment(id).await.map(|d| d.status.as_str()).unwrap_or("cancelled");
                log.info(&format!("deployment stopped: {now}"));
            }
            Err(StepError::Failed(msg)) => {
                self.store.transition(id, &[S::Pending, S::Building, S::Deploying], S::Failed, Some(&msg)).await?;
                log.info(&format!("deployment failed: {msg}"));
                tracing::info!(app.slug = %app.slug, deployment.id = id, reason = %msg, "deployment failed");
            }
        }
        if !matches!(self.store.deployment(id).await?.status, S::Live) {
            self.discard_build(id, dep.rollback_of.is_none()).await;
        }
        self.pipeline.forget(id);
        log.end();
        Ok(())
    }

    /// The app's identity and environment; creates its directories (0700, owned by its uid).
    pub(super) fn sandbox_for(&self, app: &App, deployment_id: i64, env: &[(String, String)]) -> crate::Result<Sandbox> {
        let uid = self.settings.isolation.identity(app.id)?;
        own_dir(&self.settings.app_dir(&app.slug), uid)?;
        own_dir(&self.settings.app_dir(&app.slug).join("builds"), uid)?;
        let home = self.settings.app_home(&app.slug);
        own_dir(&home, uid)?;
        own_dir(&self.settings.app_dir(&app.slug).join("tmp"), uid)?;
        Sandbox::new(uid, home, &app.slug, deployment_id, env).confined_to(&self.settings.app_dir(&app.slug))
    }

    async fn step(&self, id: i64, from: S, to: S) -> StepResult {
        match self.store.transition(id, &[from], to, None).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(StepError::Cancelled),
            Err(e) => Err(internal(e)),
        }
    }

    async fn deploy_steps(&self, ctx: &mut Ctx<'_>) -> StepResult {
        let id = ctx.dep.id;
        self.step(id, S::Pending, S::Building).await?;
        let (plan, workdir) = match ctx.dep.rollback_of {
            Some(target) => self.reuse_build(ctx, target).await?,
            None => self.build(ctx).await?,
        };
        self.step(id, S::Building, S::Deploying).await?;
        self.release(ctx, &plan, &workdir).await
    }

    async fn build(&self, ctx: &mut Ctx<'_>) -> StepResult<(BuildPlan, PathBuf)> {
        let (app, id, log) = (ctx.app, ctx.dep.id, ctx.log);
        let started = Instant::now();
        let checkout = self.settings.checkout_dir(&app.slug, id);
        self.check_repo_source(&app.repo_url).await.map_err(|e| StepError::Failed(e.to_string()))?;
        log.info(&format!("cloning {} at {}", app.repo_url, ctx.dep.git_ref));
        let git_home = self.settings.run_dir();
        let auth = self.git_auth(app).await.map_err(|e| match e {
            crate::Error::Internal(detail) => internal(detail),
            e => StepError::Failed(e.to_string()),
        })?;
        let head = git::fetch(&app.repo_url, &ctx.dep.git_ref, &checkout, &git_home, auth.env(), &mut ctx.step()).await;
        drop(auth); // a deploy key's temporary file goes right after the fetch
        let head = head?;
        if let Some(uid) = ctx.sandbox.uid {
            give_tree(&checkout, uid).map_err(internal)?;
        }
        self.store.set_commit(id, &head.sha, &head.message).await.map_err(internal)?;
        log.info(&format!("commit {} {}", &head.sha[..head.sha.len().min(12)], head.message));
        let workdir = checkout.join(&app.root_dir);
        if !workdir.is_dir() {
            return Err(StepError::Failed(format!("root directory {:?} does not exist in the repository", app.root_dir)));
        }
        if !inside(&workdir, &checkout) {
            return Err(StepError::Failed(format!("root directory {:?} leads outside the repository (a symlink?)", app.root_dir)));
        }
        let overrides = Overrides { build_command: app.build_command.clone(), start_command: app.start_command.clone() };
        let plan = detect::detect(&DirView::new(&workdir), &overrides).map_err(|e| StepError::Failed(e.to_string()))?;
        log.info(&format!("detected {}", plan.provider.name()));
        for step in &plan.build {
            log.info(&format!("$ {step}"));
            let cmd = user_command(step, &workdir, &ctx.sandbox);
            run(cmd, "build step", &mut ctx.step()).await?;
        }
        let build_ms = started.elapsed().as_millis() as i64;
        let plan_json = serde_json::to_string(&plan).map_err(internal)?;
        self.store.set_build(id, &plan_json, &checkout.to_string_lossy(), build_ms).await.map_err(internal)?;
        log.info(&format!("build finished in {:.1}s", build_ms as f64 / 1000.0));
        Ok((plan, workdir))
    }

    async fn reuse_build(&self, ctx: &mut Ctx<'_>, target: i64) -> StepResult<(BuildPlan, PathBuf)> {
        let release = self.store.release(target).await.map_err(internal)?;
        let from = self.store.deployment(target).await.map_err(internal)?;
        let (Some(plan), Some(dir)) = (release.plan, release.artifact_dir) else {
            return Err(StepError::Failed(format!("the build of deployment {target} is no longer kept")));
        };
        let plan: BuildPlan = serde_json::from_str(&plan).map_err(internal)?;
        ctx.log.info(&format!("rolling back to the build of deployment {target} (no rebuild)"));
        self.store.set_commit(ctx.dep.id, from.commit_sha.as_deref().unwrap_or(""), from.commit_message.as_deref().unwrap_or("")).await.map_err(internal)?;
        let plan_json = serde_json::to_string(&plan).map_err(internal)?;
        self.store.set_build(ctx.dep.id, &plan_json, &dir, 0).await.map_err(internal)?;
        Ok((plan, Path::new(&dir).join(&ctx.app.root_dir)))
    }

    /// Deletes the checkout of a deployment that did not go live (never a reused rollback build).
    async fn discard_build(&self, id: i64, owns_dir: bool) {
        let dir = self.settings.builds_dir();
        let _ = std::fs::remove_file(pid_file(&self.settings.run_dir(), id));
        let Ok(rel) = self.store.release(id).await else { return };
        if let (true, Some(a)) = (owns_dir, rel.artifact_dir) {
            if Path::new(&a).starts_with(&dir) {
                let _ = tokio::fs::remove_dir_all(&a).await;
            }
        }
        if owns_dir {
            if let Ok(d) = self.store.deployment(id).await {
                let _ = tokio::fs::remove_dir_all(self.settings.checkout_dir(&d.app_slug, id)).await;
            }
        }
        let _ = self.store.clear_artifact(id).await;
    }
}

/// True when `path`, with every symlink resolved, is `root` or inside it.
pub(super) fn inside(path: &Path, root: &Path) -> bool {
    match (std::fs::canonicalize(path), std::fs::canonicalize(root)) {
        (Ok(p), Ok(r)) => p.starts_with(r),
        _ => false,
    }
}

pub(super) fn internal(e: impl std::fmt::Display) -> StepError {
    tracing::error!(error = %e, "deploy step failed internally");
    StepError::Failed("internal error in Rhone (see the server log)".to_string())
}
