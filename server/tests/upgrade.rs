//! Upgrading Rhone in place: a second `rhone serve` on the same data dir and ports takes over from
//! the running one (its listening sockets through the control socket, then its apps) while traffic
//! flows. No request fails or is refused, the app keeps its process, the old Rhone finishes what it
//! had accepted and exits 0, and afterwards exactly one Rhone supervises. Also: what a control-socket
//! peer that is not a handover (or a new Rhone that dies half-way) can and cannot do.

mod support;

use std::io::Read;
use std::os::unix::net::UnixStream as StdUnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{processes, Rhone, Start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `/` answers `ok <pid>`; `/slow` waits until `/release` is called; `/waiting` counts the `/slow`
/// requests waiting.
const APP: &str = r#"import os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
released = threading.Event()
waiting = [0]
lock = threading.Lock()
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            with lock:
                waiting[0] += 1
            released.wait(120)
            body = "slow done " + str(os.getpid())
        elif self.path == "/release":
            released.set()
            body = "released"
        elif self.path == "/waiting":
            with lock:
                body = str(waiting[0])
        else:
            body = "ok " + str(os.getpid())
        body = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

struct Fixture {
    root: tempfile::TempDir,
    repo: tempfile::TempDir,
    /// Rhone processes this test did not start itself (a successor started by SIGHUP).
    others: Mutex<Vec<u32>>,
}

impl Fixture {
    fn new() -> Fixture {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(repo.path().join("app.py"), APP).unwrap();
        for args in [&["init", "-q", "-b", "main"][..], &["add", "-A"], &["-c", "user.email=t@e.x", "-c", "user.name=t", "commit", "-qm", "app"]] {
            assert!(Command::new("git").args(args).current_dir(repo.path()).status().unwrap().success());
        }
        Fixture { root, repo, others: Mutex::default() }
    }

    fn apps_dir(&self) -> PathBuf {
        self.root.path().join("apps")
    }

    fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    async fn start(&self, env: &[(&str, &str)]) -> Rhone {
        let mut all = vec![("RHONE_DRAIN_TIMEOUT_SECS", "30"), ("RHONE_DEFAULT_RUNTIME", "process")];
        all.extend_from_slice(env);
        Rhone::start(Start { root: self.root.path(), env: &all, uid: None }).await
    }

    /// Creates the app and deploys it; returns its process id.
    async fn deploy(&self, r: &Rhone, slug: &str) -> i32 {
        r.call(reqwest::Method::POST, "/apps", json!({"name": slug, "repo_url": self.repo.path().to_str().unwrap(), "start_command": "python3 app.py", "build_command": "true"}))
            .await;
        let id = r.deploy(slug).await;
        r.wait_status(id, "live").await;
        let pids = processes(&self.apps_dir(), "python3 app.py");
        assert_eq!(pids.len(), 1, "one app process");
        pids[0]
    }
}

impl Drop for Fixture {
    /// Whatever happens, no process of this test outlives it.
    fn drop(&mut self) {
        let others = self.others.lock().map(|o| o.clone()).unwrap_or_default();
        for pid in others {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        for pid in processes(&self.apps_dir(), "") {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

/// Rhone processes (this test's binary) running on `data_dir`.
fn rhones_on(data_dir: &Path) -> Vec<i32> {
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_rhone")).unwrap();
    let want = format!("RHONE_DATA_DIR={}", data_dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else { return vec![] };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe))
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            !stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'))
        })
        .filter(|pid| std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == want.as_bytes())))
        .collect()
}

async fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the old rhone serve did not exit");
}

/// What the load saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    refused: AtomicU64,
    /// Anything that was not `ok <app pid>` (first few).
    odd: Mutex<Vec<String>>,
}

impl Tally {
    fn check(&self, expected: &str, status: u16, body: &str) {
        if status == 200 && body == expected {
            self.ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.note(format!("{status} {body}"));
        }
    }

    fn note(&self, what: String) {
        if let Ok(mut odd) = self.odd.lock() {
            if odd.len() < 10 {
                odd.push(what);
            }
        }
    }
}

/// Upper bounds of the load, whatever happens: requests per loop and seconds.
const MAX_REQUESTS: u64 = 50_000;
const MAX_SECS: u64 = 120;

/// One request on a new connection (`Connection: close`), by hand so a refused connect is seen as such.
async fn one_new_connection(proxy: u16, host: &str, tally: &Tally, expected: &str) {
    let mut stream = match tokio::net::TcpStream::connect(("127.0.0.1", proxy)).await {
        Ok(s) => s,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::ConnectionRefused {
                tally.refused.fetch_add(1, Ordering::Relaxed);
            } else {
                tally.failed.fetch_add(1, Ordering::Relaxed);
            }
            tally.note(format!("connect: {e}"));
            return;
        }
    };
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        stream.read_to_end(&mut answer).await
    };
    if let Err(e) = exchange.await {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        tally.note(format!("new connection: {e}"));
        return;
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    tally.check(expected, status, body);
}

/// Starts the load: `new_conn` loops of one request per connection, `keep_alive` loops each on one
/// keep-alive client, and one loop on the dashboard API (keep-alive too).
fn start_load(r: &Rhone, host: &str, expected: String, stop: Arc<AtomicBool>, proxy_tally: Arc<Tally>, api_tally: Arc<Tally>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let started = Instant::now();
    let running = move |stop: &AtomicBool, n: u64| !stop.load(Ordering::Relaxed) && n < MAX_REQUESTS && started.elapsed() < Duration::from_secs(MAX_SECS);
    for _ in 0..2 {
        let (stop, tally, host, expected, proxy) = (stop.clone(), proxy_tally.clone(), host.to_string(), expected.clone(), r.proxy);
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while running(&stop, n) {
                one_new_connection(proxy, &host, &tally, &expected).await;
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    for _ in 0..2 {
        let (stop, tally, host, expected, proxy) = (stop.clone(), proxy_tally.clone(), host.to_string(), expected.clone(), r.proxy);
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0;
            while running(&stop, n) {
                match client.get(format!("http://127.0.0.1:{proxy}/")).header("Host", &host).send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        match res.text().await {
                            Ok(body) => tally.check(&expected, status, &body),
                            Err(e) => {
                                tally.failed.fetch_add(1, Ordering::Relaxed);
                                tally.note(format!("keep-alive body: {e}"));
                            }
                        }
                    }
                    Err(e) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        tally.note(format!("keep-alive: {e:?}"));
                    }
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    let (base, token) = (r.base.clone(), r.token.clone());
    tasks.push(tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut n = 0;
        while running(&stop, n) {
            match client.get(format!("{base}/api/v1/apps")).bearer_auth(&token).send().await {
                Ok(res) if res.status() == StatusCode::OK => {
                    api_tally.ok.fetch_add(1, Ordering::Relaxed);
                }
                Ok(res) => {
                    api_tally.failed.fetch_add(1, Ordering::Relaxed);
                    api_tally.note(format!("api: {}", res.status()));
                }
                Err(e) => {
                    api_tally.failed.fetch_add(1, Ordering::Relaxed);
                    api_tally.note(format!("api: {e:?}"));
                }
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }));
    tasks
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn proxy_get(r: &Rhone, slug: &str, path: &str) -> (StatusCode, String) {
    r.get(slug, path).await
}

#[tokio::test]
async fn a_second_rhone_serve_takes_over_under_load_and_drops_nothing() {
    let f = Fixture::new();
    let mut old = f.start(&[]).await;
    let app_pid = f.deploy(&old, "up").await;
    let expected = format!("ok {app_pid}");
    let host = "up.localhost";

    let stop = Arc::new(AtomicBool::new(false));
    let (proxy_tally, api_tally) = (Arc::new(Tally::default()), Arc::new(Tally::default()));
    let load = start_load(&old, host, expected.clone(), stop.clone(), proxy_tally.clone(), api_tally.clone());
    wait_until("the load flows", || proxy_tally.ok.load(Ordering::Relaxed) >= 50).await;

    // one slow request in flight on the old Rhone, across the whole handover
    let slow = {
        let (proxy, host) = (old.proxy, host.to_string());
        tokio::spawn(async move {
            let res = reqwest::Client::new().get(format!("http://127.0.0.1:{proxy}/slow")).header("Host", host).send().await?;
            let status = res.status();
            Ok::<_, reqwest::Error>((status, res.text().await?))
        })
    };
    for _ in 0..200 {
        if proxy_get(&old, "up", "/waiting").await.1 == "1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(proxy_get(&old, "up", "/waiting").await, (StatusCode::OK, "1".to_string()), "the slow request is in flight");

    // the upgrade: the same command again, on the same data dir and ports
    let before = proxy_tally.ok.load(Ordering::Relaxed);
    let began = Instant::now();
    let api_addr = old.base.trim_start_matches("http://").to_string();
    let proxy_addr = format!("127.0.0.1:{}", old.proxy);
    let new = f.start(&[("RHONE_ADDR", &api_addr), ("RHONE_PROXY_ADDR", &proxy_addr)]).await;
    let took = began.elapsed();
    assert_eq!((new.base.as_str(), new.proxy), (old.base.as_str(), old.proxy), "the new Rhone serves on the same addresses");
    assert!(old.child.try_wait().unwrap().is_none(), "the old Rhone still finishes the slow request it accepted");
    // the test's own idle keep-alive connections to the old Rhone would keep it until the drain timeout
    old.http = reqwest::Client::new();

    // traffic goes on through the new Rhone, then the slow request is let go
    let at_handover = proxy_tally.ok.load(Ordering::Relaxed);
    wait_until("the load flows through the new Rhone", || proxy_tally.ok.load(Ordering::Relaxed) >= at_handover + 200).await;
    assert_eq!(proxy_get(&new, "up", "/release").await.0, StatusCode::OK);
    let (status, body) = slow.await.unwrap().expect("the slow request completes");
    assert_eq!((status, body), (StatusCode::OK, format!("slow done {app_pid}")), "the slow request in flight on the old Rhone completed");

    let status = wait_exit(&mut old.child).await;
    let drained = began.elapsed();
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    assert!(status.success(), "the old Rhone exits 0 after the handover: {status}");

    let odd = proxy_tally.odd.lock().unwrap().clone();
    let api_odd = api_tally.odd.lock().unwrap().clone();
    let (ok, failed, refused) = (proxy_tally.ok.load(Ordering::Relaxed), proxy_tally.failed.load(Ordering::Relaxed), proxy_tally.refused.load(Ordering::Relaxed));
    let (api_ok, api_failed) = (api_tally.ok.load(Ordering::Relaxed), api_tally.failed.load(Ordering::Relaxed));
    println!(
        "handover under load: new rhone serving after {took:?}, old exited after {drained:?}; proxy requests ok {ok} (during the handover and after: {}), failed {failed}, refused {refused}; API requests ok {api_ok}, failed {api_failed}",
        ok - before
    );
    assert_eq!((failed, refused), (0, 0), "no request failed or was refused: {odd:?}");
    assert_eq!(api_failed, 0, "no API request failed: {api_odd:?}");
    assert!(ok > before, "requests were served across the handover");

    // the same app process all along, and only one Rhone left, which supervises it
    assert_eq!(processes(&f.apps_dir(), "python3 app.py"), vec![app_pid], "the app was not restarted");
    assert_eq!(rhones_on(&f.data_dir()), vec![i32::try_from(new.child.id()).unwrap()], "exactly one Rhone runs on the data dir");
    let apps = new.call(reqwest::Method::GET, "/apps", Value::Null).await;
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "the dashboard API answers: {apps}");
    assert!(new.app_log("up").await.contains("re-adopted"), "the new Rhone re-adopted the app");
    Command::new("kill").args(["-9", &app_pid.to_string()]).status().unwrap();
    let mut restarted = None;
    for _ in 0..400 {
        let (status, body) = proxy_get(&new, "up", "/").await;
        if status == StatusCode::OK && body != expected {
            restarted = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(restarted.is_some(), "the new Rhone supervises the app: a crash of it is restarted");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py").len(), 1, "one app process after the restart");
}

/// Connects to the running Rhone's control socket.
fn control(f: &Fixture) -> StdUnixStream {
    let s = StdUnixStream::connect(f.data_dir().join("control.sock")).expect("the control socket answers");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

fn read_line(s: &mut StdUnixStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while let Ok(1) = s.read(&mut byte) {
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    String::from_utf8_lossy(&line).into_owned()
}

#[tokio::test]
async fn garbage_on_the_control_socket_neither_hands_over_nor_crashes_rhone() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let mut r = f.start(&[]).await;
    let app_pid = f.deploy(&r, "steady").await;
    let mode = std::fs::metadata(f.data_dir().join("control.sock")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only Rhone's own user may connect");

    let long = vec![b'x'; 100_000];
    let binary: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let garbage: [&[u8]; 6] = [
        b"release\n",
        b"ready\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"rhone-handover 2\nrelease\n",
        &long,
        &binary,
    ];
    for bytes in garbage {
        let mut s = control(&f);
        let _ = s.write_all(bytes);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        assert!(answer.is_empty(), "nothing is offered to a peer that is not a handover: {:?}", String::from_utf8_lossy(&answer));
    }
    // a peer that connects and says nothing, left open while Rhone goes on
    let _silent = control(&f);

    assert!(r.child.try_wait().unwrap().is_none(), "Rhone is still running");
    assert_eq!(proxy_get(&r, "steady", "/").await, (StatusCode::OK, format!("ok {app_pid}")), "the app is served by the same process");
    // still the supervisor: its workers run deploys, and the new version replaces the old one
    let id = r.deploy("steady").await;
    r.wait_status(id, "live").await;
    let (status, body) = proxy_get(&r, "steady", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(body, format!("ok {app_pid}"), "the redeploy went live");
    wait_until("the old version is stopped", || processes(&f.apps_dir(), "python3 app.py").len() == 1).await;
}

#[tokio::test]
async fn a_new_rhone_that_dies_half_way_leaves_the_old_one_supervising() {
    use std::io::Write;
    let f = Fixture::new();
    let r = f.start(&[]).await;
    let app_pid = f.deploy(&r, "kept").await;

    // a new Rhone takes the sockets and the apps, then dies before it is ready
    let mut s = control(&f);
    s.write_all(b"rhone-handover 1\n").unwrap();
    assert!(read_line(&mut s).starts_with("listeners "), "the sockets are offered to a handover");
    s.write_all(b"release\n").unwrap();
    assert_eq!(read_line(&mut s), "released");
    // meanwhile the old Rhone still proxies
    assert_eq!(proxy_get(&r, "kept", "/").await, (StatusCode::OK, format!("ok {app_pid}")));
    drop(s);

    // the old one takes everything back: same process, supervised again, workers running again
    let id = r.deploy("kept").await;
    r.wait_status(id, "live").await;
    let (status, body) = proxy_get(&r, "kept", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(body, format!("ok {app_pid}"), "the redeploy after the failed handover went live");
    let new_pid: i32 = body.trim_start_matches("ok ").parse().unwrap();
    Command::new("kill").args(["-9", &new_pid.to_string()]).status().unwrap();
    let mut restarted = false;
    for _ in 0..400 {
        let (status, body) = proxy_get(&r, "kept", "/").await;
        if status == StatusCode::OK && body != format!("ok {new_pid}") {
            restarted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(restarted, "a crash of the app is restarted: the old Rhone supervises again");
    assert_eq!(rhones_on(&f.data_dir()).len(), 1);
}

#[tokio::test]
async fn sighup_starts_the_binary_again_and_systemd_follows_the_new_main_pid() {
    let f = Fixture::new();
    let notify_path = f.root.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut old = f.start(&[("NOTIFY_SOCKET", notify_path.to_str().unwrap())]).await;
    let main_pid = |notify: &std::os::unix::net::UnixDatagram| {
        let mut buf = [0u8; 512];
        let n = notify.recv(&mut buf).expect("a notification from Rhone");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(text.lines().any(|l| l == "READY=1"), "{text}");
        text.lines().find_map(|l| l.strip_prefix("MAINPID=")?.parse::<u32>().ok()).expect("MAINPID")
    };
    assert_eq!(main_pid(&notify), old.child.id(), "systemd learns Rhone's pid when it is ready");
    let app_pid = f.deploy(&old, "reload").await;

    Command::new("kill").args(["-HUP", &old.child.id().to_string()]).status().unwrap();
    let successor = main_pid(&notify);
    f.others.lock().unwrap().push(successor);
    assert_ne!(successor, old.child.id(), "the new process is the service's main process now");
    old.http = reqwest::Client::new();
    let status = wait_exit(&mut old.child).await;
    assert!(status.success(), "the old Rhone exits 0: {status}");
    assert_eq!(rhones_on(&f.data_dir()), vec![i32::try_from(successor).unwrap()]);
    assert_eq!(proxy_get(&old, "reload", "/").await, (StatusCode::OK, format!("ok {app_pid}")), "same app process, served by the successor");
    let res = old.http.get(format!("{}/api/v1/apps", old.base)).bearer_auth(&old.token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the dashboard API answers on the same address");
}

#[tokio::test]
async fn a_stale_control_socket_is_ignored_and_a_held_data_dir_is_refused() {
    let f = Fixture::new();
    let r = f.start(&[]).await;
    let app_pid = f.deploy(&r, "stale").await;
    let socket = f.data_dir().join("control.sock");

    // a Rhone that holds the data dir but cannot be reached: a second one refuses to start
    std::fs::remove_file(&socket).unwrap();
    let second = Command::new(env!("CARGO_BIN_EXE_rhone"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RHONE_DATA_DIR", f.data_dir())
        .env("RHONE_APPS_DIR", f.apps_dir())
        .env("RHONE_ADDR", "127.0.0.1:0")
        .env("RHONE_PROXY_ADDR", "127.0.0.1:0")
        .env("RHONE_DEFAULT_RUNTIME", "process")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && stderr.contains("another Rhone runs on"), "{stderr}");
    assert_eq!(processes(&f.apps_dir(), "python3 app.py"), vec![app_pid], "the refused start touched no app");

    // after a SIGKILL the socket file stays behind, answered by nobody: the next start ignores it
    let (status, body) = proxy_get(&r, "stale", "/").await;
    assert_eq!((status, body), (StatusCode::OK, format!("ok {app_pid}")));
    let r2 = {
        r.sigkill();
        let _ = std::os::unix::net::UnixListener::bind(&socket).map(drop);
        assert!(socket.exists(), "a stale control socket is there");
        f.start(&[]).await
    };
    assert_eq!(proxy_get(&r2, "stale", "/").await, (StatusCode::OK, format!("ok {app_pid}")), "re-adopted, same process");
    assert_eq!(rhones_on(&f.data_dir()).len(), 1);
}
