//! Landlock (where the kernel offers it): each build step and app process is confined to read-only
//! system paths plus read-write access to its own app directory (with its own `TMPDIR`) and `/dev`.
//! So even an app that shares Rhone's uid (`allow_shared_uid`) cannot read Rhone's data dir, another
//! app's files, or anything another app leaves in `/tmp`.
//!
//! The ruleset is built in Rhone before the fork (it allocates and opens files); the child only makes
//! two syscalls before exec (`prctl(NO_NEW_PRIVS)`, `landlock_restrict_self`), which are safe there.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;

// access rights (linux/landlock.h)
const EXECUTE: u64 = 1 << 0;
const WRITE_FILE: u64 = 1 << 1;
const READ_FILE: u64 = 1 << 2;
const READ_DIR: u64 = 1 << 3;
/// REMOVE_DIR … MAKE_SYM (ABI 1), REFER (ABI 2), TRUNCATE (ABI 3).
const ABI1_ALL: u64 = (1 << 13) - 1;
const REFER: u64 = 1 << 13;
const TRUNCATE: u64 = 1 << 14;
const READ_ONLY: u64 = EXECUTE | READ_FILE | READ_DIR;

const RULE_PATH_BENEATH: libc::c_int = 1;
const CREATE_RULESET_VERSION: libc::c_uint = 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// System paths an app may read and execute.
pub const READ_ONLY_PATHS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt", "/proc", "/sys", "/var/lib", "/run/systemd/resolve"];
/// Shared paths an app may also write (`/dev/null`, `/dev/shm`…; temporary files go to its own `TMPDIR`).
pub const READ_WRITE_PATHS: &[&str] = &["/dev"];

/// The kernel's Landlock ABI version, or `None` when Landlock is unavailable.
pub fn abi() -> Option<i64> {
    // SAFETY: with the VERSION flag, a null attr and size 0 the syscall only returns the ABI version.
    let v = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<RulesetAttr>(), 0usize, CREATE_RULESET_VERSION) };
    (v > 0).then_some(v)
}

/// A built ruleset, shared by every process of one sandbox (its fd is close-on-exec).
#[derive(Debug, Clone)]
pub struct Ruleset(Arc<OwnedFd>);

impl Ruleset {
    /// Read-only system paths, plus read-write `own` directories and the shared writable paths.
    /// `None` when the kernel has no Landlock (the uid isolation still applies).
    pub fn build(own: &[&Path], read_only: &[&Path]) -> std::io::Result<Option<Ruleset>> {
        let Some(abi) = abi() else { return Ok(None) };
        let mut all = ABI1_ALL;
        if abi >= 2 {
            all |= REFER;
        }
        if abi >= 3 {
            all |= TRUNCATE;
        }
        let attr = RulesetAttr { handled_access_fs: all };
        // SAFETY: `attr` is a valid, initialised struct and its size is passed; the kernel copies it.
        let fd = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, &attr as *const RulesetAttr, std::mem::size_of::<RulesetAttr>(), 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the syscall returned a new file descriptor that nothing else owns.
        let ruleset = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        for p in READ_ONLY_PATHS {
            add_rule(&ruleset, Path::new(p), READ_ONLY)?;
        }
        for p in READ_WRITE_PATHS {
            add_rule(&ruleset, Path::new(p), all)?;
        }
        for p in read_only {
            add_rule(&ruleset, p, READ_ONLY)?;
        }
        for p in own {
            add_rule(&ruleset, p, all)?;
        }
        Ok(Some(Ruleset(Arc::new(ruleset))))
    }

    /// Confines the calling process. Only for `pre_exec`: it makes two syscalls and allocates nothing.
    pub fn restrict_self(&self) -> std::io::Result<()> {
        // SAFETY: plain syscalls with integer arguments; `self.0` is an open ruleset fd.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, self.0.as_raw_fd(), 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Applies the ruleset to a command, in the child between fork and exec.
    pub fn apply(&self, cmd: &mut tokio::process::Command) {
        let rules = self.clone();
        // SAFETY: the closure only calls `restrict_self`, which is async-signal-safe (two syscalls, no
        // allocation, no locks); `rules` was built before the fork.
        unsafe {
            cmd.pre_exec(move || rules.restrict_self());
        }
    }
}

/// Allows `access` beneath `path` (skipped when the path does not exist on this system).
fn add_rule(ruleset: &OwnedFd, path: &Path, access: u64) -> std::io::Result<()> {
    let Ok(c) = CString::new(path.as_os_str().as_encoded_bytes()) else { return Ok(()) };
    // SAFETY: `c` is a valid NUL-terminated path; O_PATH opens it without reading it.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Ok(());
    }
    // SAFETY: `fd` was just opened and is owned here.
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    // a rule on a file (not a directory) may only carry file rights
    let is_dir = std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false);
    let allowed = if is_dir { access } else { access & (EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE) };
    let attr = PathBeneathAttr { allowed_access: allowed, parent_fd: dir.as_raw_fd() };
    // SAFETY: `attr` is valid for the call; the kernel copies it and does not keep `dir`.
    let r = unsafe { libc::syscall(libc::SYS_landlock_add_rule, ruleset.as_raw_fd(), RULE_PATH_BENEATH, &attr as *const PathBeneathAttr, 0) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_confined_process_reads_system_files_and_its_own_dir_only() {
        assert!(abi().is_some(), "this machine's kernel offers Landlock (ABI >= 1); Rhone's confinement is tested on it");
        // not under /tmp or /dev: a directory no rule covers
        let base = std::env::var_os("HOME").map(std::path::PathBuf::from).unwrap_or_else(|| std::env::current_dir().unwrap());
        let t = tempfile::Builder::new().prefix(".rhone-landlock-").tempdir_in(base).unwrap();
        let own = t.path().join("own");
        let other = t.path().join("other");
        std::fs::create_dir_all(&own).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("secret"), "s").unwrap();
        let rules = Ruleset::build(&[own.as_path()], &[]).unwrap().expect("landlock available");
        let script = format!(
            "cat /etc/hostname >/dev/null && echo sys-ok; echo x > {own}/w && echo own-ok; cat {other}/secret 2>/dev/null || echo other-denied; echo y > {other}/w 2>/dev/null || echo write-denied",
            own = own.display(),
            other = other.display()
        );
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(script);
        rules.apply(&mut cmd);
        let out = cmd.output().await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["sys-ok", "own-ok", "other-denied", "write-denied"], "{text}");
        // and Rhone itself is not confined
        assert_eq!(std::fs::read_to_string(other.join("secret")).unwrap(), "s");
    }
}
