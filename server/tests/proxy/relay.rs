//! The fast path (plain HTTP/1.1 relayed by the connection's own task) on the wire: pipelining,
//! upstream keep-alive that went stale, bodies framed every way an upstream frames them, interim
//! responses, a client that leaves, and the hand-over of a connection to the general path.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use domain::routing::Target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{bind, eventually, raw_upgrade_upstream, read_head, start, upstream};

/// Fails the test instead of hanging when the proxy never answers.
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f).await.unwrap_or_else(|_| panic!("{what}: nothing within 10 s"))
}

/// An upstream that reads one request head per connection, writes `answer` raw, then keeps the
/// connection open (`close` false) or closes it.
async fn scripted_upstream(answer: &'static str, close: bool) -> SocketAddr {
    let (listener, addr) = bind().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                loop {
                    if read_head(&mut stream).await.is_empty() {
                        return;
                    }
                    if stream.write_all(answer.as_bytes()).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Reads one response (head + `Content-Length` body) from a raw connection.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let head = within("response head", read_head(stream)).await;
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    within("response body", stream.read_exact(&mut body)).await.unwrap();
    (head, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (_, proxy) = start(&[("web", Target::Http(upstream("a").await))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    let two = "GET /one HTTP/1.1\r\nHost: web.localhost\r\n\r\nPOST /two HTTP/1.1\r\nHost: web.localhost\r\nContent-Length: 3\r\n\r\nabc";
    client.write_all(two.as_bytes()).await.unwrap();
    let (_, first) = read_response(&mut client).await;
    let (_, second) = read_response(&mut client).await;
    assert!(first.contains("target=/one"), "{first}");
    assert!(second.contains("target=/two") && second.ends_with("body=abc"), "{second}");
}

#[tokio::test]
async fn an_upstream_that_closes_its_keep_alive_connections_causes_no_error() {
    let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    let (_, proxy) = start(&[("web", Target::Http(scripted_upstream(answer, true).await))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    for _ in 0..5 {
        client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
        let (head, body) = read_response(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(body, "ok");
    }
}

#[tokio::test]
async fn a_body_without_length_is_relayed_and_then_the_client_connection_closes() {
    let answer = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end";
    let (_, proxy) = start(&[("web", Target::Http(scripted_upstream(answer, true).await))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
    let mut all = String::new();
    within("close", client.read_to_string(&mut all)).await.unwrap();
    assert!(all.starts_with("HTTP/1.1 200 OK\r\n"), "{all}");
    assert!(all.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{all}");
    assert!(all.ends_with("\r\n\r\nuntil the end"), "{all}");
}

#[tokio::test]
async fn a_head_response_has_no_body_and_the_connection_goes_on() {
    let (_, proxy) = start(&[("web", Target::Http(upstream("a").await))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(b"HEAD / HTTP/1.1\r\nHost: web.localhost\r\n\r\nGET /after HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
    let head = within("HEAD answer", read_head(&mut client)).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (_, body) = read_response(&mut client).await;
    assert!(body.contains("target=/after"), "the next response follows the head directly: {body}");
}

#[tokio::test]
async fn an_interim_response_is_relayed_before_the_final_one() {
    let answer = "HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfine";
    let (_, proxy) = start(&[("web", Target::Http(scripted_upstream(answer, false).await))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
    let early = within("103", read_head(&mut client)).await;
    assert!(early.starts_with("HTTP/1.1 103 Early Hints\r\n") && early.contains("link: </a.css>"), "{early}");
    let (head, body) = read_response(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, "fine");
}

#[tokio::test]
async fn an_upstream_answering_garbage_gets_the_client_a_502() {
    let (_, proxy) = start(&[("web", Target::Http(scripted_upstream("SSH-2.0-OpenSSH\r\n\r\n", true).await))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
    let (head, body) = read_response(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    assert!(body.contains("did not answer"), "{body}");
}

#[tokio::test]
async fn a_client_that_leaves_while_its_upstream_thinks_is_no_longer_in_flight() {
    let (listener, silent) = bind().await;
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let (table, proxy) = start(&[("web", Target::Http(silent))]).await;
    let route = table.live("web").unwrap();
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
    assert!(eventually(|| route.inflight() == 1).await, "the request reached the upstream");
    drop(client);
    assert!(eventually(|| route.inflight() == 0).await, "the abandoned request still counts (the upstream timeout is 60 s)");
}

#[tokio::test]
async fn a_connection_moves_to_the_general_path_for_a_chunked_upload_and_an_upgrade() {
    let (_, proxy) = start(&[("web", Target::Http(upstream("a").await)), ("ws", Target::Http(raw_upgrade_upstream().await))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(b"GET /fast HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
    let (_, body) = read_response(&mut client).await;
    assert!(body.contains("target=/fast"), "{body}");
    let chunked = "POST /chunked HTTP/1.1\r\nHost: web.localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    client.write_all(chunked.as_bytes()).await.unwrap();
    let head = within("chunked upload", read_head(&mut client)).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let upgrade = "GET /socket HTTP/1.1\r\nHost: ws.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
    // The general path may answer the upload with a chunked body: read up to the upgrade answer.
    client.write_all(upgrade.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("HTTP/1.1 101") || !seen.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        assert_eq!(within("upgrade answer", client.read(&mut byte)).await.unwrap(), 1, "{}", String::from_utf8_lossy(&seen));
        seen.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&seen).contains("body=abc"), "the upload arrived whole");
    client.write_all(b"raw bytes").await.unwrap();
    let mut echoed = [0u8; 9];
    within("echo", client.read_exact(&mut echoed)).await.unwrap();
    assert_eq!(&echoed, b"raw bytes");
}

#[tokio::test]
async fn malformed_requests_get_a_400_from_the_general_path() {
    let (_, proxy) = start(&[("web", Target::Http(upstream("a").await))]).await;
    for raw in ["GET / HTTP/1.1\r\nHost web.localhost\r\n\r\n", "GET / HTTP/1.1\r\nHost: web.localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"] {
        let mut client = TcpStream::connect(proxy).await.unwrap();
        client.write_all(raw.as_bytes()).await.unwrap();
        let head = within("400", read_head(&mut client)).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{raw:?} → {head}");
    }
}

#[tokio::test]
async fn replicas_are_balanced_and_a_sticky_client_keeps_its_instance() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use domain::routing::{Backend, Pool};

    let backends = vec![
        Backend { addr: upstream("r0").await, healthy: Arc::new(AtomicBool::new(true)) },
        Backend { addr: upstream("r1").await, healthy: Arc::new(AtomicBool::new(true)) },
    ];
    let (_, proxy) = start(&[("web", Target::Pool(Arc::new(Pool::new(backends, true))))]).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
    let (head, body) = read_response(&mut client).await;
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("a new client gets an affinity cookie: {head}"))
        .to_string();
    let instance = body.lines().next().unwrap().to_string();
    for _ in 0..4 {
        client.write_all(format!("GET / HTTP/1.1\r\nHost: web.localhost\r\nCookie: {cookie}\r\n\r\n").as_bytes()).await.unwrap();
        let (head, body) = read_response(&mut client).await;
        assert!(!head.contains("set-cookie"), "{head}");
        assert_eq!(body.lines().next().unwrap(), instance, "a sticky client keeps its instance");
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
        seen.insert(read_response(&mut client).await.1.lines().next().unwrap().to_string());
    }
    assert_eq!(seen.len(), 2, "clients without affinity are balanced over both: {seen:?}");
}

#[tokio::test]
async fn each_request_gets_the_whole_upstream_timeout_however_long_its_connection_sat_idle() {
    // Answers every request after 150 ms; the timeout is 400 ms.
    let (listener, slow) = bind().await;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                while !read_head(&mut stream).await.is_empty() {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let options = rhone::proxy::ProxyOptions { upstream_timeout: Duration::from_millis(400), ..Default::default() };
    let (_, proxy) = super::start_with(&[("web", Target::Http(slow))], options).await;
    let mut client = TcpStream::connect(proxy).await.unwrap();
    for pause in [0, 600, 0, 300] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        client.write_all(b"GET / HTTP/1.1\r\nHost: web.localhost\r\n\r\n").await.unwrap();
        let (head, body) = read_response(&mut client).await;
        assert!(head.starts_with("HTTP/1.1 200"), "after a {pause} ms pause: {head}");
        assert_eq!(body, "ok");
    }
}
