//! How a credential reaches git for one fetch. A token travels only in the git process's environment,
//! read back by a fixed `GIT_ASKPASS` script in Rhone's run dir; a deploy key is written to a 0600 file
//! in the run dir that is deleted when the [`GitAuth`] is dropped, right after the fetch. Nothing
//! secret is put in argv, a URL or a file that outlives the fetch.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use rand::RngCore;

use crate::error::{Error, Result};

/// Answers git's "Username for …" and "Password for …" prompts from the environment git was given.
/// `printf` is a shell builtin, so the token is not put in any process's argv.
const ASKPASS: &str = "#!/bin/sh\n\
# Rhone's GIT_ASKPASS: answers git's prompts from git's own environment; it holds no secret.\n\
case \"$1\" in\n\
  Username*) printf '%s\\n' \"$RHONE_GIT_USERNAME\" ;;\n\
  Password*) printf '%s\\n' \"$RHONE_GIT_TOKEN\" ;;\n\
  *) exit 1 ;;\n\
esac\n";

pub const ASKPASS_FILE: &str = "git-askpass";
pub const KNOWN_HOSTS_FILE: &str = "known_hosts";

/// The extra environment of one fetch's git commands.
#[derive(Default)]
pub struct GitAuth {
    env: Vec<(&'static str, OsString)>,
    key_file: Option<PathBuf>,
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.env.iter().map(|(k, _)| *k).collect();
        f.debug_struct("GitAuth").field("env", &names).finish_non_exhaustive()
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A path as one single-quoted word of a POSIX shell line (git runs `GIT_SSH_COMMAND` with `sh -c`).
fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', r"'\''"))
}

/// git runs in the checkout, so every path it is given must be absolute (`data_dir` may be relative).
fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::internal("run dir path", e))
}

/// Creates `path` with `mode` and `contents`; it must not exist yet.
fn create_private(path: &Path, mode: u32, contents: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::internal(&format!("create {}", path.display()), e))?;
    f.write_all(contents.as_bytes()).map_err(|e| Error::internal(&format!("write {}", path.display()), e))
}

/// Makes sure `<run_dir>/git-askpass` holds the script (0700), replacing it atomically if not.
fn ensure_askpass(run_dir: &Path) -> Result<PathBuf> {
    let path = run_dir.join(ASKPASS_FILE);
    let current_ok = std::fs::read_to_string(&path).is_ok_and(|s| s == ASKPASS)
        && std::fs::metadata(&path).is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777 == 0o700);
    if !current_ok {
        let tmp = run_dir.join(format!("{ASKPASS_FILE}.{}", random_hex()));
        create_private(&tmp, 0o700, ASKPASS)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::internal("install git-askpass", e))?;
    }
    Ok(path)
}

impl GitAuth {
    /// No credential: git runs as before.
    pub fn none() -> GitAuth {
        GitAuth::default()
    }

    pub fn env(&self) -> &[(&'static str, OsString)] {
        &self.env
    }

    pub(crate) fn token(run_dir: &Path, username: &str, token: &str) -> Result<GitAuth> {
        let askpass = ensure_askpass(&absolute(run_dir)?)?;
        let env = vec![
            ("GIT_ASKPASS", askpass.into_os_string()),
            ("RHONE_GIT_USERNAME", username.into()),
            ("RHONE_GIT_TOKEN", token.into()),
            // no credential helper may keep the token (an empty value resets the list)
            ("GIT_CONFIG_COUNT", "1".into()),
            ("GIT_CONFIG_KEY_0", "credential.helper".into()),
            ("GIT_CONFIG_VALUE_0", "".into()),
        ];
        Ok(GitAuth { env, key_file: None })
    }

    pub(crate) fn deploy_key(run_dir: &Path, app_id: i64, private_key: &str) -> Result<GitAuth> {
        let run_dir = &absolute(run_dir)?;
        let key_file = run_dir.join(format!("git-key-{app_id}-{}", random_hex()));
        let mut pem = private_key.to_string();
        if !pem.ends_with('\n') {
            pem.push('\n'); // ssh refuses a key file without its final newline
        }
        create_private(&key_file, 0o600, &pem)?;
        let ssh = format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes \
             -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={}",
            sh_quote(&key_file),
            sh_quote(&run_dir.join(KNOWN_HOSTS_FILE)),
        );
        Ok(GitAuth { env: vec![("GIT_SSH_COMMAND", ssh.into())], key_file: Some(key_file) })
    }
}

impl Drop for GitAuth {
    fn drop(&mut self) {
        if let Some(f) = self.key_file.take() {
            if let Err(e) = std::fs::remove_file(&f) {
                tracing::warn!(path = %f.display(), error = %e, "could not delete a deploy key's temporary file");
            }
        }
    }
}

/// Generates an ed25519 key pair with `ssh-keygen` (separate argv entries, in a private temporary
/// dir of the run dir that is removed afterwards): (OpenSSH private key, `ssh-ed25519 … comment`).
pub(crate) async fn generate_ed25519(run_dir: &Path, comment: &str) -> Result<(String, String)> {
    let dir = run_dir.join(format!("keygen-{}", random_hex()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| Error::internal("create keygen dir", e))?;
    let result = keygen_in(&dir, comment).await;
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(path = %dir.display(), error = %e, "could not remove the key generation directory");
    }
    result
}

async fn keygen_in(dir: &Path, comment: &str) -> Result<(String, String)> {
    let file = dir.join("key");
    let out = tokio::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&file)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| crate::runtime::sandbox::DEFAULT_PATH.into()))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| Error::internal("run ssh-keygen (install openssh-client)", e))?;
    if !out.status.success() {
        return Err(Error::internal("ssh-keygen", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let private = std::fs::read_to_string(&file).map_err(|e| Error::internal("read generated key", e))?;
    let public = std::fs::read_to_string(dir.join("key.pub")).map_err(|e| Error::internal("read generated public key", e))?;
    let public = public.trim().to_string();
    if !public.starts_with("ssh-ed25519 ") || !private.contains("OPENSSH PRIVATE KEY") {
        return Err(Error::Internal("ssh-keygen wrote an unexpected key format".into()));
    }
    Ok((private, public))
}

#[cfg(test)]
mod tests;
