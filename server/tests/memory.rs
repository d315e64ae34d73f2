//! `rhone serve` gives memory back: a login runs argon2 over a 19 MiB block, and glibc's dynamic mmap
//! threshold would keep that block resident after the first one (see `server/src/memory.rs`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "correct-horse-battery";

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Anonymous resident memory of `pid` in KiB.
fn rss_anon_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).expect("RssAnon line");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("RssAnon value")
}

#[tokio::test]
async fn logins_leave_no_argon2_block_resident() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rhone"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RHONE_DATA_DIR", root.path().join("data"))
        .env("RHONE_APPS_DIR", root.path().join("apps"))
        .env("RHONE_ADDR", "127.0.0.1:0")
        .env("RHONE_PROXY_ADDR", "127.0.0.1:0")
        .env("RHONE_DEFAULT_RUNTIME", "process")
        // the owner is created (one argon2 hash) while Rhone starts
        .env("RHONE_ADMIN_EMAIL", EMAIL)
        .env("RHONE_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rhone starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let serve = Serve(child);
    let mut line = String::new();
    while !line.contains("Rhone dashboard:") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "rhone exited before printing its address");
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let base = line.split_whitespace().find(|w| w.starts_with("http://")).expect("dashboard url").to_string();
    let http = reqwest::Client::new();
    assert!(http.get(format!("{base}/healthz")).send().await.unwrap().status().is_success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_anon_kib(serve.0.id());

    for _ in 0..2 {
        let res = http.post(format!("{base}/api/v1/auth/token")).json(&json!({"email": EMAIL, "password": PASSWORD})).send().await.unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_anon_kib(serve.0.id());
    // argon2's block is 19 MiB: kept, it alone would add that much
    assert!(after < before + 8 * 1024, "two logins left {} KiB more resident ({before} → {after} KiB)", after.saturating_sub(before));
}
