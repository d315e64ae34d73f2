//! Containers on a Docker engine, through its API (bollard; the API version is negotiated, Debian's
//! engine speaks 1.41). A version is an image `rhone/{slug}:{deployment}` built from the repository's
//! Dockerfile or one generated from the build plan, and runs as containers labelled with the
//! installation, app and deployment. Env vars go through the API (no file on the host); the port is
//! published on 127.0.0.1 only (bridge) or the container shares the host's network (host, for tests);
//! CPU and memory limits are applied per container; Docker never restarts anything (Rhone does).
//!
//! Exits are learnt from the engine's event stream (one subscription for the installation, no
//! polling). Containers keep running while Rhone is down; Rhone re-attaches to them by id, and removes
//! its strays (containers of versions that never went live).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum};
use bollard::query_parameters as q;
use bollard::Docker;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::sync::{watch, OnceCell};
use tokio::task::JoinHandle;

use super::output::{send_line, Sinks};
use super::ports::{port_owner, PortOwner};
use super::{Driver, Incarnation, InstanceId, StartSpec};
use crate::error::{Error, Result};
use crate::logs::LogSink;

pub const LABEL_INSTALLATION: &str = "rhone.installation";
pub const LABEL_APP: &str = "rhone.app";
pub const LABEL_DEPLOYMENT: &str = "rhone.deployment";

/// How containers reach the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    /// The default bridge, with the app's port published on 127.0.0.1 only (real installs).
    Bridge,
    /// The host's network: the app listens on the 127.0.0.1 port Rhone assigns (tests here).
    Host,
}

impl NetworkMode {
    pub fn parse(s: &str) -> Result<NetworkMode> {
        match s.trim() {
            "bridge" => Ok(NetworkMode::Bridge),
            "host" => Ok(NetworkMode::Host),
            other => Err(Error::invalid("docker_network", format!("{other:?} is not a network mode (bridge or host)"))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DockerSettings {
    /// `unix:///path` or a plain socket path; `None`: `/var/run/docker.sock`.
    pub host: Option<String>,
    pub network: NetworkMode,
    /// Labels every container and image, so cleanup never touches what is not ours.
    pub installation: String,
    /// CPU and memory caps of one image build.
    pub build_cpu_millis: Option<i64>,
    pub build_memory_mb: Option<i64>,
}

impl DockerSettings {
}

type Exits = Arc<Mutex<HashMap<String, watch::Sender<Option<String>>>>>;

pub struct DockerRuntime {
    settings: DockerSettings,
    client: OnceCell<Docker>,
    /// Containers being watched: their id → how they ended (set by the event follower).
    exits: Exits,
    /// Host pid of each running container's init (for the listener check in host network mode).
    pids: Arc<Mutex<HashMap<String, i32>>>,
}

fn api(context: &str, e: bollard::errors::Error) -> Error {
    Error::internal(context, e)
}

impl DockerRuntime {
    pub fn new(settings: DockerSettings) -> DockerRuntime {
        DockerRuntime { settings, client: OnceCell::new(), exits: Arc::default(), pids: Arc::default() }
    }

    pub fn settings(&self) -> &DockerSettings {
        &self.settings
    }

    /// The engine client: connected and version-negotiated on first use; starts the event follower.
    async fn client(&self) -> Result<&Docker> {
        self.client
            .get_or_try_init(|| async {
                let addr = self.settings.host.clone().unwrap_or_else(|| super::engine::DEFAULT_SOCKET.to_string());
                let unavailable = |e: &dyn std::fmt::Display| {
                    Error::invalid("runtime", format!("the docker runtime is not available: no Docker engine answers at {addr} ({e})"))
                };
                let docker = match super::engine::EngineAddr::parse(self.settings.host.as_deref()) {
                    Some(super::engine::EngineAddr::Unix(path)) => {
                        Docker::connect_with_unix(&path.to_string_lossy(), 600, bollard::API_DEFAULT_VERSION)
                    }
                    Some(super::engine::EngineAddr::Tcp(hostport)) => {
                        Docker::connect_with_http(&format!("http://{hostport}"), 600, bollard::API_DEFAULT_VERSION)
                    }
                    None => return Err(unavailable(&"not a docker_host address")),
                }
                .map_err(|e| unavailable(&e))?;
                let docker = tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version())
                    .await
                    .map_err(|e| unavailable(&e))?
                    .map_err(|e| unavailable(&e))?;
                tokio::spawn(follow_events(docker.clone(), self.settings.installation.clone(), self.exits.clone()));
                Ok(docker)
            })
            .await
    }

    /// True when an engine answers.
    pub async fn available(&self) -> bool {
        match self.client().await {
            Ok(d) => d.ping().await.is_ok(),
            Err(_) => false,
        }
    }

    fn labels(&self, app_slug: &str, deployment_id: i64) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_INSTALLATION.to_string(), self.settings.installation.clone()),
            (LABEL_APP.to_string(), app_slug.to_string()),
            (LABEL_DEPLOYMENT.to_string(), deployment_id.to_string()),
        ])
    }

    /// Builds `tag` from `context` (a tar of it is sent to the engine; symlinks are sent as links,
    /// never followed; `.git` is left out), streaming every build line into `log`. A cancel aborts
    /// the build (the engine stops when the request goes away).
    pub async fn build_image(&self, b: ImageBuild<'_>, cancel: &mut watch::Receiver<bool>) -> std::result::Result<(), BuildError> {
        let docker = self.client().await.map_err(|e| BuildError::Failed(e.to_string()))?;
        let context = b.context.to_path_buf();
        let (dockerfile_name, generated) = match &b.dockerfile {
            DockerfileSource::Repo(path) => (path.clone(), None),
            DockerfileSource::Generated(text) => (GENERATED_DOCKERFILE.to_string(), Some(text.clone())),
        };
        let tar = tokio::task::spawn_blocking(move || context_tar(&context, generated.as_deref()))
            .await
            .map_err(|e| BuildError::Failed(format!("could not pack the build context: {e}")))?
            .map_err(|e| BuildError::Failed(format!("could not pack the build context: {e}")))?;
        b.log.info(&format!("sending the build context to Docker ({:.1} MB)", tar.len() as f64 / 1e6));
        let labels = self.labels(b.app_slug, b.deployment_id);
        let mut opts = q::BuildImageOptionsBuilder::default()
            .dockerfile(&dockerfile_name)
            .t(b.tag)
            .rm(true)
            .forcerm(true)
            .labels(&labels)
            .networkmode(self.settings.network.as_str());
        if let Some(mb) = self.settings.build_memory_mb {
            opts = opts.memory(i32::try_from(mb.saturating_mul(1024 * 1024)).unwrap_or(i32::MAX));
        }
        if let Some(m) = self.settings.build_cpu_millis {
            opts = opts.cpuperiod(100_000).cpuquota(i32::try_from(m.saturating_mul(100)).unwrap_or(i32::MAX));
        }
        let mut stream = docker.build_image(opts.build(), None, Some(bollard::body_full(tar.into())));
        let mut partial = String::new();
        loop {
            let item = tokio::select! {
                item = stream.next() => item,
                _ = crate::pipeline::cancelled(cancel) => return Err(BuildError::Cancelled),
            };
            let Some(item) = item else { break };
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        flush_lines(&mut partial, b.log, true);
                        return Err(BuildError::Failed(format!("the image build failed: {}", detail.trim())));
                    }
                    if let Some(text) = info.stream {
                        partial.push_str(&text);
                        flush_lines(&mut partial, b.log, false);
                    }
                }
                Err(e) => {
                    flush_lines(&mut partial, b.log, true);
                    return Err(BuildError::Failed(format!("the image build failed: {}", describe_build_error(&e))));
                }
            }
        }
        flush_lines(&mut partial, b.log, true);
        // the engine answers 200 even when it could not tag the image: check it exists
        docker.inspect_image(b.tag).await.map_err(|e| BuildError::Failed(format!("the image build did not produce {}: {e}", b.tag)))?;
        Ok(())
    }

    /// Runs `command` once in a container of `image` with `env` (the release step): its output goes
    /// to `log`, an exit status other than 0 or a cancel is an error, and the container (labelled like
    /// the version's, so a crash leaves nothing that start-up does not remove) goes either way.
    pub async fn run_once(
        &self,
        image: &str,
        command: &str,
        env: &[(String, String)],
        (app_slug, deployment_id): (&str, i64),
        log: &LogSink,
        cancel: &mut watch::Receiver<bool>,
    ) -> std::result::Result<(), BuildError> {
        let docker = self.client().await.map_err(|e| BuildError::Failed(e.to_string()))?;
        let env = container_env(env);
        let host = HostConfig {
            network_mode: Some(self.settings.network.as_str().to_string()),
            security_opt: Some(vec!["no-new-privileges".to_string()]),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            env: Some(env),
            cmd: Some(vec!["/bin/sh".to_string(), "-c".to_string(), command.to_string()]),
            labels: Some(self.labels(app_slug, deployment_id)),
            host_config: Some(host),
            ..Default::default()
        };
        let name = format!("rhone-{app_slug}-{deployment_id}-release-{}", unique());
        let failed = |what: &str, e: bollard::errors::Error| BuildError::Failed(format!("the release step {what}: {}", describe_build_error(&e)));
        let id = docker
            .create_container(Some(q::CreateContainerOptionsBuilder::default().name(&name).build()), body)
            .await
            .map_err(|e| failed("could not be created", e))?
            .id;
        let remove = |docker: Docker, id: String| async move {
            let _ = docker.remove_container(&id, Some(q::RemoveContainerOptionsBuilder::default().force(true).build())).await;
        };
        if let Err(e) = docker.start_container(&id, None).await {
            remove(docker.clone(), id).await;
            return Err(failed("could not start", e));
        }
        // its output belongs to the deployment's log only
        let sinks = Sinks { log: log.clone(), deploy_log: None, live: watch::channel(true).1 };
        let output = tokio::spawn(follow_logs(docker.clone(), id.clone(), sinks, 0));
        let mut wait = docker.wait_container(&id, None::<q::WaitContainerOptions>);
        let outcome = tokio::select! {
            r = wait.next() => match r {
                Some(Ok(_)) | None => Ok(()),
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                    Err(BuildError::Failed(format!("the release step failed with exit code {code}")))
                }
                Some(Err(e)) => Err(failed("could not be followed", e)),
            },
            _ = crate::pipeline::cancelled(cancel) => Err(BuildError::Cancelled),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), output).await;
        remove(docker.clone(), id).await;
        outcome
    }

    /// True when the image exists.
    pub async fn image_exists(&self, tag: &str) -> bool {
        match self.client().await {
            Ok(d) => d.inspect_image(tag).await.is_ok(),
            Err(_) => false,
        }
    }

    /// Removes one of this installation's images (a build that did not go live, or one beyond
    /// retention); an image without our label is left alone.
    pub async fn remove_image(&self, tag: &str) {
        let Ok(docker) = self.client().await else { return };
        let Ok(img) = docker.inspect_image(tag).await else { return };
        let ours = img.config.as_ref().and_then(|c| c.labels.as_ref()).and_then(|l| l.get(LABEL_INSTALLATION)) == Some(&self.settings.installation);
        if ours {
            if let Err(e) = docker.remove_image(tag, Some(q::RemoveImageOptionsBuilder::default().force(true).build()), None).await {
                tracing::warn!(image = tag, error = %e, "could not remove an image");
            }
        }
    }

    /// Removes this installation's images of `app_slug` except `keep`, then this installation's
    /// dangling images. Never touches an image without our installation label.
    pub async fn remove_images_except(&self, app_slug: Option<&str>, keep: &HashSet<String>) -> Result<usize> {
        let docker = self.client().await?;
        let mut label = vec![format!("{LABEL_INSTALLATION}={}", self.settings.installation)];
        if let Some(slug) = app_slug {
            label.push(format!("{LABEL_APP}={slug}"));
        }
        let filters = HashMap::from([("label", label.clone())]);
        let images = docker
            .list_images(Some(q::ListImagesOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| api("list images", e))?;
        let mut removed = 0;
        for img in images {
            if img.labels.get(LABEL_INSTALLATION) != Some(&self.settings.installation) {
                continue;
            }
            if img.repo_tags.iter().any(|t| keep.contains(t)) {
                continue;
            }
            let opts = q::RemoveImageOptionsBuilder::default().force(false).build();
            match docker.remove_image(&img.id, Some(opts), None).await {
                Ok(_) => removed += 1,
                Err(e) => tracing::warn!(image = %img.id, error = %e, "could not remove an old image"),
            }
        }
        let _ = self.prune_dangling().await;
        Ok(removed)
    }

    /// Removes this installation's dangling images (untagged leftovers of earlier builds). Selected
    /// by listing our labelled images, never by the engine's prune (whose filters older engines
    /// apply loosely).
    pub async fn prune_dangling(&self) -> Result<()> {
        let docker = self.client().await?;
        let filters = HashMap::from([("label", vec![format!("{LABEL_INSTALLATION}={}", self.settings.installation)])]);
        let images = docker
            .list_images(Some(q::ListImagesOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| api("list images", e))?;
        for img in images {
            let untagged = img.repo_tags.iter().all(|t| t == "<none>:<none>");
            if untagged && img.labels.get(LABEL_INSTALLATION) == Some(&self.settings.installation) && img.containers <= 0 {
                let _ = docker.remove_image(&img.id, Some(q::RemoveImageOptionsBuilder::default().force(false).build()), None).await;
            }
        }
        Ok(())
    }

    /// Disk used by the images of one app (bytes, as the engine reports them).
    pub async fn disk_usage(&self, app_slug: &str) -> Result<i64> {
        let docker = self.client().await?;
        let filters = HashMap::from([(
            "label",
            vec![format!("{LABEL_INSTALLATION}={}", self.settings.installation), format!("{LABEL_APP}={app_slug}")],
        )]);
        let images = docker
            .list_images(Some(q::ListImagesOptionsBuilder::default().filters(&filters).build()))
            .await
            .map_err(|e| api("list images", e))?;
        Ok(images.iter().map(|i| i.size).sum())
    }

    /// Removes every container of this installation that is not in `keep` (strays of versions that
    /// never went live, or that a crash left behind). Returns how many.
    pub async fn remove_strays(&self, keep: &HashSet<String>) -> Result<usize> {
        let docker = self.client().await?;
        let filters = HashMap::from([("label", vec![format!("{LABEL_INSTALLATION}={}", self.settings.installation)])]);
        let list = docker
            .list_containers(Some(q::ListContainersOptionsBuilder::default().all(true).filters(&filters).build()))
            .await
            .map_err(|e| api("list containers", e))?;
        let mut removed = 0;
        for c in list {
            let Some(id) = c.id else { continue };
            let ours = c.labels.as_ref().and_then(|l| l.get(LABEL_INSTALLATION)) == Some(&self.settings.installation);
            if !ours || keep.contains(&id) {
                continue;
            }
            let _ = docker.stop_container(&id, Some(q::StopContainerOptionsBuilder::default().t(10).build())).await;
            if docker.remove_container(&id, Some(q::RemoveContainerOptionsBuilder::default().force(true).build())).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn watch_exit(&self, id: &str) -> watch::Receiver<Option<String>> {
        let mut map = self.exits.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_string()).or_insert_with(|| watch::channel(None).0).subscribe()
    }

    fn forget(&self, id: &str) {
        self.exits.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        self.pids.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Watches a started container: exit, output, host pid.
    async fn attach(&self, docker: &Docker, id: String, spec: &StartSpec, live: &watch::Receiver<bool>, since: i32) -> Result<Box<dyn Incarnation>> {
        let exited = self.watch_exit(&id);
        let info = docker.inspect_container(&id, None).await.map_err(|e| api("inspect container", e))?;
        let state = info.state.unwrap_or_default();
        if let Some(pid) = state.pid.filter(|p| *p > 0) {
            self.pids.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), pid as i32);
        }
        if state.running != Some(true) {
            mark_exit(&self.exits, &id, state.exit_code);
        }
        let sinks = Sinks { log: spec.log.clone(), deploy_log: spec.deploy_log.clone(), live: live.clone() };
        let output = tokio::spawn(follow_logs(docker.clone(), id.clone(), sinks, since));
        Ok(Box::new(Container {
            id,
            docker: docker.clone(),
            exited,
            output: Some(output),
            exits: self.exits.clone(),
            pids: self.pids.clone(),
        }))
    }
}

/// What `build_image` builds.
pub struct ImageBuild<'a> {
    pub context: &'a Path,
    pub dockerfile: DockerfileSource,
    pub tag: &'a str,
    pub app_slug: &'a str,
    pub deployment_id: i64,
    pub log: &'a LogSink,
}

pub enum DockerfileSource {
    /// A Dockerfile of the repository (path relative to the context).
    Repo(String),
    /// One Rhone generated from the build plan.
    Generated(String),
}

#[derive(Debug)]
pub enum BuildError {
    Failed(String),
    Cancelled,
}

/// The name the generated Dockerfile gets inside the build context.
pub const GENERATED_DOCKERFILE: &str = ".rhone.Dockerfile";

/// The tag of a deployment's image.
pub fn image_tag(app_slug: &str, deployment_id: i64) -> String {
    format!("rhone/{app_slug}:{deployment_id}")
}

/// A tar of `dir` (symlinks stored as links, `.git` left out) plus the generated Dockerfile.
fn context_tar(dir: &Path, generated: Option<&str>) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    tar.mode(tar::HeaderMode::Deterministic);
    add_tree(&mut tar, dir, Path::new(""))?;
    if let Some(text) = generated {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, GENERATED_DOCKERFILE, text.as_bytes())?;
    }
    tar.into_inner()
}

fn add_tree(tar: &mut tar::Builder<Vec<u8>>, root: &Path, rel: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(root.join(rel))?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if rel.as_os_str().is_empty() && (name == ".git" || name == GENERATED_DOCKERFILE) {
            continue;
        }
        let path: PathBuf = rel.join(&name);
        let ft = e.file_type()?;
        if ft.is_dir() {
            tar.append_dir(&path, e.path())?;
            add_tree(tar, root, &path)?;
        } else if ft.is_file() || ft.is_symlink() {
            // `append_path_with_name` with follow_symlinks(false) stores a symlink as a link
            tar.append_path_with_name(e.path(), &path)?;
        }
    }
    Ok(())
}

fn flush_lines(partial: &mut String, log: &LogSink, all: bool) {
    while let Some(i) = partial.find('\n') {
        let line: String = partial.drain(..=i).collect();
        let line = line.trim_end_matches(['\n', '\r']);
        if !line.trim().is_empty() {
            log.line("stdout", line);
        }
    }
    if all && !partial.trim().is_empty() {
        log.line("stdout", partial.trim_end());
        partial.clear();
    }
}

fn describe_build_error(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerStreamError { error } => error.trim().to_string(),
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.trim().to_string(),
        other => other.to_string(),
    }
}

fn mark_exit(exits: &Exits, id: &str, code: Option<i64>) {
    let map = exits.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(tx) = map.get(id) {
        let why = match code {
            Some(c) => format!("exited with status {c}"),
            None => "exited".to_string(),
        };
        tx.send_if_modified(|v| {
            if v.is_none() {
                *v = Some(why);
                true
            } else {
                false
            }
        });
    }
}

/// Follows the engine's `die` events of this installation's containers (one subscription, no
/// polling). After every (re)connection, containers watched meanwhile are inspected once, so an exit
/// during a gap is not missed.
async fn follow_events(docker: Docker, installation: String, exits: Exits) {
    loop {
        let filters = HashMap::from([
            ("type", vec!["container".to_string()]),
            ("event", vec!["die".to_string()]),
            ("label", vec![format!("{LABEL_INSTALLATION}={installation}")]),
        ]);
        let mut events = docker.events(Some(q::EventsOptionsBuilder::default().filters(&filters).build()));
        let mut first = true;
        loop {
            let next = if first {
                // the request goes out on the first poll: check the watched containers right after
                first = false;
                let (ev, ()) = tokio::join!(events.next(), recheck(&docker, &exits));
                ev
            } else {
                events.next().await
            };
            match next {
                Some(Ok(ev)) => {
                    let Some(actor) = ev.actor else { continue };
                    let Some(id) = actor.id else { continue };
                    let code = actor.attributes.as_ref().and_then(|a| a.get("exitCode")).and_then(|c| c.parse().ok());
                    mark_exit(&exits, &id, code);
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the Docker event stream failed; reconnecting");
                    break;
                }
                None => break,
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn recheck(docker: &Docker, exits: &Exits) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ids: Vec<String> = exits.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
    for id in ids {
        match docker.inspect_container(&id, None).await {
            Ok(info) => {
                let st = info.state.unwrap_or_default();
                if st.running != Some(true) {
                    mark_exit(exits, &id, st.exit_code);
                }
            }
            Err(_) => mark_exit(exits, &id, None),
        }
    }
}

/// A sandbox environment as a container's `KEY=value` list: without the host's `PATH`, `HOME` and
/// `TMPDIR` (the image has its own) and without the host's CA paths, which mean nothing inside it.
fn container_env(env: &[(String, String)]) -> Vec<String> {
    let host_trust = super::sandbox::host_trust_env();
    env.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "PATH" | "HOME" | "TMPDIR"))
        .filter(|kv| !host_trust.contains(kv))
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// Sends a container's output, line by line, to the app's log (and the deploy log until live).
async fn follow_logs(docker: Docker, id: String, sinks: Sinks, since: i32) {
    let opts = q::LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).since(since).build();
    let mut logs = docker.logs(&id, Some(opts));
    let mut partial: HashMap<&'static str, String> = HashMap::new();
    while let Some(Ok(out)) = logs.next().await {
        let (stream, bytes) = match out {
            bollard::container::LogOutput::StdOut { message } => ("stdout", message),
            bollard::container::LogOutput::StdErr { message } => ("stderr", message),
            bollard::container::LogOutput::Console { message } => ("stdout", message),
            bollard::container::LogOutput::StdIn { .. } => continue,
        };
        sinks.log.room(Duration::from_secs(2)).await;
        let buf = partial.entry(stream).or_default();
        buf.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(i) = buf.find('\n') {
            let line: String = buf.drain(..=i).collect();
            send_line(&sinks, stream, line.trim_end_matches(['\n', '\r']));
        }
    }
    for (stream, rest) in partial {
        if !rest.is_empty() {
            send_line(&sinks, stream, &rest);
        }
    }
}

struct Container {
    id: String,
    docker: Docker,
    exited: watch::Receiver<Option<String>>,
    output: Option<JoinHandle<()>>,
    exits: Exits,
    pids: Arc<Mutex<HashMap<String, i32>>>,
}

impl Container {
    async fn wait_exit(&mut self) -> String {
        match self.exited.wait_for(Option::is_some).await {
            Ok(why) => why.clone().unwrap_or_default(),
            Err(_) => "exited".to_string(),
        }
    }

    async fn remove(&mut self) {
        if let Some(out) = self.output.take() {
            // the log stream ends when the container stops; do not wait forever for it
            let _ = tokio::time::timeout(Duration::from_secs(2), out).await;
        }
        let _ = self.docker.remove_container(&self.id, Some(q::RemoveContainerOptionsBuilder::default().force(true).build())).await;
        self.exits.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
        self.pids.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

impl Incarnation for Container {
    fn id(&self) -> InstanceId {
        InstanceId::new(self.id.clone())
    }

    fn wait(&mut self) -> BoxFuture<'_, String> {
        self.wait_exit().boxed()
    }

    fn cleanup(&mut self) -> BoxFuture<'_, ()> {
        self.remove().boxed()
    }

    fn terminate(&mut self, grace: Duration) -> BoxFuture<'_, ()> {
        async move {
            let t = i32::try_from(grace.as_secs().max(1)).unwrap_or(i32::MAX);
            // the engine sends the image's stop signal (SIGTERM), then SIGKILL after `t` seconds
            let _ = self.docker.stop_container(&self.id, Some(q::StopContainerOptionsBuilder::default().t(t).build())).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), self.wait_exit()).await;
            self.remove().await;
        }
        .boxed()
    }

    fn detach(&mut self) {
        if let Some(out) = self.output.take() {
            out.abort();
        }
        self.exits.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

impl Driver for DockerRuntime {
    fn kind(&self) -> &'static str {
        "docker"
    }

    fn launch<'a>(&'a self, spec: &'a StartSpec, live: &'a watch::Receiver<bool>) -> BoxFuture<'a, Result<Box<dyn Incarnation>>> {
        async move {
            let docker = self.client().await?;
            let Some(image) = spec.image.as_deref() else {
                return Err(Error::invalid("runtime", "this version has no image (it was not built for the docker runtime)"));
            };
            let port = spec.port.to_string();
            let mut env = container_env(&spec.sandbox.env);
            env.push(format!("PORT={port}"));
            let mut host = HostConfig {
                network_mode: Some(self.settings.network.as_str().to_string()),
                restart_policy: Some(RestartPolicy { name: Some(RestartPolicyNameEnum::NO), maximum_retry_count: None }),
                security_opt: Some(vec!["no-new-privileges".to_string()]),
                memory: spec.limits.memory_mb.map(|mb| mb * 1024 * 1024),
                nano_cpus: spec.limits.cpu_millis.map(|m| m * 1_000_000),
                ..Default::default()
            };
            let mut exposed = None;
            if self.settings.network == NetworkMode::Bridge {
                let key = format!("{port}/tcp");
                host.port_bindings = Some(HashMap::from([(
                    key.clone(),
                    Some(vec![PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(port.clone()) }]),
                )]));
                exposed = Some(vec![key]);
            }
            let body = ContainerCreateBody {
                image: Some(image.to_string()),
                env: Some(env),
                cmd: spec.command.as_ref().map(|c| vec!["/bin/sh".to_string(), "-c".to_string(), c.clone()]),
                labels: Some(self.labels(&spec.app_slug, spec.deployment_id)),
                exposed_ports: exposed,
                host_config: Some(host),
                ..Default::default()
            };
            let name = format!("rhone-{}-{}-r{}-{}", spec.app_slug, spec.deployment_id, spec.replica, unique());
            let created = docker
                .create_container(Some(q::CreateContainerOptionsBuilder::default().name(&name).build()), body)
                .await
                .map_err(|e| Error::invalid("runtime", format!("could not create the container: {}", describe_build_error(&e))))?;
            let id = created.id;
            // watch for its exit before it can exit
            let _rx = self.watch_exit(&id);
            if let Err(e) = docker.start_container(&id, None).await {
                let _ = docker.remove_container(&id, Some(q::RemoveContainerOptionsBuilder::default().force(true).build())).await;
                self.forget(&id);
                return Err(Error::invalid("runtime", format!("could not start the container: {}", describe_build_error(&e))));
            }
            self.attach(docker, id, spec, live, 0).await
        }
        .boxed()
    }

    fn reattach<'a>(&'a self, spec: &'a StartSpec, id: &'a InstanceId, live: &'a watch::Receiver<bool>) -> BoxFuture<'a, Option<Box<dyn Incarnation>>> {
        async move {
            let docker = self.client().await.ok()?;
            let info = docker.inspect_container(id.as_str(), None).await.ok()?;
            let labels = info.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default();
            if labels.get(LABEL_INSTALLATION) != Some(&self.settings.installation)
                || labels.get(LABEL_DEPLOYMENT) != Some(&spec.deployment_id.to_string())
                || info.state.as_ref().and_then(|s| s.running) != Some(true)
            {
                return None;
            }
            let since = i32::try_from(now_secs()).unwrap_or(0);
            self.attach(docker, id.as_str().to_string(), spec, live, since).await.ok()
        }
        .boxed()
    }

    fn stop_leftover<'a>(&'a self, id: &'a InstanceId) -> BoxFuture<'a, bool> {
        async move {
            let Ok(docker) = self.client().await else { return false };
            let Ok(info) = docker.inspect_container(id.as_str(), None).await else { return false };
            let labels = info.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default();
            if labels.get(LABEL_INSTALLATION) != Some(&self.settings.installation) {
                return false;
            }
            let _ = docker.stop_container(id.as_str(), Some(q::StopContainerOptionsBuilder::default().t(10).build())).await;
            docker.remove_container(id.as_str(), Some(q::RemoveContainerOptionsBuilder::default().force(true).build())).await.is_ok()
        }
        .boxed()
    }

    fn check_listener(&self, id: &InstanceId, port: u16) -> Result<(), String> {
        if self.settings.network == NetworkMode::Bridge {
            // the engine publishes the port on 127.0.0.1 for this container alone
            return Ok(());
        }
        let pid = self.pids.lock().unwrap_or_else(|p| p.into_inner()).get(id.as_str()).copied();
        let Some(pid) = pid else { return Err("the container is not running".into()) };
        match port_owner(port, pid) {
            PortOwner::Version => Ok(()),
            PortOwner::Nobody => Err(format!("nothing listens on port {port} any more; the app must keep listening on $PORT")),
            PortOwner::Other => Err(format!("port {port} is held by a process that is not part of this version (another app took it); deploy again")),
        }
    }

    fn follow(&self, _spec: &StartSpec, _live: watch::Receiver<bool>, _done: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        // each container's output is followed by its incarnation
        Vec::new()
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A short suffix that makes container names unique across restarts of one version.
fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{n}", now_secs() & 0xffffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The build context a repository's contents make: what a hostile checkout cannot smuggle in.
    #[test]
    fn the_build_context_keeps_symlinks_as_links_and_leaves_out_git_and_a_fake_generated_dockerfile() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "host secret").unwrap();
        let repo = tempfile::tempdir().unwrap();
        let r = repo.path();
        std::fs::write(r.join("app.py"), "print('hi')").unwrap();
        std::fs::create_dir_all(r.join("src/deep")).unwrap();
        std::fs::write(r.join("src/deep/mod.py"), "x = 1").unwrap();
        std::fs::create_dir_all(r.join(".git")).unwrap();
        std::fs::write(r.join(".git/config"), "[remote] url = https://token@example.com").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), r.join("leak")).unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("src/outside-dir")).unwrap();
        std::fs::write(r.join(GENERATED_DOCKERFILE), "FROM evil\n").unwrap();

        let bytes = context_tar(r, Some("FROM rhone-test/python:3\n")).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().trim_end_matches('/').to_string();
            let kind = entry.header().entry_type();
            let mut body = String::new();
            if kind.is_file() {
                entry.read_to_string(&mut body).unwrap();
            }
            let link = entry.link_name().unwrap().map(|l| l.to_string_lossy().to_string());
            seen.push((path, kind, link, body));
        }
        let find = |p: &str| seen.iter().find(|(path, ..)| path == p);
        assert!(seen.iter().all(|(p, ..)| !p.starts_with(".git")), "no .git in the context: {seen:?}");
        assert!(seen.iter().all(|(.., body)| !body.contains("host secret")), "nothing outside the checkout is read: {seen:?}");
        let (_, kind, link, _) = find("leak").expect("the symlink is there");
        assert!(kind.is_symlink(), "stored as a link");
        assert_eq!(link.as_deref(), Some(outside.path().join("secret").to_str().unwrap()));
        assert!(find("src/outside-dir").is_some_and(|(_, k, ..)| k.is_symlink()), "a linked directory is not walked");
        assert!(seen.iter().all(|(p, ..)| !p.starts_with("src/outside-dir/")), "{seen:?}");
        assert_eq!(find("src/deep/mod.py").map(|e| e.3.as_str()), Some("x = 1"));
        let dockerfiles: Vec<_> = seen.iter().filter(|(p, ..)| p == GENERATED_DOCKERFILE).collect();
        assert_eq!(dockerfiles.len(), 1, "the repository's own file of that name is left out");
        assert_eq!(dockerfiles[0].3, "FROM rhone-test/python:3\n", "the generated Dockerfile is the one sent");
    }
}
