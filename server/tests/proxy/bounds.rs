//! The proxy's bounds: upstream and idle timeouts, the connection cap, and whose
//! `X-Forwarded-For` is believed.

use std::time::Duration;

use domain::net::TrustedProxies;
use domain::routing::Target;
use http::StatusCode;
use rhone::proxy::ProxyOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{bind, connect, get, get_request, read_head, send, start, start_with, upstream};

/// Fails the test instead of hanging when the proxy never answers.
async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f).await.unwrap_or_else(|_| panic!("{what}: no answer within 10 s"))
}

/// An app that accepts connections and reads requests but never answers.
async fn silent_upstream() -> std::net::SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

const RAW_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n";

#[tokio::test]
async fn an_upstream_that_never_answers_gets_a_504_page() {
    let options = ProxyOptions { upstream_timeout: Duration::from_millis(300), ..ProxyOptions::default() };
    let (table, proxy) = start_with(&[("web", Target::Http(silent_upstream().await))], options).await;
    let (status, _, body) = within("504", get(proxy, "web.localhost", "/")).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(body.contains("took too long"), "{body}");
    assert_eq!(table.live("web").unwrap().inflight(), 0, "the timed-out request is no longer in flight");
}

#[tokio::test]
async fn an_idle_client_connection_is_closed() {
    let options = ProxyOptions { idle_timeout: Duration::from_millis(300), ..ProxyOptions::default() };
    let (_, proxy) = start_with(&[("web", Target::Http(upstream("a").await))], options).await;
    let mut silent = TcpStream::connect(proxy).await.unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(within("idle close", silent.read(&mut buf)).await.unwrap_or(0), 0, "a silent client is disconnected");

    let mut kept_alive = TcpStream::connect(proxy).await.unwrap();
    kept_alive.write_all(RAW_GET).await.unwrap();
    assert!(read_head(&mut kept_alive).await.starts_with("HTTP/1.1 200"));
    let mut rest = Vec::new();
    within("keep-alive close", kept_alive.read_to_end(&mut rest)).await.unwrap();
    assert!(String::from_utf8_lossy(&rest).contains("app=a"), "the body was sent before the idle connection closed");
}

#[tokio::test]
async fn a_request_waiting_for_a_slow_upstream_is_not_idle() {
    let options = ProxyOptions { idle_timeout: Duration::from_millis(200), ..ProxyOptions::default() };
    let (_, proxy) = start_with(&[("web", Target::Http(upstream("a").await))], options).await;
    let (status, _, body) = within("slow head", get(proxy, "web.localhost", "/delay")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("app=a\ntarget=/delay\n"), "{body}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_without_starving_open_ones() {
    let options = ProxyOptions { max_connections: 2, ..ProxyOptions::default() };
    let (_, proxy) = start_with(&[("web", Target::Http(upstream("a").await))], options).await;
    let mut first = connect(proxy).await;
    assert_eq!(send(&mut first, get_request("web.localhost", "/1")).await.0, StatusCode::OK);
    let mut second = TcpStream::connect(proxy).await.unwrap();
    second.write_all(RAW_GET).await.unwrap();
    assert!(read_head(&mut second).await.starts_with("HTTP/1.1 200"));

    let mut third = TcpStream::connect(proxy).await.unwrap();
    third.write_all(RAW_GET).await.unwrap();
    let (status, _, body) = send(&mut first, get_request("web.localhost", "/again")).await;
    assert_eq!(status, StatusCode::OK, "an open connection is still served at the cap");
    assert!(body.contains("target=/again"), "{body}");
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut byte)).await;
    assert!(early.is_err(), "the third connection was served beyond the cap: {early:?}");

    drop(second);
    assert!(within("served after a slot frees", read_head(&mut third)).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_replaced() {
    let (_, proxy) = start(&[("web", Target::Http(upstream("a").await))]).await;
    let mut req = get_request("web.localhost", "/");
    let headers = req.headers_mut();
    headers.append("x-forwarded-for", "203.0.113.7".parse().unwrap());
    headers.append("x-forwarded-for", "198.51.100.1, 10.0.0.1".parse().unwrap());
    headers.insert("x-forwarded-proto", "https".parse().unwrap());
    let (status, _, body) = send(&mut connect(proxy).await, req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\nx-forwarded-for: 127.0.0.1\n"), "{body}");
    assert!(body.contains("\nx-forwarded-proto: http\n"), "{body}");
    for spoofed in ["203.0.113.7", "198.51.100.1", "10.0.0.1", "https"] {
        assert!(!body.contains(spoofed), "{spoofed} reached the app: {body}");
    }
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_is_extended() {
    let trusted = TrustedProxies::parse("127.0.0.0/8").unwrap();
    let options = ProxyOptions { trusted_proxies: trusted, ..ProxyOptions::default() };
    let (_, proxy) = start_with(&[("web", Target::Http(upstream("a").await))], options).await;
    let mut req = get_request("web.localhost", "/");
    req.headers_mut().insert("x-forwarded-for", "203.0.113.7".parse().unwrap());
    req.headers_mut().insert("x-forwarded-proto", "https".parse().unwrap());
    let (_, _, body) = send(&mut connect(proxy).await, req).await;
    assert!(body.contains("\nx-forwarded-for: 203.0.113.7, 127.0.0.1\n"), "{body}");
    assert!(body.contains("\nx-forwarded-proto: https\n"), "{body}");
    assert_eq!(get(proxy, "web.localhost", "/").await.0, StatusCode::OK);
}
