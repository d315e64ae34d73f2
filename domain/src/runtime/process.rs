//! Native processes: each version runs as `sh -c <start command>` (the command line as written, like
//! Heroku's `bash -c`) in its own process group, as the app's own user, with a cleared environment.
//! Its stdout/stderr go to files that Rhone follows (see `output.rs`), so the process outlives Rhone:
//! on the next start Rhone re-adopts it by pid + start time instead of starting it again.
//! A live instance that exits is restarted with backoff; stopping sends SIGTERM to the group, waits,
//! then SIGKILLs it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::output::{self, OutputFiles, Sinks};
use super::ports::{port_owner, PortOwner};
use super::InstanceId;
use super::sandbox::Sandbox;
use super::sys;
use crate::error::{Error, Result};
use crate::logs::LogSink;

pub struct StartSpec {
    pub deployment_id: i64,
    pub dir: PathBuf,
    pub command: String,
    pub sandbox: Sandbox,
    pub port: u16,
    /// Where the process's stdout/stderr files live.
    pub output: OutputFiles,
    /// The app's runtime log.
    pub log: LogSink,
    /// The deployment's log, which also gets the output until the version goes live.
    pub deploy_log: Option<LogSink>,
}

/// What happened to the process, as the supervisor last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Running as this instance (opaque outside the runtime: `pid:start-time` here).
    Running { instance: InstanceId },
    /// Exited before it was marked live (a failed start): no restart.
    Exited(String),
    /// Stopped by Rhone (the process is gone).
    Stopped,
    /// Rhone let go of it (shutting down with the apps kept running).
    Detached,
}

/// This runtime's instance id of a process: `pid:start-time` (a recycled pid never matches).
fn instance_of(pid: u32) -> InstanceId {
    InstanceId::new(format!("{pid}:{}", sys::process_start_time(pid as i32).unwrap_or(-1)))
}

/// The pid and start time inside one of this runtime's instance ids.
fn parts(id: &InstanceId) -> Option<(i32, i64)> {
    let (pid, start) = id.as_str().split_once(':')?;
    Some((pid.parse().ok()?, start.parse().ok()?))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Request {
    Stop(Duration),
    Detach,
}

pub struct Instance {
    pub deployment_id: i64,
    pub port: u16,
    state: watch::Receiver<State>,
    request: watch::Sender<Option<Request>>,
    live: watch::Sender<bool>,
}

impl Instance {
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// Why the version exited before it was marked live, if it did.
    pub fn exited(&self) -> Option<String> {
        match &*self.state.borrow() {
            State::Exited(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// Checks that the socket listening on `port` belongs to this version's own processes (not to
    /// whoever bound the port first).
    pub fn check_listener(&self, port: u16) -> Result<(), String> {
        let State::Running { instance } = self.state() else {
            return Err("the app exited right after its health check (see the log above)".into());
        };
        let leader = parts(&instance).map(|(pid, _)| pid).unwrap_or(0);
        match port_owner(port, leader) {
            PortOwner::Version => Ok(()),
            PortOwner::Nobody => Err(format!("nothing listens on port {port} any more; the app must keep listening on $PORT")),
            PortOwner::Other => Err(format!("port {port} is held by a process that is not part of this version (another app took it); deploy again")),
        }
    }

    /// Follows state changes (e.g. to record the pid after a crash restart).
    pub fn watch(&self) -> watch::Receiver<State> {
        self.state.clone()
    }

    /// From now on a crash restarts the process, and its output goes only to the runtime log.
    pub fn mark_live(&self) {
        let _ = self.live.send(true);
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`. Returns when it is gone.
    pub async fn stop(&self, grace: Duration) {
        let _ = self.request.send(Some(Request::Stop(grace)));
        let mut st = self.state.clone();
        let _ = st.wait_for(|s| *s == State::Stopped || *s == State::Detached).await;
    }

    /// Stops supervising and following the process, leaving it running.
    pub async fn detach(&self) {
        let _ = self.request.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(Request::Detach);
                true
            } else {
                false
            }
        });
        let mut st = self.state.clone();
        let _ = st.wait_for(|s| *s == State::Stopped || *s == State::Detached).await;
    }
}

#[derive(Clone, Default)]
pub struct ProcessRuntime {
    instances: Arc<Mutex<HashMap<i64, Arc<Instance>>>>,
}

/// A process the supervisor watches: our child, or one re-adopted after a restart of Rhone.
enum Proc {
    Child(Child),
    Adopted { pid: i32, start: i64 },
}

impl Proc {
    fn pgid(&self) -> i32 {
        match self {
            Proc::Child(c) => c.id().unwrap_or(0) as i32,
            Proc::Adopted { pid, .. } => *pid,
        }
    }

    async fn wait(&mut self) -> String {
        match self {
            Proc::Child(c) => match c.wait().await {
                Ok(s) => describe_exit(s),
                Err(e) => format!("could not be waited for: {e}"),
            },
            Proc::Adopted { pid, start } => {
                while sys::is_same_process(*pid, *start) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                "exited".to_string()
            }
        }
    }
}

impl ProcessRuntime {
    pub fn get(&self, deployment_id: i64) -> Option<Arc<Instance>> {
        self.lock().get(&deployment_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Instance>>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn all(&self) -> Vec<Arc<Instance>> {
        self.lock().values().cloned().collect()
    }

    pub async fn start(&self, spec: StartSpec) -> Result<Arc<Instance>> {
        let child = spawn(&spec)?;
        let pid = child.id().unwrap_or(0);
        Ok(self.supervise(spec, Proc::Child(child), State::Running { instance: instance_of(pid) }))
    }

    /// The name recorded for versions this runtime runs.
    pub fn kind(&self) -> &'static str {
        "process"
    }

    /// Takes over an instance started by an earlier run of Rhone, if it is still running (the same
    /// process, not a recycled pid). Its output is followed from where the earlier run stopped
    /// reading. The instance is live.
    pub fn adopt(&self, spec: StartSpec, instance: &InstanceId) -> Option<Arc<Instance>> {
        let (pid, start) = parts(instance)?;
        if !sys::is_same_process(pid, start) {
            return None;
        }
        let inst = self.supervise(spec, Proc::Adopted { pid, start }, State::Running { instance: instance.clone() });
        inst.mark_live();
        Some(inst)
    }

    fn supervise(&self, spec: StartSpec, proc: Proc, initial: State) -> Arc<Instance> {
        let (state_tx, state_rx) = watch::channel(initial);
        let (req_tx, req_rx) = watch::channel(None);
        let (live_tx, live_rx) = watch::channel(false);
        let inst = Arc::new(Instance { deployment_id: spec.deployment_id, port: spec.port, state: state_rx, request: req_tx, live: live_tx });
        self.lock().insert(spec.deployment_id, inst.clone());
        let (done_tx, done_rx) = watch::channel(false);
        let sinks = Sinks { log: spec.log.clone(), deploy_log: spec.deploy_log.clone(), live: live_rx.clone() };
        let followers = [
            tokio::spawn(output::follow(spec.output.stdout.clone(), "stdout", sinks.clone(), done_rx.clone())),
            tokio::spawn(output::follow(spec.output.stderr.clone(), "stderr", sinks, done_rx)),
        ];
        tokio::spawn(async move {
            let end = supervise(spec, proc, &state_tx, req_rx, live_rx).await;
            // let the followers read what the process wrote last, then publish the final state
            let _ = done_tx.send(true);
            for f in followers {
                let _ = f.await;
            }
            let _ = state_tx.send(end);
        });
        inst
    }

    /// Forgets an instance (its owner calls this after `stop`).
    pub fn remove(&self, deployment_id: i64) {
        self.lock().remove(&deployment_id);
    }

    /// Lets go of every instance, leaving the processes running (Rhone is shutting down).
    pub async fn detach_all(&self) {
        let all: Vec<_> = self.lock().drain().map(|(_, i)| i).collect();
        futures::future::join_all(all.iter().map(|i| i.detach())).await;
    }
}

fn spawn(spec: &StartSpec) -> Result<Child> {
    let (out, err) = spec.output.open_for_process().map_err(|e| Error::internal("open output files", e))?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(&spec.command).current_dir(&spec.dir);
    spec.sandbox.apply(&mut cmd);
    cmd.env("PORT", spec.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(false);
    cmd.spawn().map_err(|e| Error::internal("start process", e))
}

/// Watches the process until it is stopped or detached; returns the final state.
async fn supervise(
    spec: StartSpec,
    mut proc: Proc,
    state: &watch::Sender<State>,
    mut request: watch::Receiver<Option<Request>>,
    live: watch::Receiver<bool>,
) -> State {
    let mut backoff = Duration::from_secs(1);
    loop {
        let pgid = proc.pgid();
        let started = tokio::time::Instant::now();
        let mut req = request.clone();
        tokio::select! {
            why = proc.wait() => {
                // kill leftovers of the group (children the shell started)
                sys::signal_group(pgid, sys::SIGKILL);
                match *request.borrow() {
                    Some(Request::Stop(_)) => return State::Stopped,
                    Some(Request::Detach) => return State::Detached,
                    None => {}
                }
                if !*live.borrow() {
                    let _ = state.send(State::Exited(why));
                    // wait for the owner to stop us, so `stop()` still completes
                    return finish(requested(&mut request).await);
                }
                spec.log.info(&format!("process {why}; restarting in {}s", backoff.as_secs()));
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_secs(1);
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    r = requested(&mut request) => return finish(r),
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                match spawn(&spec) {
                    Ok(c) => {
                        let pid = c.id().unwrap_or(0);
                        proc = Proc::Child(c);
                        let _ = state.send(State::Running { instance: instance_of(pid) });
                    }
                    Err(e) => {
                        spec.log.info(&format!("restart failed: {e}"));
                        let _ = state.send(State::Exited("could not be restarted".into()));
                        return finish(requested(&mut request).await);
                    }
                }
            }
            r = requested(&mut req) => match r {
                Request::Stop(grace) => {
                    terminate(&mut proc, pgid, grace).await;
                    return State::Stopped;
                }
                Request::Detach => return State::Detached,
            }
        }
    }
}

fn finish(r: Request) -> State {
    match r {
        Request::Stop(_) => State::Stopped,
        Request::Detach => State::Detached,
    }
}

/// Resolves once a stop or detach was requested (holds no borrow of the watch value across awaits).
async fn requested(rx: &mut watch::Receiver<Option<Request>>) -> Request {
    match rx.wait_for(|s| s.is_some()).await {
        Ok(r) => r.unwrap_or(Request::Detach),
        Err(_) => Request::Detach,
    }
}

async fn terminate(proc: &mut Proc, pgid: i32, grace: Duration) {
    sys::signal_group(pgid, sys::SIGTERM);
    if tokio::time::timeout(grace, proc.wait()).await.is_err() {
        sys::signal_group(pgid, sys::SIGKILL);
        let _ = proc.wait().await;
    }
    sys::kill_group_and_wait(pgid, Duration::from_secs(5)).await;
}

fn describe_exit(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "exited".into(),
    }
}

impl ProcessRuntime {
    /// Stops an instance left over from before a restart of Rhone (a version that was starting or
    /// draining), if it is still the same process; true if there was one.
    pub async fn stop_leftover(&self, instance: &InstanceId) -> bool {
        let Some((pid, start)) = parts(instance) else { return false };
        if !sys::is_same_process(pid, start) {
            return false;
        }
        sys::signal_group(pid, sys::SIGTERM);
        for _ in 0..50 {
            if !sys::is_same_process(pid, start) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        sys::kill_group_and_wait(pid, Duration::from_secs(5)).await;
        true
    }
}
