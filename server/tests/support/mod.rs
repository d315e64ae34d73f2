//! Shared by the tests that run the real `rhone` binary as a separate process: start it on free
//! loopback ports, talk to its API, SIGKILL it, and find the processes it started.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct-horse-battery";

pub struct Rhone {
    pub child: Child,
    pub base: String,
    pub proxy: u16,
    pub token: String,
    pub http: reqwest::Client,
}


/// How to start one `rhone serve`.
pub struct Start<'a> {
    pub root: &'a Path,
    pub env: &'a [(&'a str, &'a str)],
    /// Run Rhone itself as this (non-root) user.
    pub uid: Option<u32>,
}

/// `ETXTBSY` on Linux.
fn libc_etxtbsy() -> i32 {
    26
}

impl Rhone {
    /// Starts `rhone serve` with `<root>/data` and `<root>/apps`, waits for its address, logs in.
    pub async fn start(opts: Start<'_>) -> Rhone {
        let mut bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_rhone"));
        if opts.uid.is_some() {
            // the build's own directory may be private to root: run a copy the user can execute
            let copy = opts.root.join("rhone-bin");
            std::fs::copy(&bin, &copy).expect("copy the rhone binary");
            bin = copy;
        }
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RHONE_DATA_DIR", opts.root.join("data"))
            .env("RHONE_APPS_DIR", opts.root.join("apps"))
            .env("RHONE_ADDR", "127.0.0.1:0")
            .env("RHONE_PROXY_ADDR", "127.0.0.1:0")
            .env("RHONE_ADMIN_EMAIL", EMAIL)
            .env("RHONE_ADMIN_PASSWORD", PASSWORD)
            .env("RHONE_HEALTH_TIMEOUT_SECS", "30")
            .env("RHONE_DRAIN_TIMEOUT_SECS", "30")
            // tests of the process runtime: an engine on this machine would make `auto` pick docker
            .env("RHONE_DEFAULT_RUNTIME", "process")
            .env("RUST_LOG", "warn")
            .envs(opts.env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(uid) = opts.uid {
            std::os::unix::process::CommandExt::uid(std::os::unix::process::CommandExt::gid(&mut cmd, uid), uid);
        }
        // a copy just written can be "text file busy" for a moment: another test's fork may still
        // hold the writing descriptor until its child execs
        let mut child = loop {
            match cmd.spawn() {
                Err(e) if e.raw_os_error() == Some(libc_etxtbsy()) => std::thread::sleep(std::time::Duration::from_millis(50)),
                other => break other.expect("rhone starts"),
            }
        };
        // "Rhone dashboard: http://127.0.0.1:PORT  (apps: port PROXY)"; the rest of stdout is drained
        // (a closed pipe would make Rhone's own logging fail)
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("Rhone dashboard:") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "rhone exited before printing its address");
        }
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let base = line.split_whitespace().find(|w| w.starts_with("http://")).expect("dashboard url").to_string();
        let proxy = line.trim().trim_end_matches(')').rsplit(' ').next().unwrap().parse().expect("proxy port");
        let http = reqwest::Client::new();
        let res = http.post(format!("{base}/api/v1/auth/token")).json(&json!({"email": EMAIL, "password": PASSWORD})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
        Rhone { child, base, proxy, token, http }
    }
}

impl Drop for Rhone {
    /// A failing test still kills its Rhone (SIGKILL, like every stop in this file).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Rhone {
    pub fn sigkill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let res = self.http.request(method, format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    pub async fn deployment(&self, id: i64) -> Value {
        self.call(reqwest::Method::GET, &format!("/deployments/{id}"), Value::Null).await
    }

    pub async fn deploy(&self, slug: &str) -> i64 {
        self.call(reqwest::Method::POST, &format!("/apps/{slug}/deployments"), json!({})).await["id"].as_i64().unwrap()
    }

    pub async fn wait_status(&self, id: i64, want: &str) -> Value {
        for _ in 0..600 {
            let d = self.deployment(id).await;
            if d["status"] == want {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = self.sse(&format!("/deployments/{id}/logs")).await;
        panic!("deployment {id} never became {want}: {}\n{log}", self.deployment(id).await);
    }

    pub async fn get(&self, slug: &str, path: &str) -> (StatusCode, String) {
        let res = self.http.get(format!("http://127.0.0.1:{}{path}", self.proxy)).header("Host", format!("{slug}.localhost")).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// The app's runtime log (SSE history) as text.
    pub async fn app_log(&self, slug: &str) -> String {
        self.sse(&format!("/apps/{slug}/logs")).await
    }

    /// An SSE log stream's text, until it ends or stays quiet for half a second.
    pub async fn sse(&self, path: &str) -> String {
        let res = self.http.get(format!("{}/api/v1{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        let mut res = res;
        let mut text = String::new();
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout(Duration::from_millis(500), res.chunk()).await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    }
}

/// Processes whose working directory is under `dir` and whose command line starts with `needle`
/// (so `sh -c "python3 app.py"` is not counted as the app itself).
pub fn processes(dir: &Path, needle: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return vec![] };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c.starts_with(dir)))
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'));
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            !zombie && String::from_utf8_lossy(&cmd).replace('\0', " ").starts_with(needle)
        })
        .collect()
}

pub async fn wait_gone(dir: &Path, needle: &str) -> bool {
    for _ in 0..200 {
        if processes(dir, needle).is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The TCP port a process listens on (from its socket inodes and /proc/net/tcp).
pub fn listening_port(pid: i32) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|t| t.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(String::from))
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(3) == Some(&"0A") && inodes.iter().any(|i| Some(&i.as_str()) == f.get(9)))
            .then(|| u16::from_str_radix(f[1].rsplit(':').next()?, 16).ok())
            .flatten()
    })
}
