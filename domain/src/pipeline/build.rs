//! Runs one pipeline command (git, a build step) in its own process group, streaming its output into
//! the deployment log; a cancel kills the whole group (and waits until it is gone). While a step runs,
//! its pid and start time are in a pid file in Rhone's run dir, so a restart after a crash finds and
//! kills a build that was left running.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::watch;

use crate::logs::LogSink;
use crate::logs::pump;
use crate::runtime::sandbox::Sandbox;
use crate::runtime::sys;

/// Why a step did not complete.
#[derive(Debug)]
pub enum StepError {
    /// The message is shown to the user as the deployment's error.
    Failed(String),
    Cancelled,
}

pub type StepResult<T = ()> = Result<T, StepError>;

pub const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// One of Rhone's own tools (git), run as Rhone with a cleared environment: program plus separate
/// argv entries (never a shell line built from input). `home` keeps the operator's own git config out.
pub fn command(program: &str, args: &[&str], dir: &Path, home: &Path) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| crate::runtime::sandbox::DEFAULT_PATH.into()))
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    c
}

/// How much lower than Rhone's the CPU priority of build steps is (`nice -n 10`): serving apps win.
pub const BUILD_NICENESS: i32 = 10;

/// A build step of the app (its own shell command), run as the app's user in its sandbox, at a lower
/// CPU priority.
pub fn user_command(step: &str, dir: &Path, sandbox: &Sandbox) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(step).current_dir(dir);
    sandbox.apply(&mut c);
    sys::lower_priority(&mut c, BUILD_NICENESS);
    c.env("CI", "true").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    c
}

/// Where the running step of a deployment is recorded (`<run dir>/build-<id>.pid`: "pid start-time").
pub fn pid_file(run_dir: &Path, deployment_id: i64) -> PathBuf {
    run_dir.join(format!("build-{deployment_id}.pid"))
}

/// Kills the build step recorded in `file` if it is still the same process, then removes the file.
pub async fn kill_recorded_step(file: &Path) -> bool {
    let recorded = std::fs::read_to_string(file).ok().and_then(|s| {
        let (pid, start) = s.trim().split_once(' ')?;
        Some((pid.parse::<i32>().ok()?, start.parse::<i64>().ok()?))
    });
    let killed = match recorded {
        Some((pid, start)) if sys::is_same_process(pid, start) => sys::kill_group_and_wait(pid, Duration::from_secs(10)).await,
        _ => false,
    };
    let _ = std::fs::remove_file(file);
    killed
}

/// What a step reports to and listens to.
pub struct Step<'a> {
    pub log: &'a LogSink,
    pub cancel: &'a mut watch::Receiver<bool>,
    pub pid_file: &'a Path,
}

/// Runs `cmd`, logging its output; `what` names the step in messages.
pub async fn run(mut cmd: Command, what: &str, step: &mut Step<'_>) -> StepResult {
    let (log, cancel) = (step.log, &mut *step.cancel);
    if *cancel.borrow() {
        return Err(StepError::Cancelled);
    }
    let mut child = cmd.spawn().map_err(|e| StepError::Failed(format!("{what}: could not start: {e}")))?;
    let pgid = child.id().unwrap_or(0) as i32;
    if let Some(start) = sys::process_start_time(pgid) {
        let _ = std::fs::write(step.pid_file, format!("{pgid} {start}"));
    }
    let out = child.stdout.take().map(|o| tokio::spawn(pump(o, "stdout", log.clone(), None)));
    let err = child.stderr.take().map(|e| tokio::spawn(pump(e, "stderr", log.clone(), None)));
    let result = tokio::select! {
        status = child.wait() => match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(StepError::Failed(match s.code() {
                Some(c) => format!("{what} failed with exit code {c}"),
                None => format!("{what} was killed"),
            })),
            Err(e) => Err(StepError::Failed(format!("{what}: {e}"))),
        },
        _ = cancelled(cancel) => Err(StepError::Cancelled),
        _ = tokio::time::sleep(BUILD_TIMEOUT) => Err(StepError::Failed(format!("{what} timed out after {} minutes", BUILD_TIMEOUT.as_secs() / 60))),
    };
    if result.is_err() {
        sys::signal_group(pgid, sys::SIGKILL);
        let _ = child.wait().await;
    }
    // nothing of the step may outlive it (a backgrounded child of a build script, a cancelled build)
    sys::kill_group_and_wait(pgid, Duration::from_secs(10)).await;
    let _ = std::fs::remove_file(step.pid_file);
    // the output pumps end when the pipes close; wait so no line arrives after the step's verdict
    for t in [out, err].into_iter().flatten() {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    result
}

/// Runs a command and returns its trimmed stdout (for short queries like `git log -1`).
pub async fn output(program: &str, args: &[&str], dir: &Path) -> StepResult<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| crate::runtime::sandbox::DEFAULT_PATH.into()))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| StepError::Failed(format!("{program}: {e}")))?;
    if !out.status.success() {
        return Err(StepError::Failed(format!("{program} {} failed", args.first().unwrap_or(&""))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Resolves once the deployment is cancelled.
pub async fn cancelled(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|c| *c).await;
}
