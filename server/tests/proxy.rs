//! The reverse proxy against real upstream listeners on loopback. `proxy/static_site.rs`: static
//! sites on a real directory; `proxy/bounds.rs`: timeouts, the connection cap, X-Forwarded-For;
//! `proxy/drain.rs`: what an old version still serves after a switch, and that it gets nothing new;
//! `proxy/handover.rs`: a proxy draining after its socket was handed to a new Rhone.

#[path = "proxy/bounds.rs"]
mod bounds;
#[path = "proxy/drain.rs"]
mod drain;
#[path = "proxy/handover.rs"]
mod handover;
#[path = "proxy/relay.rs"]
mod relay;
#[path = "proxy/static_site.rs"]
mod static_site;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use domain::routing::{Route, RouteTable, Target};
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rhone::proxy::ProxyOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// An app named `name` echoing the request's target, headers and body. `/slow` streams two chunks
/// 300 ms apart; `/delay` sends its response head after 800 ms.
async fn upstream(name: &'static str) -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(move |req| echo(name, req));
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::spawn(conn);
        }
    });
    addr
}

async fn echo(name: &str, req: Request<Incoming>) -> Result<Response<UnsyncBoxBody<Bytes, Infallible>>, hyper::Error> {
    if req.uri().path() == "/slow" {
        let last = futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            "last"
        });
        let chunks = futures::stream::iter(["first "]).chain(last);
        let frames = chunks.map(|chunk| Ok::<_, Infallible>(Frame::data(Bytes::from(chunk))));
        return Ok(Response::new(StreamBody::new(frames).boxed_unsync()));
    }
    if req.uri().path() == "/delay" {
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let mut text = format!("app={name}\ntarget={}\n", req.uri());
    text.extend(req.headers().iter().map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("?"))));
    let body = req.into_body().collect().await?.to_bytes();
    text += &format!("body={}", String::from_utf8_lossy(&body));
    Ok(Response::new(Full::new(Bytes::from(text)).boxed_unsync()))
}

/// An app that answers any request carrying `Upgrade: echo` with 101, then echoes raw bytes.
async fn raw_upgrade_upstream() -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if !read_head(&mut stream).await.to_ascii_lowercase().contains("\r\nupgrade: echo\r\n") {
                    let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
                    return;
                }
                let switching = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n";
                let _ = stream.write_all(switching.as_bytes()).await;
                let (mut reader, mut writer) = stream.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    addr
}

/// Reads an HTTP head byte by byte, so nothing after the blank line is consumed.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Starts a proxy (base domain `localhost`) serving `routes` with the default options.
async fn start(routes: &[(&str, Target)]) -> (Arc<RouteTable>, SocketAddr) {
    start_with(routes, ProxyOptions::default()).await
}

async fn start_with(routes: &[(&str, Target)], options: ProxyOptions) -> (Arc<RouteTable>, SocketAddr) {
    let table = Arc::new(RouteTable::new("localhost"));
    for (i, (slug, target)) in routes.iter().enumerate() {
        table.switch(Route::new(*slug, i as i64 + 1, target.clone()));
    }
    let (listener, addr) = bind().await;
    tokio::spawn(rhone::proxy::serve(listener, table.clone(), options, std::future::pending()));
    (table, addr)
}

async fn connect(proxy: SocketAddr) -> SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(proxy).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    sender
}

async fn send(sender: &mut SendRequest<Full<Bytes>>, req: Request<Full<Bytes>>) -> (StatusCode, HeaderMap, String) {
    let response = sender.send_request(req).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
}

fn get_request(host: &str, path: &str) -> Request<Full<Bytes>> {
    Request::get(path).header("host", host).body(Full::default()).unwrap()
}

async fn get(proxy: SocketAddr, host: &str, path: &str) -> (StatusCode, HeaderMap, String) {
    send(&mut connect(proxy).await, get_request(host, path)).await
}

async fn eventually(check: impl Fn() -> bool) -> bool {
    let poll = async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(10)).await
        }
    };
    tokio::time::timeout(Duration::from_secs(2), poll).await.is_ok()
}

#[tokio::test]
async fn requests_are_routed_by_host_to_the_right_app() {
    let (_, proxy) =
        start(&[("alpha", Target::Http(upstream("a").await)), ("beta", Target::Http(upstream("b").await))]).await;
    let (status, _, body) = get(proxy, "alpha.localhost", "/x/y?z=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("app=a\ntarget=/x/y?z=1\n"), "{body}");
    let (status, _, body) = get(proxy, "Beta.localhost:8080", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("app=b\n"), "{body}");
}

#[tokio::test]
async fn an_unknown_host_gets_a_404_page_naming_the_escaped_host() {
    let (_, proxy) = start(&[]).await;
    let (status, headers, body) = get(proxy, "<b>x</b>.localhost", "/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(body.contains("No app is served at <code>&lt;b&gt;x&lt;/b&gt;.localhost</code>"), "{body}");
}

#[tokio::test]
async fn an_app_without_a_live_version_gets_a_503_with_retry_after() {
    let (table, proxy) = start(&[]).await;
    table.register("web");
    let (status, headers, body) = get(proxy, "web.localhost", "/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "5");
    assert!(body.contains("has no live version yet") && body.contains("Deploy it"), "{body}");
}

#[tokio::test]
async fn forwarding_headers_are_set_and_hop_by_hop_headers_are_stripped() {
    let (_, proxy) = start(&[("web", Target::Http(upstream("a").await))]).await;
    let hops = [("connection", "keep-alive, x-hop"), ("x-hop", "1"), ("keep-alive", "timeout=5")];
    let more_hops = [("proxy-connection", "keep-alive"), ("te", "trailers"), ("trailer", "x-sum")];
    let end_to_end = [("x-forwarded-for", "203.0.113.7"), ("x-custom", "kept")];
    let mut req = get_request("web.localhost", "/");
    for (name, value) in hops.into_iter().chain(more_hops).chain(end_to_end) {
        req.headers_mut().insert(name, HeaderValue::from_static(value));
    }
    let (status, _, body) = send(&mut connect(proxy).await, req).await;
    assert_eq!(status, StatusCode::OK);
    let forwarded = ["x-forwarded-for: 127.0.0.1", "x-forwarded-proto: http", "x-forwarded-host: web.localhost"];
    for line in forwarded.into_iter().chain(["host: web.localhost", "x-custom: kept"]) {
        assert!(body.contains(&format!("\n{line}\n")), "missing {line:?} in {body}");
    }
    for (name, _) in hops.into_iter().chain(more_hops) {
        assert!(!body.contains(&format!("\n{name}:")), "{name} was forwarded: {body}");
    }
}

#[tokio::test]
async fn a_post_body_passes_intact_and_one_connection_serves_two_requests() {
    let (_, proxy) = start(&[("web", Target::Http(upstream("a").await))]).await;
    let payload = "0123456789abcdef".repeat(64 * 1024);
    let mut sender = connect(proxy).await;
    let post = Request::post("/upload").header("host", "web.localhost").body(Full::from(payload.clone())).unwrap();
    let (status, _, body) = send(&mut sender, post).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.split_once("body=").map(|(_, echoed)| echoed), Some(payload.as_str()));
    let (status, _, body) = send(&mut sender, get_request("web.localhost", "/again")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("target=/again"), "{body}");
}

#[tokio::test]
async fn switching_the_route_sends_the_next_request_to_the_new_upstream() {
    let (table, proxy) = start(&[("web", Target::Http(upstream("old").await))]).await;
    assert!(get(proxy, "web.localhost", "/").await.2.starts_with("app=old\n"));
    table.switch(Route::new("web", 2, Target::Http(upstream("new").await)));
    assert!(get(proxy, "web.localhost", "/").await.2.starts_with("app=new\n"));
}

#[tokio::test]
async fn a_version_stays_in_flight_until_its_response_body_has_been_sent() {
    let (table, proxy) = start(&[("web", Target::Http(upstream("a").await))]).await;
    let route = table.live("web").unwrap();
    let mut sender = connect(proxy).await;
    let response = sender.send_request(get_request("web.localhost", "/slow")).await.unwrap();
    assert_eq!(route.inflight(), 1, "the head has arrived but the body is still streaming");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "first last");
    assert!(eventually(|| route.inflight() == 0).await, "in-flight count did not drop to 0");
}

#[tokio::test]
async fn an_unreachable_upstream_gets_a_502_page_without_details() {
    let (listener, dead) = bind().await;
    drop(listener);
    let (_, proxy) = start(&[("web", Target::Http(dead))]).await;
    let (status, _, body) = get(proxy, "web.localhost", "/").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("did not answer") && !body.to_lowercase().contains("refused"), "{body}");
}

#[tokio::test]
async fn an_upgraded_connection_is_tunnelled_byte_for_byte() {
    let (table, proxy) = start(&[("ws", Target::Http(raw_upgrade_upstream().await))]).await;
    let route = table.live("ws").unwrap();
    let mut client = TcpStream::connect(proxy).await.unwrap();
    let handshake = "GET /socket HTTP/1.1\r\nHost: ws.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
    client.write_all(handshake.as_bytes()).await.unwrap();
    let head = read_head(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.to_ascii_lowercase().contains("\r\nupgrade: echo\r\n"), "{head}");
    // A WebSocket text frame "hello" then a close frame with code 1000.
    let frames = [0x81, 0x05, b'h', b'e', b'l', b'l', b'o', 0x88, 0x02, 0x03, 0xe8];
    client.write_all(&frames).await.unwrap();
    let mut echoed = [0u8; 11];
    client.read_exact(&mut echoed).await.unwrap();
    assert_eq!(echoed, frames);
    assert_eq!(route.inflight(), 1, "the tunnel is open");
    drop(client);
    assert!(eventually(|| route.inflight() == 0).await, "the tunnel did not release its guard");
}

#[tokio::test]
async fn serve_returns_once_shutdown_resolves() {
    let (listener, addr) = bind().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move { stopped.await.unwrap_or(()) };
    let table = Arc::new(RouteTable::new("localhost"));
    let task = tokio::spawn(rhone::proxy::serve(listener, table, ProxyOptions::default(), shutdown));
    assert_eq!(get(addr, "x.localhost", "/").await.0, StatusCode::NOT_FOUND);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting after shutdown");
}
