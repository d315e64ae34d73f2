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
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "created user owner@example.com (owner) with personal team owner-1");
    let second = rhone(data.path(), &["admin", "create-user", "dev.ops@example.com"], "long-enough-pw");
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), "created user dev.ops@example.com (member) with personal team dev-ops-2");
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

/// `rhone plan` with extra environment variables.
fn rhone_plan(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rhone"));
    cmd.arg("plan").args(args).env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("rhone runs")
}

fn node_app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), r#"{"name": "web", "dependencies": {"x": "1"}}"#).unwrap();
    std::fs::write(dir.path().join("package-lock.json"), "{}").unwrap();
    std::fs::write(dir.path().join("server.js"), "").unwrap();
    dir
}

#[test]
fn plan_prints_the_detected_build_plan_as_json() {
    let app = node_app();
    let out = rhone_plan(&[&app.path().to_string_lossy()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(plan["provider"], serde_json::json!({"kind": "node", "package_manager": "npm"}));
    assert_eq!(plan["build"], serde_json::json!(["npm ci"]));
    assert_eq!(plan["start"], "node server.js");
}

#[test]
fn plan_dockerfile_prints_what_the_pipeline_generates_with_the_configured_base_images() {
    use domain::detect::{detect, dockerfile, BaseImages, DirView, Overrides};
    let app = node_app();
    let dir = app.path().to_string_lossy().into_owned();
    let out = rhone_plan(&[&dir, "--dockerfile"], &[("RHONE_DOCKER_BASE_NODE", "registry.local/node:22")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let view = DirView::new(app.path());
    let plan = detect(&view, &Overrides::default()).unwrap();
    let bases = BaseImages::from_settings(|k| (k == "docker_base_node").then(|| "registry.local/node:22".to_string())).unwrap();
    let expected = dockerfile(&plan, &view, &bases).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    assert!(expected.contains("FROM registry.local/node:22\n"), "{expected}");
    let flag_first = rhone_plan(&["--dockerfile", &dir], &[]);
    assert!(String::from_utf8_lossy(&flag_first.stdout).contains("FROM node:22-bookworm-slim\n"));
}

#[test]
fn plan_of_a_missing_or_undetectable_directory_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("nope");
    let cases: [(Vec<String>, &[(&str, &str)], &str); 4] = [
        (vec![missing.to_string_lossy().into()], &[], "not a directory"),
        (vec![empty.path().to_string_lossy().into(), "--dockerfile".into()], &[], "could not tell how to build"),
        (vec![empty.path().to_string_lossy().into()], &[("RHONE_DOCKER_BASE_STATIC", "busybox\nRUN id")], "docker_base_static"),
        (vec![], &[], "usage:"),
    ];
    for (args, env, message) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = rhone_plan(&args, env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message) && !stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
