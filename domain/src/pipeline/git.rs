//! Fetches one commit of the app's repository with the system `git`, shallow. URL and ref are parsed
//! values passed as separate argv entries after `--`, never through a shell.

use std::ffi::OsString;
use std::path::Path;

use super::build::{command, output, run, Step, StepError, StepResult};

pub struct Checkout {
    pub sha: String,
    /// The commit's author name, as git prints it.
    pub author: String,
    pub message: String,
}

/// Fetches as Rhone (git runs no repository code on a fetch); `home` is an empty Rhone-owned dir.
/// `auth` is the credential's extra environment for the fetches (see `credentials::GitAuth`); it never
/// reaches argv or the log.
pub async fn fetch(url: &str, git_ref: &str, dir: &Path, home: &Path, auth: &[(&str, OsString)], step: &mut Step<'_>) -> StepResult<Checkout> {
    let fetch_cmd = |args: &[&str]| {
        let mut c = command("git", args, dir, home);
        c.envs(auth.iter().map(|(k, v)| (k, v)));
        c
    };
    tokio::fs::create_dir_all(dir).await.map_err(|e| StepError::Failed(format!("create checkout directory: {e}")))?;
    run(command("git", &["init", "-q"], dir, home), "git init", step).await?;
    step.log.info(&format!("$ git fetch --depth 1 {url} {git_ref}"));
    let shallow = run(
        fetch_cmd(&["-c", "protocol.file.allow=always", "fetch", "-q", "--depth", "1", "--", url, git_ref]),
        "git fetch",
        step,
    )
    .await;
    match shallow {
        Ok(()) => {}
        Err(StepError::Cancelled) => return Err(StepError::Cancelled),
        // a commit sha the server does not serve shallowly: fetch the branches, then check it out
        Err(StepError::Failed(_)) if looks_like_sha(git_ref) => {
            step.log.info("shallow fetch of a commit was refused; fetching full history");
            run(
                fetch_cmd(&["-c", "protocol.file.allow=always", "fetch", "-q", "--", url, "+refs/heads/*:refs/remotes/origin/*"]),
                "git fetch",
                step,
            )
            .await?;
            run(command("git", &["checkout", "-q", "--detach", git_ref], dir, home), "git checkout", step).await?;
            return describe(dir).await;
        }
        Err(StepError::Failed(_)) => {
            return Err(StepError::Failed(format!(
                "could not fetch {git_ref:?} from {url}: check the repository URL, the branch name and access rights (a private repository needs the app's access token or deploy key; see the log above)"
            )))
        }
    }
    run(command("git", &["checkout", "-q", "--detach", "FETCH_HEAD"], dir, home), "git checkout", step).await?;
    describe(dir).await
}

async fn describe(dir: &Path) -> StepResult<Checkout> {
    let out = output("git", &["log", "-1", "--format=%H%n%an%n%s"], dir).await?;
    let mut lines = out.splitn(3, '\n');
    let (sha, author, message) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    Ok(Checkout { sha: sha.to_string(), author: author.chars().take(200).collect(), message: message.chars().take(500).collect() })
}

fn looks_like_sha(r: &str) -> bool {
    (7..=40).contains(&r.len()) && r.chars().all(|c| c.is_ascii_hexdigit())
}
