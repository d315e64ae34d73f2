//! Runtimes run built versions of apps. The pipeline and recovery drive every runtime through one
//! shape — [`Runtimes`]: start a version with `PORT` + env, watch its [`State`], check its listener,
//! stop it with drain, adopt or stop a recorded instance after a restart — and never look inside an
//! [`InstanceId`]. Two runtimes implement [`Driver`]: native processes (`process.rs`) and containers
//! on a Docker engine (`docker.rs`). The supervisor (`supervisor.rs`) is shared: restarts with
//! backoff, `crashed` after repeated failures, stop, detach.

pub mod docker;
pub mod engine;
pub mod landlock;
pub mod output;
pub mod ports;
pub mod process;
pub mod sandbox;
pub mod supervisor;
pub mod sys;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use docker::DockerRuntime;
pub use process::ProcessRuntime;
pub use supervisor::{Instance, State};

use crate::error::{Error, Result};
use crate::logs::LogSink;
use output::OutputFiles;
use sandbox::Sandbox;

/// A runtime's own handle on one running version, recorded per deployment and opaque to the pipeline
/// and recovery (`pid:start-time` for a native process; a container id for a container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceId(String);

impl InstanceId {
    pub fn new(id: impl Into<String>) -> InstanceId {
        InstanceId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// CPU and memory limits of a version (applied by runtimes that can: containers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub cpu_millis: Option<i64>,
    pub memory_mb: Option<i64>,
}

/// Everything a runtime needs to start one version.
pub struct StartSpec {
    pub deployment_id: i64,
    /// Which instance of the version (0 to replicas - 1).
    pub replica: u32,
    pub app_slug: String,
    /// The build: the checkout directory (process) — containers run `image` instead.
    pub dir: PathBuf,
    /// The start command (`sh -c`); for a container, `None` runs the image's own command.
    pub command: Option<String>,
    /// The image of a container version (`rhone/{slug}:{deployment}`).
    pub image: Option<String>,
    pub sandbox: Sandbox,
    pub port: u16,
    pub limits: Limits,
    /// Where a process's stdout/stderr files live.
    pub output: OutputFiles,
    /// The app's runtime log.
    pub log: LogSink,
    /// The deployment's log, which also gets the output until the version goes live.
    pub deploy_log: Option<LogSink>,
    /// Health checks while live (none: only an exit counts as a crash).
    pub liveness: Option<Liveness>,
}

/// Health checks of a live instance: `GET path` on its port every `interval`; after `failures`
/// failed checks in a row it is stopped and restarted like a crashed one (same backoff and limit).
#[derive(Debug, Clone)]
pub struct Liveness {
    pub path: String,
    pub interval: Duration,
    pub failures: u32,
    /// How long the stopped instance gets between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
}

/// One incarnation of a version: a process group, a container. A restart is a new incarnation.
pub trait Incarnation: Send {
    fn id(&self) -> InstanceId;
    /// Resolves when it ended, with how ("exited with status 1").
    fn wait(&mut self) -> BoxFuture<'_, String>;
    /// After it ended: removes what is left of it (the group's stragglers, the container).
    fn cleanup(&mut self) -> BoxFuture<'_, ()>;
    /// Graceful stop (SIGTERM), forced (SIGKILL) after `grace`; resolves when it is gone.
    fn terminate(&mut self, grace: Duration) -> BoxFuture<'_, ()>;
    /// Stops following it, leaving it running.
    fn detach(&mut self);
}

/// A runtime: how to launch, re-attach to, inspect and stop incarnations.
pub trait Driver: Send + Sync + 'static {
    /// The name recorded for versions this runtime runs (`process`, `docker`).
    fn kind(&self) -> &'static str;
    /// `live` flips to true when the version goes live (its output then stops going to the deploy log).
    fn launch<'a>(&'a self, spec: &'a StartSpec, live: &'a watch::Receiver<bool>) -> BoxFuture<'a, Result<Box<dyn Incarnation>>>;
    /// The recorded instance, if it still runs (the same process or container).
    fn reattach<'a>(&'a self, spec: &'a StartSpec, id: &'a InstanceId, live: &'a watch::Receiver<bool>) -> BoxFuture<'a, Option<Box<dyn Incarnation>>>;
    /// Stops a recorded instance that is not live any more; true if there was one.
    fn stop_leftover<'a>(&'a self, id: &'a InstanceId) -> BoxFuture<'a, bool>;
    /// Checks that the socket listening on `port` belongs to the instance.
    fn check_listener(&self, id: &InstanceId, port: u16) -> Result<(), String>;
    /// Follows the version's output for its whole life (all incarnations), if the runtime keeps it
    /// outside the incarnations; stops after `done`.
    fn follow(&self, spec: &StartSpec, live: watch::Receiver<bool>, done: watch::Receiver<bool>) -> Vec<JoinHandle<()>>;
}

/// Every runtime of this installation and the versions they run now.
#[derive(Clone)]
pub struct Runtimes {
    process: Arc<ProcessRuntime>,
    docker: Arc<DockerRuntime>,
    instances: Arc<Mutex<HashMap<(i64, u32), Arc<Instance>>>>,
    /// The first crash restart's delay (doubles per consecutive crash).
    crash_backoff: Duration,
}

impl Runtimes {
    pub fn new(docker: DockerRuntime) -> Runtimes {
        Runtimes { process: Arc::new(ProcessRuntime), docker: Arc::new(docker), instances: Arc::default(), crash_backoff: supervisor::CRASH_BACKOFF }
    }

    /// Sets the first crash restart's delay (default [`supervisor::CRASH_BACKOFF`]).
    pub fn with_crash_backoff(mut self, base: Duration) -> Runtimes {
        self.crash_backoff = base;
        self
    }

    pub fn docker(&self) -> &DockerRuntime {
        &self.docker
    }

    fn driver(&self, kind: &str) -> Result<Arc<dyn Driver>> {
        match kind {
            "process" => Ok(self.process.clone()),
            "docker" => Ok(self.docker.clone()),
            other => Err(Error::invalid("runtime", format!("unknown runtime {other:?}"))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(i64, u32), Arc<Instance>>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a version on the runtime `kind`.
    pub async fn start(&self, kind: &str, spec: StartSpec) -> Result<Arc<Instance>> {
        let driver = self.driver(kind)?;
        let (live_tx, live_rx) = watch::channel(false);
        let first = driver.launch(&spec, &live_rx).await?;
        let id = (spec.deployment_id, spec.replica);
        let inst = supervisor::supervise(driver, spec, first, live_tx, self.crash_backoff);
        self.lock().insert(id, inst.clone());
        Ok(inst)
    }

    /// Takes over an instance started by an earlier run of Rhone, if it still runs. It is live.
    pub async fn adopt(&self, kind: &str, spec: StartSpec, instance: &InstanceId) -> Option<Arc<Instance>> {
        let driver = self.driver(kind).ok()?;
        let (live_tx, live_rx) = watch::channel(true);
        let found = driver.reattach(&spec, instance, &live_rx).await?;
        let id = (spec.deployment_id, spec.replica);
        let inst = supervisor::supervise(driver, spec, found, live_tx, self.crash_backoff);
        self.lock().insert(id, inst.clone());
        Some(inst)
    }

    /// Stops an instance left over from before a restart (a version that was starting or draining).
    pub async fn stop_leftover(&self, kind: &str, instance: &InstanceId) -> bool {
        match self.driver(kind) {
            Ok(d) => d.stop_leftover(instance).await,
            Err(_) => false,
        }
    }

    /// The instances of a version, in replica order.
    pub fn of(&self, deployment_id: i64) -> Vec<Arc<Instance>> {
        let mut v: Vec<Arc<Instance>> = self.lock().iter().filter(|((d, _), _)| *d == deployment_id).map(|(_, i)| i.clone()).collect();
        v.sort_by_key(|i| i.replica);
        v
    }

    pub fn get(&self, deployment_id: i64, replica: u32) -> Option<Arc<Instance>> {
        self.lock().get(&(deployment_id, replica)).cloned()
    }

    /// Forgets an instance (its owner calls this after `stop`).
    pub fn remove(&self, deployment_id: i64, replica: u32) {
        self.lock().remove(&(deployment_id, replica));
    }

    pub fn all(&self) -> Vec<Arc<Instance>> {
        self.lock().values().cloned().collect()
    }

    /// Lets go of every instance, leaving them running (Rhone is shutting down).
    pub async fn detach_all(&self) {
        let all: Vec<_> = self.lock().drain().map(|(_, i)| i).collect();
        futures::future::join_all(all.iter().map(|i| i.detach())).await;
    }
}
