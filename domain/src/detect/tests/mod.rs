//! Unit tests over in-memory repositories.

mod dockerfile;
mod node;
mod python;
mod rules;
mod view;

use super::*;

/// Detects with no overrides.
fn plan(repo: &MemView) -> BuildPlan {
    detect(repo, &Overrides::default()).expect("a build plan")
}

/// Detects with no overrides, expecting an error.
fn error(repo: &MemView) -> DetectError {
    detect(repo, &Overrides::default()).expect_err("a detection error")
}

/// Overrides with the given commands.
fn overrides(build: Option<&str>, start: Option<&str>) -> Overrides {
    Overrides { build_command: build.map(str::to_string), start_command: start.map(str::to_string), package: None, commands_at_root: false }
}

/// A package.json with these fields added to `{"name": "app"}`.
fn package_json(fields: &str) -> String {
    if fields.is_empty() {
        r#"{"name": "app"}"#.to_string()
    } else {
        format!(r#"{{"name": "app", {fields}}}"#)
    }
}

/// Shorthand for a `Vec<String>`.
fn cmds(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
