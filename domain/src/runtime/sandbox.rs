//! How user code (build steps and app processes) is started: a cleared environment, the app's own
//! unprivileged uid/gid, and its own directories. Rhone's environment (its secret key, admin password,
//! database URL) never reaches an app.
//!
//! Layout: `apps_dir` (0711, owned by Rhone: traversable, not listable) holds one directory per app,
//! `apps_dir/<slug>` (0700, owned by the app's uid) with `builds/<deployment id>/` (checkouts) and
//! `home/` (`$HOME`). Rhone's data dir (database, secret key, logs) is 0700 and separate.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::error::{Error, Result};

/// `PATH` given to user code unless the operator configures another one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Which identity user code runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Rhone is root: each app gets uid = gid = `base + app id`.
    PerAppUser { base: u32 },
    /// Rhone is not root and the operator set `allow_shared_uid`: apps run as Rhone's own user.
    SharedUid,
    /// Rhone is not root and shared uids are not allowed: apps are not run at all.
    Refused,
}

/// The default uid base: far above normal users and the usual subordinate-uid ranges.
pub const DEFAULT_UID_BASE: u32 = 1_000_000_000;

pub const REFUSED: &str = "Rhone is not running as root, so it cannot run apps under their own users; \
run it as root, or set allow_shared_uid = true to run apps as Rhone's own user (less isolated)";

impl Isolation {
    /// The policy: root isolates per app; otherwise only with the operator's explicit consent.
    pub fn decide(is_root: bool, allow_shared_uid: bool, base: u32) -> Isolation {
        match (is_root, allow_shared_uid) {
            (true, _) => Isolation::PerAppUser { base },
            (false, true) => Isolation::SharedUid,
            (false, false) => Isolation::Refused,
        }
    }

    /// The policy for the current process.
    pub fn for_current_process(allow_shared_uid: bool, base: u32) -> Isolation {
        Isolation::decide(super::sys::is_root(), allow_shared_uid, base)
    }

    /// The uid/gid an app runs as, or `None` when it runs as Rhone's user.
    pub fn identity(&self, app_id: i64) -> Result<Option<u32>> {
        match *self {
            Isolation::PerAppUser { base } => {
                let id = u32::try_from(app_id).ok().and_then(|a| base.checked_add(a)).filter(|u| *u < u32::MAX - 1);
                id.map(Some).ok_or_else(|| Error::Internal(format!("no uid available for app {app_id}")))
            }
            Isolation::SharedUid => Ok(None),
            Isolation::Refused => Err(Error::Conflict(REFUSED.into())),
        }
    }

    /// A warning for the dashboard while apps share Rhone's uid.
    pub fn warning(&self) -> Option<&'static str> {
        match self {
            Isolation::PerAppUser { .. } => None,
            Isolation::SharedUid => Some("Apps run as Rhone's own user (allow_shared_uid = true): an app can read Rhone's data dir and signal other apps. Run Rhone as root to isolate each app under its own user."),
            Isolation::Refused => Some(REFUSED),
        }
    }
}

/// Who a command runs as and what it sees: built once per app and deployment.
#[derive(Clone)]
pub struct Sandbox {
    pub uid: Option<u32>,
    pub home: PathBuf,
    /// The whole environment of the command (nothing is inherited from Rhone).
    pub env: Vec<(String, String)>,
    /// Landlock confinement to the app's own directory (when the kernel offers it).
    pub landlock: Option<super::landlock::Ruleset>,
}

/// Prints the environment's keys, never its values (they are the app's secrets).
impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("uid", &self.uid)
            .field("home", &self.home)
            .field("env_keys", &self.env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("landlock", &self.landlock.is_some())
            .finish()
    }
}

/// The facts every command of an app gets, before the app's own env vars.
pub fn base_env(slug: &str, deployment_id: i64, home: &Path, path: &str) -> Vec<(String, String)> {
    let tmp = home.with_file_name("tmp");
    vec![
        ("PATH".into(), path.into()),
        ("HOME".into(), home.to_string_lossy().into_owned()),
        ("TMPDIR".into(), tmp.to_string_lossy().into_owned()),
        ("LANG".into(), "C.UTF-8".into()),
        ("RHONE_APP".into(), slug.into()),
        ("RHONE_DEPLOYMENT_ID".into(), deployment_id.to_string()),
    ]
}

/// The host's certificate-authority settings that user code inherits (paths, never secrets), so
/// installs and apps trust the same CAs as the host (a TLS-inspecting proxy, a private registry).
pub const TRUST_ENV: &[&str] =
    &["SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "PIP_CERT", "GIT_SSL_CAINFO"];

/// The [`TRUST_ENV`] variables of Rhone's own environment whose value is an existing absolute path.
pub fn host_trust_env() -> Vec<(String, String)> {
    TRUST_ENV
        .iter()
        .filter_map(|k| {
            let v = std::env::var(k).ok()?;
            (v.starts_with('/') && Path::new(&v).exists()).then(|| (k.to_string(), v))
        })
        .collect()
}

impl Sandbox {
    /// Base facts, then the app's env vars (which may override `PATH` or `LANG`, never `HOME`/`RHONE_*`).
    pub fn new(uid: Option<u32>, home: PathBuf, slug: &str, deployment_id: i64, app_env: &[(String, String)]) -> Sandbox {
        let mut env = base_env(slug, deployment_id, &home, DEFAULT_PATH);
        env.extend(host_trust_env());
        for (k, v) in app_env {
            if k == "HOME" || k == "TMPDIR" || k.starts_with("RHONE_") || k == "PORT" {
                continue;
            }
            match env.iter_mut().find(|(ek, _)| ek == k) {
                Some(slot) => slot.1 = v.clone(),
                None => env.push((k.clone(), v.clone())),
            }
        }
        Sandbox { uid, home, env, landlock: None }
    }

    /// Confines every command of this sandbox to `own` (read-write), read-only system paths and
    /// `shared` (read-only: the provisioned build tools).
    pub fn confined_to(mut self, own: &Path, shared: &[&Path]) -> crate::Result<Sandbox> {
        self.landlock = super::landlock::Ruleset::build(&[own], shared).map_err(|e| Error::internal("landlock ruleset", e))?;
        Ok(self)
    }

    /// The same sandbox with `dirs` first on `PATH`; relative ones are inside `workdir`
    /// (a build plan's `.venv/bin`), absolute ones are taken as they are.
    pub fn with_path(&self, dirs: &[String], workdir: &Path) -> Sandbox {
        let mut sandbox = self.clone();
        if dirs.is_empty() {
            return sandbox;
        }
        let mut parts: Vec<String> = dirs
            .iter()
            .map(|d| if d.starts_with('/') { d.clone() } else { workdir.join(d).to_string_lossy().into_owned() })
            .collect();
        match sandbox.env.iter_mut().find(|(k, _)| k == "PATH") {
            Some((_, path)) => {
                parts.push(path.clone());
                *path = parts.join(":");
            }
            None => {
                parts.push(DEFAULT_PATH.to_string());
                sandbox.env.push(("PATH".into(), parts.join(":")));
            }
        }
        sandbox
    }

    /// Applies the sandbox to a command: cleared environment plus ours, and the app's uid/gid.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env_clear().envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if let Some(uid) = self.uid {
            // std drops supplementary groups (setgroups) before setuid when started as root
            cmd.gid(uid).uid(uid);
        }
        if let Some(rules) = &self.landlock {
            rules.apply(cmd);
        }
    }
}

/// Creates `dir` (and parents) and gives it to `uid` with mode 0700.
pub fn own_dir(dir: &Path, uid: Option<u32>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| Error::internal("create app directory", e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| Error::internal("chmod app directory", e))?;
    if let Some(uid) = uid {
        std::os::unix::fs::chown(dir, Some(uid), Some(uid)).map_err(|e| Error::internal("chown app directory", e))?;
    }
    Ok(())
}

/// Hands a whole tree (a fresh checkout) to `uid`, without following symlinks.
pub fn give_tree(root: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(root, Some(uid), Some(uid))?;
    let meta = std::fs::symlink_metadata(root)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(root)? {
            give_tree(&entry?.path(), uid)?;
        }
    }
    Ok(())
}

/// Checks that every ancestor of `dir` lets other users through (`o+x`), so app users can reach
/// their own directories; returns the first one that does not.
pub fn unreachable_ancestor(dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let abs = std::path::absolute(dir).ok()?;
    abs.ancestors().skip(1).find(|a| std::fs::metadata(a).is_ok_and(|m| m.permissions().mode() & 0o001 == 0)).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_isolates_every_app_under_its_own_uid() {
        let iso = Isolation::decide(true, false, 1000);
        assert_eq!(iso.identity(7).unwrap(), Some(1007));
        assert_ne!(iso.identity(7).unwrap(), iso.identity(8).unwrap());
        assert!(iso.warning().is_none());
    }

    #[test]
    fn non_root_refuses_apps_unless_shared_uid_is_allowed() {
        let refused = Isolation::decide(false, false, 1000);
        assert!(matches!(refused.identity(1), Err(Error::Conflict(_))));
        let shared = Isolation::decide(false, true, 1000);
        assert_eq!(shared.identity(1).unwrap(), None);
        assert!(shared.warning().is_some());
    }

    #[test]
    fn app_env_cannot_override_home_port_or_rhone_facts() {
        let app_env = vec![
            ("HOME".to_string(), "/root".to_string()),
            ("RHONE_DEPLOYMENT_ID".to_string(), "999".to_string()),
            ("PORT".to_string(), "1".to_string()),
            ("PATH".to_string(), "/opt/bin".to_string()),
            ("API_KEY".to_string(), "k".to_string()),
        ];
        let s = Sandbox::new(Some(5), "/apps/a/home".into(), "a", 3, &app_env);
        let get = |k: &str| s.env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOME"), Some("/apps/a/home"));
        assert_eq!(get("RHONE_DEPLOYMENT_ID"), Some("3"));
        assert_eq!(get("PORT"), None);
        assert_eq!(get("PATH"), Some("/opt/bin"));
        assert_eq!(get("API_KEY"), Some("k"));
        assert_eq!(s.env.iter().filter(|(k, _)| k == "RHONE_DEPLOYMENT_ID").count(), 1);
        let printed = format!("{s:?}");
        assert!(printed.contains("API_KEY") && !printed.contains("\"k\""), "Debug prints keys, not values: {printed}");
    }

    #[test]
    fn a_private_ancestor_makes_app_dirs_unreachable() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let apps = t.path().join("apps");
        assert_eq!(unreachable_ancestor(&apps).as_deref(), Some(t.path()));
        std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        assert_eq!(unreachable_ancestor(&apps), None);
    }
}
