//! Drain through the real proxy: once the table is switched and the old version retired, new
//! requests reach only the new version, while what the old one already serves (a streamed response,
//! an upgraded connection) goes on until it ends; the drain ends exactly then.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use domain::routing::{DrainOutcome, Open, Route, Target};
use futures::StreamExt;
use http::header::{CONNECTION, UPGRADE};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::{bind, connect, eventually, get, get_request, read_head, start, upstream};

/// The old version: counts every request it receives; `/stream` sends the chunks the test pushes
/// into `chunks` and ends when the test drops its sender; an `Upgrade` request gets 101 and its
/// bytes echoed.
struct OldApp {
    requests: AtomicUsize,
    chunks: Mutex<Option<mpsc::Receiver<Bytes>>>,
}

type AppBody = UnsyncBoxBody<Bytes, Infallible>;

async fn old_app(app: Arc<OldApp>) -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let app = app.clone();
            let service = hyper::service::service_fn(move |req| serve_old(app.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::spawn(conn.with_upgrades());
        }
    });
    addr
}

async fn serve_old(app: Arc<OldApp>, mut req: Request<Incoming>) -> Result<Response<AppBody>, Infallible> {
    app.requests.fetch_add(1, Ordering::SeqCst);
    if req.headers().contains_key(UPGRADE) {
        let upgrade = hyper::upgrade::on(&mut req);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let (mut reader, mut writer) = tokio::io::split(TokioIo::new(upgraded));
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            }
        });
        let response = Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(CONNECTION, "upgrade")
            .header(UPGRADE, "echo")
            .body(Full::default().boxed_unsync());
        return Ok(response.unwrap());
    }
    let chunks = app.chunks.lock().unwrap_or_else(|e| e.into_inner()).take();
    let body = match chunks {
        Some(rx) if req.uri().path() == "/stream" => {
            let frames = tokio_stream::wrappers::ReceiverStream::new(rx).map(|b| Ok(Frame::data(b)));
            StreamBody::new(frames).boxed_unsync()
        }
        _ => Full::new(Bytes::from_static(b"app=old")).boxed_unsync(),
    };
    Ok(Response::new(body))
}

async fn open_tunnel(proxy: SocketAddr) -> TcpStream {
    let mut client = TcpStream::connect(proxy).await.unwrap();
    let handshake = "GET /socket HTTP/1.1\r\nHost: web.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
    client.write_all(handshake.as_bytes()).await.unwrap();
    let head = read_head(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    client
}

async fn echo(client: &mut TcpStream, bytes: &[u8]) {
    client.write_all(bytes).await.unwrap();
    let mut back = vec![0u8; bytes.len()];
    tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut back)).await.unwrap().unwrap();
    assert_eq!(back, bytes);
}

#[tokio::test]
async fn a_drain_waits_for_an_open_stream_and_websocket_while_new_requests_reach_the_new_version() {
    let (tx, rx) = mpsc::channel(4);
    let app = Arc::new(OldApp { requests: AtomicUsize::new(0), chunks: Mutex::new(Some(rx)) });
    let (table, proxy) = start(&[("web", Target::Http(old_app(app.clone()).await))]).await;

    let mut sender = connect(proxy).await;
    let response = sender.send_request(get_request("web.localhost", "/stream")).await.unwrap();
    let mut stream = response.into_body();
    tx.send(Bytes::from_static(b"first")).await.unwrap();
    let chunk = stream.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(chunk, "first");
    let mut ws = open_tunnel(proxy).await;
    // A WebSocket text frame "hello".
    echo(&mut ws, &[0x81, 0x05, b'h', b'e', b'l', b'l', b'o']).await;
    assert_eq!(app.requests.load(Ordering::SeqCst), 2);

    let old = table.switch(Route::new("web", 2, Target::Http(upstream("new").await))).expect("old route");
    assert_eq!(old.open(), Open { requests: 1, connections: 1 });
    let drain = tokio::spawn({
        let old = old.clone();
        async move { old.retire_and_drain(Duration::from_secs(60)).await }
    });
    let (status, _, body) = get(proxy, "web.localhost", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("app=new\n"), "{body}");

    // Both keep working on the old version after the switch.
    tx.send(Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(stream.frame().await.unwrap().unwrap().into_data().unwrap(), "second");
    echo(&mut ws, b"still here").await;

    // The stream ends: the drain still waits for the WebSocket.
    drop(tx);
    assert!(stream.frame().await.is_none(), "the stream ended");
    assert!(eventually(|| old.open().requests == 0).await, "the stream's guard was released");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!drain.is_finished(), "the WebSocket is still open");

    // A close frame (code 1000) passes untouched; closing the socket ends the drain.
    echo(&mut ws, &[0x88, 0x02, 0x03, 0xe8]).await;
    drop(ws);
    let outcome = tokio::time::timeout(Duration::from_secs(10), drain).await.expect("drained").unwrap();
    assert_eq!(outcome, DrainOutcome::Drained);
    assert_eq!(app.requests.load(Ordering::SeqCst), 2, "the old version received no new request");
}

#[tokio::test]
async fn no_request_reaches_the_old_version_once_its_drain_has_begun() {
    let app = Arc::new(OldApp { requests: AtomicUsize::new(0), chunks: Mutex::new(None) });
    let (table, proxy) = start(&[("web", Target::Http(old_app(app.clone()).await))]).await;
    let switched = Arc::new(AtomicBool::new(false));
    let loads: Vec<_> = (0..8)
        .map(|_| {
            let switched = switched.clone();
            tokio::spawn(async move {
                let mut sender = connect(proxy).await;
                let mut late_to_old = 0;
                for _ in 0..300 {
                    let after_switch = switched.load(Ordering::SeqCst);
                    let response = sender.send_request(get_request("web.localhost", "/")).await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    let body = response.into_body().collect().await.unwrap().to_bytes();
                    if after_switch && body.starts_with(b"app=old") {
                        late_to_old += 1;
                    }
                }
                late_to_old
            })
        })
        .collect();
    assert!(eventually(|| app.requests.load(Ordering::SeqCst) >= 50).await, "load reaches the old version");
    let old = table.switch(Route::new("web", 2, Target::Http(upstream("new").await))).expect("old route");
    switched.store(true, Ordering::SeqCst);
    assert_eq!(old.retire_and_drain(Duration::from_secs(10)).await, DrainOutcome::Drained);
    let served_by_old = app.requests.load(Ordering::SeqCst);
    for load in loads {
        assert_eq!(load.await.unwrap(), 0, "a request sent after the switch reached the old version");
    }
    assert_eq!(app.requests.load(Ordering::SeqCst), served_by_old, "the old version got requests after its drain");
}
