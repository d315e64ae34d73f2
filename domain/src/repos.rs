//! Where a repository may come from. A `repo_url` never carries credentials, and a repository on this
//! machine (`file://`, an absolute path) is an operator's choice (`allow_local_repos`) that never
//! reaches into Rhone's own directories.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::{LocalRepos, Services};

pub const CREDENTIALS_IN_URL: &str = "must not contain a username or token (https://user:token@…): \
add the token as the app's access token, or use a deploy key, instead";

/// True when `url` embeds credentials (`scheme://user:secret@host` or `scheme://token@host` over http(s)).
pub fn has_credentials(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _host)) = authority.rsplit_once('@') else { return false };
    // ssh://git@host is a user name, not a secret; any password, or any user over http(s), is
    userinfo.contains(':') || matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
}

/// The local path a `repo_url` names, if it is a repository on this machine.
pub fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(p) = url.strip_prefix("file://") {
        return Some(PathBuf::from(if p.starts_with('/') { p.to_string() } else { format!("/{p}") }));
    }
    url.starts_with('/').then(|| PathBuf::from(url))
}

/// How long creating an app waits for its repository to answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

impl Services {
    /// Asks the repository (`git ls-remote`, as Rhone, without the app's credential: it has none
    /// yet) whether it answers and has `branch` (blank: a default branch). A wrong URL or branch is a
    /// field error naming what git said; a private repository fails too (create it anyway, then add
    /// its credential) — unless a GitHub App installation connected to team `team_id` covers it, whose
    /// token is used then.
    pub async fn probe_repo(&self, team_id: i64, url: &str, branch: &str) -> Result<()> {
        let url = url.trim();
        self.check_repo_source(url).await?;
        let home = self.settings.run_dir().join("probe-home");
        std::fs::create_dir_all(&home).map_err(|e| Error::internal("probe home", e))?;
        let wanted = if branch.trim().is_empty() { "HEAD".to_string() } else { format!("refs/heads/{}", branch.trim()) };
        let mut cmd = crate::pipeline::command("git", &["-c", "protocol.file.allow=always", "ls-remote", "--exit-code", "--", url, &wanted], &home, &home);
        cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/dev/null -o ConnectTimeout=8")
            .kill_on_drop(true);
        // kept until git is done (a token reaches git through its environment, never argv)
        let auth = match self.installation_token_for(team_id, url).await {
            Ok(Some(token)) => Some(crate::credentials::GitAuth::token(&self.settings.run_dir(), crate::credentials::DEFAULT_USERNAME, &token.0)?),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "no installation token for checking a repository");
                None
            }
        };
        for (k, v) in auth.iter().flat_map(|a| a.env()) {
            cmd.env(k, v);
        }
        let out = match tokio::time::timeout(PROBE_TIMEOUT, cmd.output()).await {
            Err(_) => return Err(Error::invalid("repo_url", format!("did not answer within {} seconds", PROBE_TIMEOUT.as_secs()))),
            Ok(Err(e)) => return Err(Error::internal("git ls-remote", e)),
            Ok(Ok(out)) => out,
        };
        match out.status.code() {
            Some(0) => Ok(()),
            // --exit-code: the repository answered but has no such ref
            Some(2) if branch.trim().is_empty() => Err(Error::invalid("repo_url", "answered, but has no default branch (is it empty?)")),
            Some(2) => Err(Error::invalid("branch", format!("is not in the repository (no branch “{}”)", branch.trim()))),
            _ => {
                let said = String::from_utf8_lossy(&out.stderr);
                let line = said.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("git could not read it");
                let line: String = line.trim_start_matches("fatal: ").chars().take(200).collect();
                Err(Error::invalid("repo_url", format!("could not be read ({line}); if it is private, create the app anyway and add its access token or deploy key")))
            }
        }
    }

    /// Checks a repository source at create/update time and again before every fetch.
    pub async fn check_repo_source(&self, url: &str) -> Result<()> {
        if has_credentials(url) {
            return Err(Error::invalid("repo_url", CREDENTIALS_IN_URL));
        }
        let Some(path) = local_path(url) else { return Ok(()) };
        let allowed = match self.settings.local_repos {
            LocalRepos::Allowed => true,
            LocalRepos::Refused => false,
            LocalRepos::Auto => self.store.count_users().await? <= 1,
        };
        if !allowed {
            return Err(Error::invalid(
                "repo_url",
                "repositories on the server's filesystem are disabled on this installation (allow_local_repos); use an https:// or ssh:// URL",
            ));
        }
        if self.is_inside_rhone(&path) {
            return Err(Error::invalid("repo_url", "must not point into Rhone's own data or apps directory"));
        }
        Ok(())
    }

    fn is_inside_rhone(&self, path: &Path) -> bool {
        // compare resolved paths, so a symlink into the data dir is caught too
        let resolve = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
        let target = resolve(path);
        [&self.settings.data_dir, &self.settings.apps_dir].iter().any(|d| {
            let d = resolve(d);
            target.starts_with(&d) || d.starts_with(&target)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_tokens_or_passwords_are_recognised() {
        for bad in ["https://user:ghp_x@github.com/a/b", "https://ghp_token@github.com/a/b", "http://u:p@h/x", "ssh://git:pw@host/x"] {
            assert!(has_credentials(bad), "{bad}");
        }
        for ok in ["https://github.com/a/b", "ssh://git@github.com/a/b.git", "git@github.com:a/b.git", "/srv/repo", "https://h/x@y"] {
            assert!(!has_credentials(ok), "{ok}");
        }
    }

    #[test]
    fn local_paths_are_recognised() {
        assert_eq!(local_path("file:///srv/r"), Some(PathBuf::from("/srv/r")));
        assert_eq!(local_path("/srv/r"), Some(PathBuf::from("/srv/r")));
        assert_eq!(local_path("https://h/r"), None);
    }
}
