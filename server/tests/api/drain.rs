//! The deploy contract across a real redeploy: from the switch on the old version gets no new
//! request, while the SSE stream and the WebSocket it already serves stay connected until they end;
//! only then is it stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::helpers::{spawn_app, Repo, TestApp};
use crate::support::processes;

/// A Node app: `GET /` answers its version; `/events` streams `data: <version> <n>` every 100 ms
/// until the WebSocket closes; any `Upgrade` request gets 101 and its bytes echoed raw. When the
/// WebSocket client ends its side, the app ends the SSE streams and the socket.
fn streaming_app(version: &str) -> Vec<(&'static str, String)> {
    let server = format!(
        r#"const http = require('http');
const V = {version:?};
const streams = new Set();
const server = http.createServer((req, res) => {{
  if (req.url === '/events') {{
    res.writeHead(200, {{'content-type': 'text/event-stream', 'cache-control': 'no-cache'}});
    let n = 0;
    const tick = setInterval(() => res.write(`data: ${{V}} ${{n++}}\n\n`), 100);
    streams.add(() => {{ clearInterval(tick); res.end(`data: ${{V}} end\n\n`); }});
    return;
  }}
  res.end(V);
}});
server.on('upgrade', (req, socket) => {{
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  socket.on('data', (d) => socket.write(d));
  socket.on('end', () => {{ for (const end of streams) end(); streams.clear(); socket.end(); }});
}});
server.listen(Number(process.env.PORT), '127.0.0.1');
"#
    );
    let pkg = r#"{"name":"drain-test","version":"1.0.0"}"#; // started as `node server.js`
    vec![("package.json", pkg.to_string()), ("server.js", server)]
}

fn files<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}

/// One request of the load: when it was sent, when its answer arrived, and what it said.
struct Sample {
    sent: Instant,
    answered: Instant,
    status: StatusCode,
    body: String,
}

/// Sequential keep-alive requests to `GET /` until `stop`.
fn load(app: &TestApp, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<Sample>> {
    let (client, url) = (reqwest::Client::new(), format!("http://127.0.0.1:{}/", app.proxy_port));
    tokio::spawn(async move {
        let mut samples = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let sent = Instant::now();
            let res = client.get(&url).header("Host", "drainy.localhost").send().await.expect("proxy answers");
            let status = res.status();
            let body = res.text().await.unwrap_or_default();
            samples.push(Sample { sent, answered: Instant::now(), status, body });
        }
        samples
    })
}

async fn open_websocket(port: u16) -> TcpStream {
    let mut ws = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let handshake = "GET /ws HTTP/1.1\r\nHost: drainy.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    ws.write_all(handshake.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(ws.read(&mut byte).await.unwrap(), 1, "handshake cut: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    ws
}

async fn echo(ws: &mut TcpStream, frame: &[u8]) -> Vec<u8> {
    ws.write_all(frame).await.unwrap();
    let mut back = vec![0u8; frame.len()];
    tokio::time::timeout(Duration::from_secs(10), ws.read_exact(&mut back)).await.expect("echo in time").expect("echo");
    back
}

fn text_frame(text: &str) -> Vec<u8> {
    let mut frame = vec![0x81, u8::try_from(text.len()).expect("short text")];
    frame.extend_from_slice(text.as_bytes());
    frame
}

#[tokio::test]
async fn streams_and_websockets_on_the_old_version_outlive_the_switch_and_it_gets_no_new_request() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&streaming_app("v1")));
    // A drain timeout far beyond the test: v1 may only stop because its connections ended.
    app.create_app("drainy", &repo.path(), json!({"drain_timeout_secs": 600})).await;
    assert_eq!(app.deploy_and_wait("drainy").await["status"], "live");
    assert_eq!(app.via_proxy("drainy", "/").await.1, "v1");

    // Long-lived connections on v1.
    let mut sse = app
        .client
        .get(format!("http://127.0.0.1:{}/events", app.proxy_port))
        .header("Host", "drainy.localhost")
        .send()
        .await
        .expect("sse");
    assert_eq!(sse.status(), StatusCode::OK);
    let sse_reader = tokio::spawn(async move {
        let mut events = Vec::new();
        let mut text = String::new();
        loop {
            match sse.chunk().await {
                Ok(Some(chunk)) => {
                    text.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some((event, rest)) = text.split_once("\n\n") {
                        events.push((Instant::now(), event.trim_start_matches("data: ").to_string()));
                        text = rest.to_string();
                    }
                }
                Ok(None) => return (events, None),
                Err(error) => return (events, Some(error.to_string())),
            }
        }
    });
    let mut ws = open_websocket(app.proxy_port).await;
    assert_eq!(echo(&mut ws, &text_frame("before")).await, text_frame("before"));

    // Redeploy under load.
    let stop = Arc::new(AtomicBool::new(false));
    let loads: Vec<_> = (0..4).map(|_| load(&app, stop.clone())).collect();
    repo.commit(&files(&streaming_app("v2")), "v2");
    let second = app.deploy("drainy").await;
    let mut switched = None;
    for _ in 0..600 {
        if app.via_proxy("drainy", "/").await.1 == "v2" {
            switched = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let switched = switched.expect("traffic switched to v2");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut samples = Vec::new();
    for l in loads {
        samples.extend(l.await.expect("load task"));
    }

    // Nothing failed, and no request sent after a v2 answer arrived reached v1.
    assert!(samples.iter().all(|s| s.status == StatusCode::OK), "every request was answered 200");
    let first_v2 = samples.iter().filter(|s| s.body == "v2").map(|s| s.answered).min().expect("v2 answers");
    assert!(samples.iter().any(|s| s.body == "v1"), "the load ran before the switch too");
    let late: Vec<_> = samples.iter().filter(|s| s.body == "v1" && s.sent > first_v2).collect();
    assert!(late.is_empty(), "{} request(s) reached v1 after the switch", late.len());

    // The old version still serves what it had open: the WebSocket echoes, the stream flows.
    assert_eq!(echo(&mut ws, &text_frame("after")).await, text_frame("after"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processes(&app.apps_dir(), "node").len(), 2, "v1 is still running while its connections are open");

    // The client closes the WebSocket with code 1000: the close frame comes back untouched, then
    // v1 ends the SSE stream, and only then is v1 stopped.
    let close = [0x88, 0x02, 0x03, 0xe8];
    assert_eq!(echo(&mut ws, &close).await, close);
    ws.shutdown().await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), ws.read_to_end(&mut rest)).await.expect("upstream closes").unwrap();
    assert!(rest.is_empty(), "nothing after the close frame: {rest:?}");
    let (events, error) = tokio::time::timeout(Duration::from_secs(10), sse_reader).await.expect("sse ends").unwrap();
    assert_eq!(error, None, "the stream ended cleanly");
    assert_eq!(events.last().map(|(_, e)| e.as_str()), Some("v1 end"), "the stream ran to its own end");
    assert!(events.iter().any(|(at, e)| *at > switched && e.starts_with("v1 ")), "v1 events arrived after the switch");

    let mut stopped = false;
    for _ in 0..200 {
        if processes(&app.apps_dir(), "node").len() == 1 {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped, "v1 is stopped once drained (the drain timeout is 600 s)");
    assert_eq!(app.via_proxy("drainy", "/").await, (StatusCode::OK, "v2".into()));
    let log = app.build_log(second).await;
    assert!(log.contains("finished its requests and connections"), "{log}");
    app.stop().await;
}

/// A Python app that, on SIGTERM, takes a second to finish its work, records that it did in its
/// TMPDIR, and exits.
fn slow_stopping_app(version: &str) -> Vec<(&'static str, String)> {
    let app = format!(
        r#"import os, signal, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
def on_term(*_):
    time.sleep(1)
    with open(os.path.join(os.environ["TMPDIR"], "stopped-{version}.txt"), "w") as f:
        f.write("finished")
    os._exit(0)
signal.signal(signal.SIGTERM, on_term)
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{version}")
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever(poll_interval=0.1)
"#
    );
    vec![("requirements.txt", String::new()), ("app.py", app)]
}

fn find_file(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        }
    }
    None
}

#[tokio::test]
async fn a_stopping_version_behind_a_shell_gets_its_whole_stop_timeout() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&slow_stopping_app("v1")));
    // The shell does not exec the app (a second command follows), so it is the group leader and
    // dies on SIGTERM at once; the app itself must still get its grace.
    let start = "python3 app.py; echo after";
    app.create_app("slowstop", &repo.path(), json!({"start_command": start, "build_command": "true", "stop_timeout_secs": 10})).await;
    assert_eq!(app.deploy_and_wait("slowstop").await["status"], "live");
    repo.commit(&files(&slow_stopping_app("v2")), "v2");
    assert_eq!(app.deploy_and_wait("slowstop").await["status"], "live");
    assert_eq!(app.via_proxy("slowstop", "/").await.1, "v2");
    let mut marker = None;
    for _ in 0..200 {
        marker = find_file(&app.apps_dir().join("slowstop"), "stopped-v1.txt");
        if marker.is_some() && processes(&app.apps_dir(), "python3").len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let marker = marker.expect("v1 finished its SIGTERM handler before it was killed");
    assert_eq!(std::fs::read_to_string(marker).unwrap(), "finished");
    assert_eq!(processes(&app.apps_dir(), "python3").len(), 1, "only v2 runs");
    app.stop().await;
}
