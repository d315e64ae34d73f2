//! Runs one pipeline command (git, a build step) in its own process group, streaming its output into
//! the deployment log; a cancel kills the whole group.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::watch;

use crate::logs::LogSink;
use crate::runtime::process::pump;
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

/// A command to run: program plus separate argv entries (never a shell line built from input).
pub fn command(program: &str, args: &[&str], dir: &Path, env: &[(String, String)]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("CI", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    c
}

/// Runs `cmd`, logging its output; `what` names the step in messages.
pub async fn run(mut cmd: Command, what: &str, log: &LogSink, cancel: &mut watch::Receiver<bool>) -> StepResult {
    if *cancel.borrow() {
        return Err(StepError::Cancelled);
    }
    let mut child = cmd.spawn().map_err(|e| StepError::Failed(format!("{what}: could not start: {e}")))?;
    let pgid = child.id().unwrap_or(0) as i32;
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
