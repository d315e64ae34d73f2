//! Native processes: each version runs as `sh -c <start command>` in its own process group, with its
//! stdout/stderr going line by line to the log hub. A live instance that exits is restarted with
//! backoff; stopping sends SIGTERM to the group, waits, then SIGKILLs it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::sys;
use crate::error::{Error, Result};
use crate::logs::LogSink;

pub struct StartSpec {
    pub deployment_id: i64,
    pub dir: PathBuf,
    pub command: String,
    pub env: Vec<(String, String)>,
    pub port: u16,
    /// The app's runtime log.
    pub log: LogSink,
    /// The deployment's log, which also gets the output until the version goes live.
    pub deploy_log: Option<LogSink>,
}

/// What happened to the process, as the supervisor last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Running { pid: u32, pid_start: Option<i64> },
    /// Exited before it was marked live (a failed start): no restart.
    Exited(String),
    Stopped,
}

pub struct Instance {
    pub deployment_id: i64,
    pub port: u16,
    state: watch::Receiver<State>,
    stop: watch::Sender<Option<Duration>>,
    live: watch::Sender<bool>,
}

impl Instance {
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// From now on a crash restarts the process, and its output goes only to the runtime log.
    pub fn mark_live(&self) {
        let _ = self.live.send(true);
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`. Returns when it is gone.
    pub async fn stop(&self, grace: Duration) {
        let _ = self.stop.send(Some(grace));
        let mut st = self.state.clone();
        let _ = st.wait_for(|s| *s == State::Stopped).await;
    }
}

#[derive(Clone, Default)]
pub struct ProcessRuntime {
    instances: Arc<Mutex<HashMap<i64, Arc<Instance>>>>,
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
        let (state_tx, state_rx) = watch::channel(State::Running { pid, pid_start: sys::process_start_time(pid as i32) });
        let (stop_tx, stop_rx) = watch::channel(None);
        let (live_tx, live_rx) = watch::channel(false);
        let inst = Arc::new(Instance { deployment_id: spec.deployment_id, port: spec.port, state: state_rx, stop: stop_tx, live: live_tx });
        self.lock().insert(spec.deployment_id, inst.clone());
        tokio::spawn(supervise(spec, child, state_tx, stop_rx, live_rx));
        Ok(inst)
    }

    /// Forgets an instance (its owner calls this after `stop`).
    pub fn remove(&self, deployment_id: i64) {
        self.lock().remove(&deployment_id);
    }
}

fn spawn(spec: &StartSpec) -> Result<Child> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec {}", spec.command))
        .current_dir(&spec.dir)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PORT", spec.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    let mut child = cmd.spawn().map_err(|e| Error::internal("start process", e))?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(out, "stdout", spec.log.clone(), spec.deploy_log.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(err, "stderr", spec.log.clone(), spec.deploy_log.clone()));
    }
    Ok(child)
}

/// Copies a process's output line by line (lossy UTF-8, long lines cut at 16 KiB) into the logs.
pub async fn pump(r: impl AsyncRead + Unpin, stream: &'static str, log: LogSink, also: Option<LogSink>) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                buf.truncate(16 * 1024);
                let line = String::from_utf8_lossy(&buf);
                log.line(stream, &line);
                if let Some(a) = &also {
                    a.line(stream, &line);
                }
            }
        }
    }
}

async fn supervise(
    mut spec: StartSpec,
    mut child: Child,
    state: watch::Sender<State>,
    mut stop: watch::Receiver<Option<Duration>>,
    live: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let pgid = child.id().unwrap_or(0) as i32;
        let started = tokio::time::Instant::now();
        let mut stop_requested = stop.clone();
        tokio::select! {
            status = child.wait() => {
                let why = match status {
                    Ok(s) => describe_exit(s),
                    Err(e) => format!("could not be waited for: {e}"),
                };
                // kill leftovers of the group (children the shell started)
                sys::signal_group(pgid, sys::SIGKILL);
                let stopping = stop.borrow().is_some();
                let is_live = *live.borrow();
                if stopping {
                    break;
                }
                if !is_live {
                    let _ = state.send(State::Exited(why));
                    // wait for the owner to stop us, so `stop()` still completes
                    let _ = stopped(&mut stop).await;
                    break;
                }
                spec.log.info(&format!("process {why}; restarting in {}s", backoff.as_secs()));
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_secs(1);
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped(&mut stop) => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                spec.deploy_log = None;
                match spawn(&spec) {
                    Ok(c) => {
                        child = c;
                        let pid = child.id().unwrap_or(0);
                        let _ = state.send(State::Running { pid, pid_start: sys::process_start_time(pid as i32) });
                    }
                    Err(e) => {
                        spec.log.info(&format!("restart failed: {e}"));
                        let _ = state.send(State::Exited("could not be restarted".into()));
                        let _ = stopped(&mut stop).await;
                        break;
                    }
                }
            }
            _ = stopped(&mut stop_requested) => {
                let grace = (*stop.borrow()).unwrap_or(Duration::from_secs(10));
                terminate(&mut child, pgid, grace).await;
                break;
            }
        }
    }
    let _ = state.send(State::Stopped);
}

/// Resolves once a stop was requested (holds no borrow of the watch value across awaits).
async fn stopped(rx: &mut watch::Receiver<Option<Duration>>) {
    let _ = rx.wait_for(|s| s.is_some()).await;
}

async fn terminate(child: &mut Child, pgid: i32, grace: Duration) {
    sys::signal_group(pgid, sys::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        sys::signal_group(pgid, sys::SIGKILL);
        let _ = child.wait().await;
    }
    sys::signal_group(pgid, sys::SIGKILL);
}

fn describe_exit(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "exited".into(),
    }
}

/// Kills a process group left over from before a restart of Rhone, if it is still the same process.
pub async fn kill_orphan(pid: i64, pid_start: i64) -> bool {
    let pid = pid as i32;
    if !sys::is_same_process(pid, pid_start) {
        return false;
    }
    sys::signal_group(pid, sys::SIGTERM);
    for _ in 0..50 {
        if !sys::is_same_process(pid, pid_start) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sys::signal_group(pid, sys::SIGKILL);
    true
}
