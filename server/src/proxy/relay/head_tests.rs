use std::net::{IpAddr, Ipv4Addr};

use super::*;

fn client(trusted: bool) -> Client {
    Client::new(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), trusted, false)
}

fn rewrite(raw: &str, trusted: bool) -> (Parsed<Request>, String) {
    let mut out = Vec::new();
    let parsed = request(raw.as_bytes(), &client(trusted), &mut out);
    (parsed, String::from_utf8(out).expect("text"))
}

fn done<T: std::fmt::Debug>(parsed: Parsed<T>) -> T {
    match parsed {
        Parsed::Done(t) => t,
        other => panic!("expected a parsed head, got {other:?}"),
    }
}

#[test]
fn a_request_head_is_rewritten_like_the_general_path_does() {
    let raw = "GET /a?b=1 HTTP/1.1\r\nHost: Web.localhost:8080\r\nConnection: keep-alive, X-Secret\r\nx-secret: 1\r\n\
               Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nX-Forwarded-For: 6.6.6.6\r\n\
               X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nX-Custom: kept\r\nContent-Length: 0\r\n\r\n";
    let (parsed, out) = rewrite(raw, false);
    let req = done(parsed);
    assert_eq!(
        out,
        "GET /a?b=1 HTTP/1.1\r\nX-Custom: kept\r\nContent-Length: 0\r\nhost: Web.localhost:8080\r\n\
         x-forwarded-for: 10.1.2.3\r\nx-forwarded-proto: http\r\nx-forwarded-host: Web.localhost:8080\r\n\r\n"
    );
    assert_eq!((req.head_len, req.body_len), (raw.len(), 0));
    assert_eq!(&raw[req.host.0..req.host.1], "Web.localhost:8080");
    assert_eq!(req.cookie, None);
    assert!(req.idempotent && !req.is_head && !req.close);
}

#[test]
fn a_trusted_proxy_extends_the_forwarded_chain_and_keeps_https() {
    let raw = "POST / HTTP/1.1\r\nHost: web.localhost\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For:  , 2.2.2.2 \r\n\
               X-Forwarded-Proto: https\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc";
    let (parsed, out) = rewrite(raw, true);
    let req = done(parsed);
    assert!(out.contains("\r\nx-forwarded-for: 1.1.1.1, , 2.2.2.2, 10.1.2.3\r\n"), "{out}");
    assert!(out.contains("\r\nx-forwarded-proto: https\r\n"), "{out}");
    assert_eq!((req.head_len, req.body_len), (raw.len() - 3, 3));
    assert!(req.close && !req.idempotent);
    let (_, untrusted) = rewrite(raw, false);
    assert!(untrusted.contains("\r\nx-forwarded-for: 10.1.2.3\r\nx-forwarded-proto: http\r\n"), "{untrusted}");
}

#[test]
fn a_head_request_is_marked_so_its_response_has_no_body() {
    let req = done(rewrite("HEAD / HTTP/1.1\r\nHost: a.localhost\r\n\r\n", false).0);
    assert!(req.is_head && req.idempotent);
}

#[test]
fn unusual_or_malformed_requests_are_left_to_the_general_path() {
    let many_headers: String = (0..70).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases = [
        "GET / HTTP/1.0\r\nHost: a.localhost\r\n\r\n".to_string(),
        "CONNECT a.localhost:443 HTTP/1.1\r\nHost: a.localhost\r\n\r\n".into(),
        "GET http://a.localhost/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n".into(),
        "OPTIONS * HTTP/1.1\r\nHost: a.localhost\r\n\r\n".into(),
        "GET / HTTP/1.1\r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: a.localhost\r\nHost: b.localhost\r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: \r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: a.localhosté\r\n\r\n".into(),
        "POST / HTTP/1.1\r\nHost: a.localhost\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: a.localhost\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n".into(),
        "GET / HTTP/1.1\r\nHost: a.localhost\r\nConnection: Upgrade\r\n\r\n".into(),
        "POST / HTTP/1.1\r\nHost: a.localhost\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n".into(),
        "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n".into(),
        "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: +1\r\n\r\n".into(),
        "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 1,1\r\n\r\n".into(),
        "POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 99999999999999999999\r\n\r\n".into(),
        format!("POST / HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: {}\r\n\r\n", MAX_BUFFERED_BODY + 1),
        "GET / HTTP/1.1\r\nHost: a.localhost\r\nConnection: a, b, c, d, e, f, g, h, i\r\n\r\n".into(),
        format!("GET / HTTP/1.1\r\nHost: a.localhost\r\n{many_headers}\r\n"),
        "GET / HTTP/1.1\r\nHost a.localhost\r\n\r\n".into(),
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".into(),
        "\x16\x03\x01\x02\x00\x01\x00\x01".into(),
        format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_HEAD)),
    ];
    for raw in cases {
        let mut out = Vec::new();
        assert_eq!(request(raw.as_bytes(), &client(false), &mut out), Parsed::Other, "{raw:?}");
    }
}

#[test]
fn an_incomplete_head_asks_for_more() {
    let mut out = Vec::new();
    for raw in ["", "GET / HTTP/1.1\r\nHost: a.localhost\r\n", "GET / HT"] {
        assert_eq!(request(raw.as_bytes(), &client(false), &mut out), Parsed::Partial, "{raw:?}");
    }
}

fn answer(raw: &str, is_head: bool, keep: bool) -> (Parsed<Response>, String) {
    let mut out = Vec::new();
    let parsed = response(raw.as_bytes(), is_head, keep, None, &mut out);
    (parsed, String::from_utf8(out).expect("text"))
}

#[test]
fn a_response_head_loses_its_hop_by_hop_headers_and_keeps_its_framing() {
    let raw = "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\n\
               Content-Length: 5\r\nX-App: yes\r\n\r\nhello";
    let (parsed, out) = answer(raw, false, true);
    let res = done(parsed);
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-App: yes\r\n\r\n");
    assert_eq!(res, Response { head_len: raw.len() - 5, informational: false, framing: Framing::Length(5), reusable: true });

    let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\nTrailer: x\r\n\r\n";
    let (parsed, out) = answer(raw, false, true);
    assert_eq!(done(parsed).framing, Framing::Chunked);
    assert_eq!(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "the length is dropped, the chunks pass");
}

#[test]
fn a_body_without_length_ends_with_the_connection_on_both_sides() {
    for raw in ["HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.0 200 OK\r\n\r\n"] {
        let (parsed, out) = answer(raw, false, true);
        let res = done(parsed);
        assert_eq!((res.framing, res.reusable), (Framing::UntilClose, false), "{raw:?}");
        assert!(out.ends_with("connection: close\r\n\r\n"), "{out}");
        assert!(!out.to_ascii_lowercase().contains("transfer-encoding"), "{out}");
    }
}

#[test]
fn head_204_and_304_responses_have_no_body_whatever_they_announce() {
    let (parsed, out) = answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, true);
    assert_eq!(done(parsed).framing, Framing::Empty);
    assert!(out.contains("Content-Length: 10\r\n"), "a HEAD answer keeps its length: {out}");
    for raw in ["HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"] {
        let res = done(answer(raw, false, true).0);
        assert_eq!((res.framing, res.reusable), (Framing::Empty, true), "{raw:?}");
    }
}

#[test]
fn closing_is_asked_of_the_client_and_noted_for_the_upstream() {
    let (parsed, out) = answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false, false);
    assert!(!done(parsed).reusable);
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nconnection: close\r\n\r\n");
    let (parsed, out) = answer("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", false, false);
    assert!(done(parsed).informational);
    assert_eq!(out, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", "no close on an interim head");
}

#[test]
fn invalid_response_heads_are_refused() {
    for raw in [
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
        "HTTP/1.1 700 Odd\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "hello world\r\n\r\n",
    ] {
        assert_eq!(answer(raw, false, true).0, Parsed::Other, "{raw:?}");
    }
    let same = done(answer("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", false, true).0);
    assert_eq!(same.framing, Framing::Length(5), "repeated equal lengths are one length");
}

const CHUNKED: &[u8] = b"5;name=v\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n";

#[test]
fn the_end_of_a_chunked_body_is_found_in_one_piece_or_byte_by_byte() {
    let mut whole = CHUNKED.to_vec();
    whole.extend_from_slice(b"HTTP/1.1 200 OK"); // what follows is not the body's
    assert_eq!(Chunks::default().feed(&whole), Ok(Some(CHUNKED.len())));
    let mut chunks = Chunks::default();
    for (i, byte) in CHUNKED.iter().enumerate() {
        let end = chunks.feed(std::slice::from_ref(byte)).expect("valid");
        assert_eq!(end.is_some(), i == CHUNKED.len() - 1, "at byte {i}");
    }
    assert_eq!(Chunks::default().feed(b"0\r\n\r\n"), Ok(Some(5)));
    assert_eq!(Chunks::default().feed(b"4\r\nab"), Ok(None));
}

#[test]
fn malformed_chunked_bodies_are_errors() {
    for raw in [
        &b"x\r\n"[..],
        b"\r\n",
        b"5\r\nhelloX\r\n",
        b"5\nhello",
        b"5;ext\n",
        b"1111111111111111\r\n",
        b"0\r\nbad\n",
        b"0\r\n\rX",
    ] {
        assert_eq!(Chunks::default().feed(raw), Err(()), "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn the_first_cookie_header_is_found_and_a_replica_cookie_can_be_set() {
    let raw = "GET / HTTP/1.1\r\nHost: a.localhost\r\nCookie: a=1; rhone_replica=2\r\nCookie: b=2\r\n\r\n";
    let req = done(rewrite(raw, false).0);
    let (start, end) = req.cookie.expect("a cookie");
    assert_eq!(&raw[start..end], "a=1; rhone_replica=2");
    let mut out = Vec::new();
    let res = done(response(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", false, true, Some("rhone_replica=1; Path=/"), &mut out));
    assert!(res.reusable);
    assert_eq!(String::from_utf8(out).unwrap(), "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nset-cookie: rhone_replica=1; Path=/\r\n\r\n");
}

#[test]
fn a_request_over_the_https_listener_is_forwarded_as_https_whatever_it_claims() {
    let raw = "GET / HTTP/1.1\r\nHost: shop.example.com\r\nX-Forwarded-Proto: http\r\n\r\n";
    let mut out = Vec::new();
    let tls = Client::new(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), false, true);
    done(request(raw.as_bytes(), &tls, &mut out));
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("\r\nx-forwarded-proto: https\r\n") && !out.contains("proto: http\r\n"), "{out}");
}
