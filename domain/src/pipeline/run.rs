//! One deploy job, step by step. The deployment's status in the store is the source of truth: every
//! step starts with a conditional transition, so a cancel or a newer deploy stops it cleanly.

use wire::Stage;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio::sync::watch;

use super::build::{pid_file, run, user_command, Step, StepError, StepResult};
use super::git;
use crate::detect::{self, BuildPlan, DirView, Overrides};
use crate::error::Result;
use crate::logs::{deploy_channel, LogSink};
use crate::model::{App, Deployment, DeploymentStatus as S};
use crate::runtime::docker::{image_tag, BuildError, DockerfileSource, ImageBuild};
use crate::types::RuntimeKind;
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
        let went_live = outcome.is_ok();
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
        // a version that went live keeps its build even when a newer one superseded it meanwhile
        // (during this deployment's drain): it is a rollback target
        if !went_live && !matches!(self.store.deployment(id).await?.status, S::Live) {
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
        Sandbox::new(uid, home, &app.slug, deployment_id, env).confined_to(&self.settings.app_dir(&app.slug), &[&self.settings.tools_dir()])
    }

    /// Records where the pipeline is (for the progress the dashboard shows).
    pub(super) async fn stage(&self, id: i64, stage: Stage) {
        if let Err(e) = self.store.set_stage(id, stage).await {
            tracing::warn!(deployment.id = id, stage = stage.as_str(), error = %e, "recording the stage failed");
        }
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
        // a build waits (still `pending`, queued) for one of the build slots; a rollback builds nothing
        let slot = match ctx.dep.rollback_of {
            Some(_) => None,
            None => Some(self.build_slot(ctx).await?),
        };
        self.step(id, S::Pending, S::Building).await?;
        let built = match ctx.dep.rollback_of {
            Some(target) => self.reuse_build(ctx, target).await?,
            None => self.build(ctx).await?,
        };
        // the slot goes once the build phase is recorded as over, so the next build's `building`
        // never comes before this one's `deploying`
        self.step(id, S::Building, S::Deploying).await?;
        drop(slot);
        self.release(ctx, &built).await
    }

    /// Waits for a build slot (see `queue.rs`), saying how many deployments are ahead.
    async fn build_slot(&self, ctx: &mut Ctx<'_>) -> StepResult<super::queue::Ticket> {
        let ticket = self.pipeline.builds.join(ctx.dep.id);
        let ahead = ticket.ahead();
        if ahead > 0 {
            ctx.log.info(&format!("waiting for a build slot ({ahead} ahead)"));
        }
        tokio::select! {
            _ = ticket.slot() => Ok(ticket),
            _ = super::build::cancelled(&mut ctx.cancel) => Err(StepError::Cancelled),
        }
    }

    async fn build(&self, ctx: &mut Ctx<'_>) -> StepResult<Built> {
        let (app, id, log) = (ctx.app, ctx.dep.id, ctx.log);
        let started = Instant::now();
        let checkout = self.settings.checkout_dir(&app.slug, id);
        self.check_repo_source(&app.repo_url).await.map_err(|e| StepError::Failed(e.to_string()))?;
        self.stage(id, Stage::Clone).await;
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
        self.store.set_commit(id, &head.sha, &head.author, &head.message).await.map_err(internal)?;
        self.stage(id, Stage::Build).await;
        log.info(&format!("commit {} {}", &head.sha[..head.sha.len().min(12)], head.message));
        let workdir = checkout.join(&app.root_dir);
        if !workdir.is_dir() {
            return Err(StepError::Failed(format!("root directory {:?} does not exist in the repository", app.root_dir)));
        }
        if !inside(&workdir, &checkout) {
            return Err(StepError::Failed(format!("root directory {:?} leads outside the repository (a symlink?)", app.root_dir)));
        }
        if app.runtime == RuntimeKind::Docker {
            return self.build_image(ctx, &checkout, &workdir, started).await;
        }
        // an app whose root directory is a package of a Node workspace is detected from the workspace
        // root (its lockfile, its build tool); the plan's commands still run in the package
        let workspace = detect::workspace_of(&DirView::new(&checkout), &app.root_dir);
        let view_root = match &workspace {
            Some((root, _)) => checkout.join(root),
            None => workdir.clone(),
        };
        let overrides = Overrides {
            build_command: app.build_command.clone(),
            start_command: app.start_command.clone(),
            package: workspace.map(|(_, package)| package),
            commands_at_root: false,
        };
        let mut plan = detect::detect(&DirView::new(&view_root), &overrides).map_err(|e| StepError::Failed(e.to_string()))?;
        log_plan(log, &plan);
        let tools = super::toolchain::prepare(&plan, &workdir, &ctx.sandbox, &self.settings.tools_dir(), log).await.map_err(StepError::Failed)?;
        plan.path.extend(tools);
        let sandbox = ctx.sandbox.with_path(&plan.path, &workdir);
        for step in &plan.build {
            log.info(&format!("$ {step}"));
            let cmd = user_command(step, &workdir, &sandbox);
            run(cmd, "build step", &mut ctx.step()).await?;
        }
        if let Some(release) = &plan.release {
            // once per deploy, before anything of the new version starts: the old one keeps serving if it fails
            log.info(&format!("release step: $ {release}"));
            let cmd = user_command(release, &workdir, &sandbox);
            run(cmd, "release step", &mut ctx.step()).await?;
        }
        let build_ms = started.elapsed().as_millis() as i64;
        let plan_json = serde_json::to_string(&plan).map_err(internal)?;
        self.store.set_build(id, &plan_json, &checkout.to_string_lossy(), build_ms).await.map_err(internal)?;
        log.info(&format!("build finished in {:.1}s", build_ms as f64 / 1000.0));
        Ok(Built { plan, workdir, image: None })
    }

    /// The docker runtime's build: an image `rhone/{slug}:{deployment}` from the repository's
    /// Dockerfile (the app's `dockerfile_path`, else `Dockerfile` in its root directory) or from one
    /// generated from the detected plan. The checkout is deleted once the image exists.
    async fn build_image(&self, ctx: &mut Ctx<'_>, checkout: &Path, workdir: &Path, started: Instant) -> StepResult<Built> {
        let (app, id, log) = (ctx.app, ctx.dep.id, ctx.log);
        // a package of a Node workspace: the image is built from the workspace root, its commands run there
        let workspace = detect::workspace_of(&DirView::new(checkout), &app.root_dir);
        let overrides = Overrides {
            build_command: app.build_command.clone(),
            start_command: app.start_command.clone(),
            package: workspace.as_ref().map(|(_, package)| package.clone()),
            commands_at_root: true,
        };
        let generated_context = match &workspace {
            Some((root, _)) => checkout.join(root),
            None => workdir.to_path_buf(),
        };
        let (context, source, plan) = match &app.dockerfile_path {
            Some(path) => {
                let file = checkout.join(path);
                if !file.is_file() || !inside(&file, checkout) {
                    return Err(StepError::Failed(format!("the Dockerfile {path:?} does not exist in the repository (dockerfile_path)")));
                }
                log.info(&format!("building the image from the repository's {path}"));
                (checkout.to_path_buf(), DockerfileSource::Repo(path.clone()), dockerfile_plan())
            }
            None if workdir.join("Dockerfile").is_file() && inside(&workdir.join("Dockerfile"), checkout) => {
                log.info("building the image from the repository's Dockerfile");
                (workdir.to_path_buf(), DockerfileSource::Repo("Dockerfile".into()), dockerfile_plan())
            }
            None => {
                let view = DirView::new(&generated_context);
                let plan = detect::detect(&view, &overrides).map_err(|e| StepError::Failed(e.to_string()))?;
                log_plan(log, &plan);
                if plan.start.is_none() && plan.static_root.is_some() && plan.build.is_empty() {
                    // a static site is served by Rhone itself on every runtime: no image needed
                    let plan_json = serde_json::to_string(&plan).map_err(internal)?;
                    let build_ms = started.elapsed().as_millis() as i64;
                    self.store.set_build(id, &plan_json, &checkout.to_string_lossy(), build_ms).await.map_err(internal)?;
                    return Ok(Built { plan, workdir: generated_context.clone(), image: None });
                }
                let text = crate::detect::dockerfile::dockerfile(&plan, &view, &self.settings.docker_base_images)
                    .map_err(|e| StepError::Failed(e.to_string()))?;
                log.info("building the image from a Dockerfile generated from the detected plan (`rhone plan --dockerfile` prints it)");
                (generated_context.clone(), DockerfileSource::Generated(text), plan)
            }
        };
        let tag = image_tag(&app.slug, id);
        let build = ImageBuild { context: &context, dockerfile: source, tag: &tag, app_slug: &app.slug, deployment_id: id, log };
        match self.runtime.docker().build_image(build, &mut ctx.cancel).await {
            Ok(()) => {}
            Err(BuildError::Cancelled) => return Err(StepError::Cancelled),
            Err(BuildError::Failed(msg)) => return Err(StepError::Failed(msg)),
        }
        if let Some(release) = &plan.release {
            // once per deploy, in a container of the new image, before any instance of it starts
            log.info(&format!("release step: $ {release}"));
            let run = self.runtime.docker().run_once(&tag, release, &ctx.sandbox.env, (&app.slug, id), log, &mut ctx.cancel).await;
            match run {
                Ok(()) => {}
                Err(BuildError::Cancelled) => return Err(StepError::Cancelled),
                Err(BuildError::Failed(msg)) => {
                    self.runtime.docker().remove_image(&tag).await;
                    return Err(StepError::Failed(msg));
                }
            }
        }
        let build_ms = started.elapsed().as_millis() as i64;
        let plan_json = serde_json::to_string(&plan).map_err(internal)?;
        self.store.set_build(id, &plan_json, &Artifact::Image(tag.clone()).to_string(), build_ms).await.map_err(internal)?;
        let _ = tokio::fs::remove_dir_all(checkout).await;
        log.info(&format!("image {tag} built in {:.1}s", build_ms as f64 / 1000.0));
        Ok(Built { plan, workdir: workdir.to_path_buf(), image: Some(tag) })
    }

    async fn reuse_build(&self, ctx: &mut Ctx<'_>, target: i64) -> StepResult<Built> {
        let release = self.store.release(target).await.map_err(internal)?;
        let from = self.store.deployment(target).await.map_err(internal)?;
        let (Some(plan), Some(dir)) = (release.plan, release.artifact_dir) else {
            return Err(StepError::Failed(format!("the build of deployment {target} is no longer kept")));
        };
        let plan: BuildPlan = serde_json::from_str(&plan).map_err(internal)?;
        ctx.log.info(&format!("rolling back to the build of deployment {target} (no rebuild)"));
        self.store.set_commit(ctx.dep.id, from.commit_sha.as_deref().unwrap_or(""), from.commit_author.as_deref().unwrap_or(""), from.commit_message.as_deref().unwrap_or("")).await.map_err(internal)?;
        let plan_json = serde_json::to_string(&plan).map_err(internal)?;
        self.store.set_build(ctx.dep.id, &plan_json, &dir, 0).await.map_err(internal)?;
        match Artifact::parse(&dir) {
            Artifact::Image(tag) => {
                if !self.runtime.docker().image_exists(&tag).await {
                    return Err(StepError::Failed(format!("the image {tag} of deployment {target} is no longer on the Docker engine")));
                }
                Ok(Built { plan, workdir: PathBuf::new(), image: Some(tag) })
            }
            Artifact::Dir(d) => Ok(Built { plan, workdir: d.join(&ctx.app.root_dir), image: None }),
        }
    }

    /// Deletes the checkout of a deployment that did not go live (never a reused rollback build).
    async fn discard_build(&self, id: i64, owns_dir: bool) {
        let dir = self.settings.builds_dir();
        let _ = std::fs::remove_file(pid_file(&self.settings.run_dir(), id));
        let Ok(rel) = self.store.release(id).await else { return };
        if let (true, Some(a)) = (owns_dir, rel.artifact_dir) {
            match Artifact::parse(&a) {
                Artifact::Dir(d) if d.starts_with(&dir) => {
                    let _ = tokio::fs::remove_dir_all(&d).await;
                }
                Artifact::Image(tag) => {
                    self.runtime.docker().remove_image(&tag).await;
                }
                Artifact::Dir(_) => {}
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

/// The detected plan in the build log: who decided, and why.
fn log_plan(log: &crate::logs::LogSink, plan: &BuildPlan) {
    log.info(&format!("detected {}", plan.provider.name()));
    for reason in &plan.reasons {
        log.info(&format!("  {reason}"));
    }
}

/// What a deployment's build produced, ready to start.
pub(super) struct Built {
    pub plan: BuildPlan,
    /// The app's root directory inside the kept checkout (process runtime).
    pub workdir: PathBuf,
    /// The image (docker runtime).
    pub image: Option<String>,
}

/// The plan recorded for an image built from the repository's own Dockerfile: the image's command
/// starts it.
fn dockerfile_plan() -> BuildPlan {
    BuildPlan::new(detect::Provider::Dockerfile, vec![], None, None)
}

/// A kept build as recorded in the store: a checkout directory, or an image (`docker-image:<tag>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Artifact {
    Dir(PathBuf),
    Image(String),
}

impl Artifact {
    const IMAGE: &'static str = "docker-image:";

    pub fn parse(s: &str) -> Artifact {
        match s.strip_prefix(Self::IMAGE) {
            Some(tag) => Artifact::Image(tag.to_string()),
            None => Artifact::Dir(PathBuf::from(s)),
        }
    }
}

impl std::fmt::Display for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Artifact::Dir(d) => write!(f, "{}", d.display()),
            Artifact::Image(t) => write!(f, "{}{t}", Self::IMAGE),
        }
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
