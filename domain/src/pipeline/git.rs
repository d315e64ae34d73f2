//! Fetches one commit of the app's repository with the system `git`, shallow. URL and ref are parsed
//! values passed as separate argv entries after `--`, never through a shell.

use std::path::Path;

use tokio::sync::watch;

use super::build::{command, output, run, StepError, StepResult};
use crate::logs::LogSink;

pub struct Checkout {
    pub sha: String,
    pub message: String,
}

pub async fn fetch(url: &str, git_ref: &str, dir: &Path, log: &LogSink, cancel: &mut watch::Receiver<bool>) -> StepResult<Checkout> {
    tokio::fs::create_dir_all(dir).await.map_err(|e| StepError::Failed(format!("create checkout directory: {e}")))?;
    let no_env: &[(String, String)] = &[];
    run(command("git", &["init", "-q"], dir, no_env), "git init", log, cancel).await?;
    log.info(&format!("$ git fetch --depth 1 {url} {git_ref}"));
    let shallow = run(
        command("git", &["-c", "protocol.file.allow=always", "fetch", "-q", "--depth", "1", "--", url, git_ref], dir, no_env),
        "git fetch",
        log,
        cancel,
    )
    .await;
    match shallow {
        Ok(()) => {}
        Err(StepError::Cancelled) => return Err(StepError::Cancelled),
        // a commit sha the server does not serve shallowly: fetch the branches, then check it out
        Err(StepError::Failed(_)) if looks_like_sha(git_ref) => {
            log.info("shallow fetch of a commit was refused; fetching full history");
            run(
                command("git", &["-c", "protocol.file.allow=always", "fetch", "-q", "--", url, "+refs/heads/*:refs/remotes/origin/*"], dir, no_env),
                "git fetch",
                log,
                cancel,
            )
            .await?;
            run(command("git", &["checkout", "-q", "--detach", git_ref], dir, no_env), "git checkout", log, cancel).await?;
            return describe(dir).await;
        }
        Err(StepError::Failed(_)) => {
            return Err(StepError::Failed(format!(
                "could not fetch {git_ref:?} from {url}: check the repository URL, the branch name and access rights (see the log above)"
            )))
        }
    }
    run(command("git", &["checkout", "-q", "--detach", "FETCH_HEAD"], dir, no_env), "git checkout", log, cancel).await?;
    describe(dir).await
}

async fn describe(dir: &Path) -> StepResult<Checkout> {
    let out = output("git", &["log", "-1", "--format=%H%n%s"], dir).await?;
    let (sha, message) = out.split_once('\n').unwrap_or((out.as_str(), ""));
    Ok(Checkout { sha: sha.to_string(), message: message.chars().take(500).collect() })
}

fn looks_like_sha(r: &str) -> bool {
    (7..=40).contains(&r.len()) && r.chars().all(|c| c.is_ascii_hexdigit())
}
