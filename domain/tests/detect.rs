//! Snapshot tests: every directory under `tests/fixtures/detect/` is a tiny repository whose detection
//! result must match its `expected.json`. Run with `UPDATE_SNAPSHOTS=1` to rewrite the snapshots.

use std::path::{Path, PathBuf};

use domain::detect::{detect, DirView, Overrides};
use serde_json::{json, Value};

/// The fixture directories, sorted by name.
fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/detect");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The detection result for one fixture, as `{"plan": ...}` or `{"error": "..."}`.
fn actual(dir: &Path) -> Value {
    match detect(&DirView::new(dir), &Overrides::default()) {
        Ok(plan) => json!({ "plan": plan }),
        Err(error) => json!({ "error": error.to_string() }),
    }
}

#[test]
fn every_fixture_matches_its_snapshot() {
    let update = std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    let dirs = fixture_dirs();
    assert!(!dirs.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let expected_path = dir.join("expected.json");
        let actual = actual(dir);
        let pretty = serde_json::to_string_pretty(&actual).expect("serialize") + "\n";
        if update {
            std::fs::write(&expected_path, pretty).expect("write expected.json");
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&expected_path) else {
            failures.push(format!("{name}: missing expected.json (run with UPDATE_SNAPSHOTS=1)\nactual:\n{pretty}"));
            continue;
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(expected) if expected == actual => {}
            Ok(_) => failures.push(format!("{name}: snapshot mismatch\nexpected:\n{text}actual:\n{pretty}")),
            Err(e) => failures.push(format!("{name}: expected.json is not valid JSON: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} fixtures failed:\n\n{}", failures.len(), dirs.len(), failures.join("\n"));
}

#[test]
fn required_fixtures_exist() {
    let names: Vec<String> =
        fixture_dirs().iter().filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).collect();
    let required = [
        "node-npm",
        "node-pnpm",
        "node-no-deps",
        "python-requirements",
        "python-gunicorn",
        "python-pyproject",
        "go",
        "rust",
        "static",
        "procfile-node",
        "dockerfile",
        "empty",
    ];
    for name in required {
        assert!(names.iter().any(|n| n == name), "fixture {name} is missing");
    }
}
