//! The `rhone` binary's command line.

use std::process::Command;

fn rhone(data: &std::path::Path, args: &[&str], password: &str) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o711)).expect("chmod test root");
    Command::new(env!("CARGO_BIN_EXE_rhone"))
        .args(args)
        .env("RHONE_DATA_DIR", data.join("data"))
        .env("RHONE_APPS_DIR", data.join("apps"))
        .env("RHONE_NEW_PASSWORD", password)
        .env("RUST_LOG", "warn")
        .output()
        .expect("rhone runs")
}

#[test]
fn admin_create_user_creates_the_owner_once() {
    let data = tempfile::tempdir().unwrap();
    let out = rhone(data.path(), &["admin", "create-user", "Owner@Example.com"], "long-enough-pw");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "created user owner@example.com (owner)");
    let again = rhone(data.path(), &["admin", "create-user", "owner@example.com"], "long-enough-pw");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn bad_arguments_and_input_are_clear_errors() {
    let data = tempfile::tempdir().unwrap();
    let out = rhone(data.path(), &["frobnicate"], "x");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
    let short = rhone(data.path(), &["admin", "create-user", "a@example.com"], "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));
}
