//! The directories Rhone owns, with the permissions that keep apps out of them: the data dir (0700:
//! database 0600, secret key 0600, `run/` with apps' output files) and the apps dir (0711: app users
//! can reach their own `<slug>/` directory, 0700, but cannot list or enter anyone else's).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::runtime::sandbox::{unreachable_ancestor, Isolation};
use crate::Settings;

fn chmod(p: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).map_err(|e| Error::internal(&format!("chmod {}", p.display()), e))
}

fn mkdir(p: &Path, mode: u32) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| Error::internal(&format!("create {}", p.display()), e))?;
    chmod(p, mode)
}

/// Creates (or re-secures) the data dir and the apps dir. Fails with a clear message when app users
/// could not reach their directories.
pub fn prepare(settings: &Settings) -> Result<()> {
    mkdir(&settings.data_dir, 0o700)?;
    mkdir(&settings.run_dir(), 0o700)?;
    let data = std::path::absolute(&settings.data_dir).map_err(|e| Error::internal("data dir path", e))?;
    let apps = std::path::absolute(&settings.apps_dir).map_err(|e| Error::internal("apps dir path", e))?;
    if apps.starts_with(&data) {
        return Err(Error::invalid("apps_dir", "must not be inside the data dir (app users must not reach it)"));
    }
    mkdir(&settings.apps_dir, 0o711)?;
    // provisioned build tools: every app reads and runs them, none writes them
    mkdir(&settings.tools_dir(), 0o755)?;
    if let Isolation::PerAppUser { .. } = settings.isolation {
        if let Some(blocker) = unreachable_ancestor(&settings.apps_dir) {
            return Err(Error::invalid(
                "apps_dir",
                format!(
                    "{} is not reachable by app users because {} is private (no o+x); set RHONE_APPS_DIR to a directory such as /var/lib/rhone-apps",
                    settings.apps_dir.display(),
                    blocker.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Where apps live when the operator did not say: `<data_dir>-apps`, unless app users could not reach
/// it (a private ancestor such as `/root`), then `/var/lib/rhone-apps/<data dir's name>-<hash>`, so
/// the embedded default works wherever the data dir is.
pub fn default_apps_dir(data_dir: &Path, isolation: Isolation) -> std::path::PathBuf {
    use sha2::Digest;
    let data = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let sibling = std::path::PathBuf::from(format!("{}-apps", data.display()));
    if !matches!(isolation, Isolation::PerAppUser { .. }) || unreachable_ancestor(&sibling).is_none() {
        return sibling;
    }
    let hash = hex::encode(&sha2::Sha256::digest(data.as_os_str().as_encoded_bytes())[..6]);
    let name = data.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "data".into());
    Path::new("/var/lib/rhone-apps").join(format!("{name}-{hash}"))
}

/// Makes a SQLite database file (and its -wal/-shm companions) readable by Rhone only.
pub fn secure_database(database_url: &str) -> Result<()> {
    let Some(rest) = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:")) else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = format!("{path}{suffix}");
        if Path::new(&p).exists() {
            chmod(Path::new(&p), 0o600)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_is_private_and_apps_dir_is_traversable_only() {
        let t = tempfile::tempdir().unwrap();
        chmod(t.path(), 0o711).unwrap();
        let mut s = Settings::new(t.path().join("data"), "localhost");
        s.apps_dir = t.path().join("apps");
        prepare(&s).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&s.data_dir), 0o700);
        assert_eq!(mode(&s.run_dir()), 0o700);
        assert_eq!(mode(&s.apps_dir), 0o711);
    }

    #[test]
    fn the_default_apps_dir_moves_out_of_a_private_parent() {
        let t = tempfile::tempdir().unwrap();
        chmod(t.path(), 0o700).unwrap();
        let iso = Isolation::PerAppUser { base: 1000 };
        let moved = default_apps_dir(&t.path().join("data"), iso);
        assert!(moved.starts_with("/var/lib/rhone-apps") && unreachable_ancestor(&moved).is_none(), "{}", moved.display());
        assert_ne!(moved, default_apps_dir(&t.path().join("other"), iso), "each data dir gets its own");
        chmod(t.path(), 0o711).unwrap();
        assert_eq!(default_apps_dir(&t.path().join("data"), iso), t.path().join("data-apps"));
        chmod(t.path(), 0o700).unwrap();
        assert_eq!(default_apps_dir(&t.path().join("data"), Isolation::SharedUid), t.path().join("data-apps"), "no app users to reach it");
    }

    #[test]
    fn apps_dir_inside_the_data_dir_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let mut s = Settings::new(t.path().join("data"), "localhost");
        s.apps_dir = t.path().join("data/apps");
        assert!(matches!(prepare(&s), Err(Error::Invalid { .. })));
    }

    #[test]
    fn database_files_become_owner_only() {
        let t = tempfile::tempdir().unwrap();
        let db = t.path().join("x.db");
        std::fs::write(&db, "").unwrap();
        chmod(&db, 0o644).unwrap();
        secure_database(&format!("sqlite://{}?mode=rwc", db.display())).unwrap();
        assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
