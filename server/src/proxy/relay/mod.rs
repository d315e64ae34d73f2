//! The fast path: plain HTTP/1.1 requests to an app's HTTP upstream, relayed by the client
//! connection's own task. Heads are parsed in place and written on rewritten (the same header
//! rules as the general path), the upstream connection stays with the client connection across
//! its requests, and response bodies pass through as they come, framing untouched, so a stream
//! (SSE) flows chunk by chunk. No `HeaderMap`, no per-request task, lock or allocation.
//!
//! Anything else goes to the general (hyper) path for the rest of the connection, starting with
//! the bytes already read: upgrades (WebSocket), HTTP/2, chunked or large request bodies,
//! `Expect`, hosts without a live HTTP version (error pages, static sites), malformed requests.
//!
//! Each request holds its version's in-flight guard until the last byte of its response was
//! written (or the client left), exactly as on the general path.

mod head;
mod pool;

pub(crate) use pool::Pool;

/// How often idle upstream connections past their time are closed.
pub(crate) const IDLE_SWEEP: Duration = Duration::from_secs(15);

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use domain::routing::{InFlight, Lookup, Pick, Route, RouteTable, Target};
use http_body_util::BodyExt;
use hyper::Response;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use self::head::{Chunks, Framing, Parsed};
use super::body::ProxyBody;
use super::conn::Activity;
use super::{pages, Proxy};
use crate::lifecycle::DrainingFlag;

/// hyper's default for the general path: a request head must arrive within this once begun.
const HEAD_READ_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Read buffer sizes: client requests, upstream responses.
const CLIENT_BUF: usize = 4 * 1024;
const UPSTREAM_BUF: usize = 16 * 1024;
/// While a request waits for its upstream, at most this much more is read from its client.
const MAX_CLIENT_BUFFERED: usize = head::MAX_REQUEST_HEAD + head::MAX_BUFFERED_BODY;

/// How a connection left the fast path.
pub(crate) enum End {
    /// It is closed (or must be: the caller drops it).
    Closed,
    /// The general path serves the rest, starting with these bytes already read.
    General(Bytes),
}

/// One client connection on the fast path.
pub(crate) struct Relay {
    proxy: Arc<Proxy>,
    client: head::Client,
    activity: Arc<Activity>,
    /// Bytes read from the client and not yet relayed.
    buf: Vec<u8>,
    /// The head (and small body) being written.
    out: Vec<u8>,
    /// Bytes read from the upstream.
    ubuf: Vec<u8>,
    /// The upstream connection kept between requests (always between two responses).
    upstream: Option<Upstream>,
    /// The upstream head timeout. A timer per request would cost a timer-wheel insertion and
    /// removal each time, so a connection has one, armed at its first request's deadline.
    /// A request that finds it armed earlier than its own deadline leaves it; when it fires, a
    /// request still waiting past its deadline times out, otherwise the timer is moved on.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

struct Upstream {
    addr: SocketAddr,
    stream: TcpStream,
    /// It has carried a request before: it may have been closed by the upstream meanwhile.
    reused: bool,
}

/// Why no response head came from the upstream.
enum Failure {
    /// Connecting, sending or reading failed; `retry`: nothing was received on a reused
    /// connection, so an idempotent request may be sent again on a new one.
    Io { error: io::Error, retry: bool },
    /// The head was too long or not HTTP.
    Invalid,
}

impl Relay {
    pub(crate) fn new(proxy: Arc<Proxy>, peer: SocketAddr, activity: Arc<Activity>, https: bool) -> Relay {
        let trusted = proxy.options.trusted_proxies.contains(peer.ip());
        Relay {
            proxy,
            client: head::Client::new(peer.ip(), trusted, https),
            activity,
            buf: Vec::with_capacity(CLIENT_BUF),
            out: Vec::new(),
            ubuf: Vec::new(),
            upstream: None,
            timer: None,
        }
    }

    /// Serves requests until the connection closes or one needs the general path. `closing`
    /// resolves when open connections must close: an idle connection then closes at once, a
    /// busy one after its response. While `draining`, each response asks the client to close.
    pub(crate) async fn run<IO>(&mut self, io: &mut IO, mut closing: Pin<&mut impl Future<Output = ()>>, draining: &DrainingFlag) -> End
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        loop {
            let req = match self.read_request(io, closing.as_mut()).await {
                Ok(Some(req)) => req,
                Ok(None) => return self.general(),
                Err(()) => return End::Closed,
            };
            if self.proxy.table.answering_challenges() && is_acme_challenge(&self.buf[..req.head_len]) {
                return self.general();
            }
            let host = std::str::from_utf8(&self.buf[req.host.0..req.host.1]).unwrap_or_default();
            let cookie = req.cookie.and_then(|(start, end)| std::str::from_utf8(&self.buf[start..end]).ok());
            if self.proxy.table.domain_https(host).is_some_and(|h| h.needs_general_path(self.client.https)) {
                return self.general();
            }
            let Some((route, guard, pick)) = live_http(&self.proxy.table, host, cookie) else { return self.general() };
            let keep_client = !req.close && !draining.is_set();
            match self.relay(io, &req, &route, guard, pick, keep_client).await {
                Ok(true) => {}
                Ok(false) => {
                    let _ = io.shutdown().await;
                    return End::Closed;
                }
                Err(()) => return End::Closed,
            }
            self.buf.drain(..req.head_len + req.body_len);
        }
    }

    /// The connection with what it has read goes to the general path.
    fn general(&mut self) -> End {
        End::General(Bytes::from(std::mem::take(&mut self.buf)))
    }

    /// Reads until a whole request (head and buffered body) is at the start of `buf` and its
    /// upstream head is in `out`. `Ok(None)`: for the general path; `Err`: the client is gone
    /// (or too slow with its head, or `closing` fired while idle).
    async fn read_request<IO>(&mut self, io: &mut IO, mut closing: Pin<&mut impl Future<Output = ()>>) -> Result<Option<head::Request>, ()>
    where
        IO: AsyncRead + Unpin,
    {
        let mut head_deadline = None;
        loop {
            if !self.buf.is_empty() {
                match head::request(&self.buf, &self.client, &mut self.out) {
                    Parsed::Done(req) if self.buf.len() >= req.head_len + req.body_len => return Ok(Some(req)),
                    Parsed::Done(_) => head_deadline = None,
                    Parsed::Partial => {
                        head_deadline.get_or_insert_with(|| tokio::time::Instant::now() + HEAD_READ_TIMEOUT);
                    }
                    Parsed::Other => return Ok(None),
                }
            }
            let idle = self.buf.is_empty();
            let read = read_more(io, &mut self.buf, CLIENT_BUF);
            let n = if idle {
                tokio::select! {
                    biased;
                    () = closing.as_mut() => return Err(()),
                    n = read => n,
                }
            } else if let Some(deadline) = head_deadline {
                tokio::time::timeout_at(deadline, read).await.map_err(|_| ())?
            } else {
                read.await
            };
            match n {
                Ok(0) | Err(_) => return Err(()),
                Ok(_) => {}
            }
        }
    }

    /// Relays one request and its response. `Ok(keep)`: done, the connection may serve another
    /// request if `keep`; `Err`: the client is gone.
    async fn relay<IO>(&mut self, io: &mut IO, req: &head::Request, route: &Route, guard: InFlight, pick: Pick, keep_client: bool) -> Result<bool, ()>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let addr = pick.addr;
        self.out.extend_from_slice(&self.buf[req.head_len..req.head_len + req.body_len]);
        let waiting = self.activity.waiting();
        let timeout = self.proxy.options.upstream_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let exchanged = {
            let Relay { proxy, out, ubuf, upstream, buf, timer, .. } = self;
            // One timer per connection, not per request: armed once, it is moved on to the
            // current request's deadline only when it fires early (see `Relay::timer`).
            let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            let exchange = exchange(&proxy.pool, upstream, addr, out, ubuf, req.idempotent);
            tokio::pin!(exchange);
            // Meanwhile the client is read too, as the general path does: if it leaves, the
            // request is abandoned; bytes it sends (a next request) wait in `buf`.
            loop {
                tokio::select! {
                    biased;
                    done = &mut exchange => break Ok(done),
                    () = timer.as_mut() => {
                        if tokio::time::Instant::now() >= deadline {
                            break Err(());
                        }
                        timer.as_mut().reset(deadline);
                    }
                    n = read_more(io, buf, CLIENT_BUF), if buf.len() < MAX_CLIENT_BUFFERED => match n {
                        Ok(0) | Err(_) => return Err(()),
                        Ok(_) => {}
                    },
                }
            }
        };
        let mut up = match exchanged {
            Ok(Ok(up)) => up,
            Ok(Err(failure)) => {
                match failure {
                    Failure::Io { error, .. } => tracing::warn!(
                        app.slug = %route.app_slug, deployment.id = route.deployment_id, upstream = %addr, %error,
                        "upstream request failed"
                    ),
                    Failure::Invalid => tracing::warn!(
                        app.slug = %route.app_slug, deployment.id = route.deployment_id, upstream = %addr,
                        "upstream sent an invalid response head"
                    ),
                }
                return write_page(io, pages::bad_gateway(), req.is_head, keep_client).await.map(|()| keep_client);
            }
            Err(_) => {
                tracing::warn!(
                    app.slug = %route.app_slug, deployment.id = route.deployment_id, upstream = %addr,
                    timeout_secs = timeout.as_secs(), "upstream sent no response head in time"
                );
                return write_page(io, pages::gateway_timeout(), req.is_head, keep_client).await.map(|()| keep_client);
            }
        };
        drop(waiting);

        // Informational heads (e.g. 103) are relayed, then the final head.
        let (res, mut keep_client) = loop {
            self.out.clear();
            match head::response(&self.ubuf, req.is_head, keep_client, pick.set_cookie.as_deref(), &mut self.out) {
                Parsed::Done(res) if res.informational => {
                    io.write_all(&self.out).await.map_err(|_| ())?;
                    self.ubuf.drain(..res.head_len);
                }
                Parsed::Done(res) => {
                    let keep = keep_client && res.framing != Framing::UntilClose;
                    break (res, keep);
                }
                Parsed::Partial | Parsed::Other => {
                    tracing::warn!(
                        app.slug = %route.app_slug, deployment.id = route.deployment_id, upstream = %addr,
                        "upstream sent an invalid response head"
                    );
                    return write_page(io, pages::bad_gateway(), req.is_head, keep_client).await.map(|()| keep_client);
                }
            }
        };

        // The body: what came with the head, then read and written on until it ends.
        let mut body = Body::new(res.framing);
        let mut start = res.head_len;
        let mut reusable = res.reusable;
        loop {
            let available = &self.ubuf[start..];
            let Ok((take, done)) = body.advance(available) else {
                tracing::warn!(app.slug = %route.app_slug, deployment.id = route.deployment_id, "upstream sent an invalid chunked body");
                return Err(());
            };
            reusable &= take == available.len() || !done;
            if start > 0 {
                // The head and the first body bytes go out in one write.
                self.out.extend_from_slice(&available[..take]);
                io.write_all(&self.out).await.map_err(|_| ())?;
            } else if take > 0 {
                io.write_all(&available[..take]).await.map_err(|_| ())?;
            }
            route.count_sent(take as u64);
            if done {
                break;
            }
            self.ubuf.clear();
            start = 0;
            match read_more(&mut up.stream, &mut self.ubuf, UPSTREAM_BUF).await {
                Ok(0) if res.framing == Framing::UntilClose => {
                    reusable = false;
                    keep_client = false;
                    break;
                }
                // The upstream ended the body early: the client can only learn by the close.
                Ok(0) | Err(_) => return Err(()),
                Ok(_) => {}
            }
        }
        drop(guard);
        if reusable {
            up.reused = true;
            self.upstream = Some(up);
        }
        self.ubuf.clear();
        Ok(keep_client)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(up) = self.upstream.take() {
            self.proxy.pool.put(up.addr, up.stream);
        }
    }
}

/// Whether a request head asks for an ACME http-01 challenge response (answered by the general path).
fn is_acme_challenge(head: &[u8]) -> bool {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    line.windows(super::ACME_CHALLENGE_PATH.len()).any(|w| w == super::ACME_CHALLENGE_PATH.as_bytes())
}

/// The live version of `host` if it is served over HTTP (one instance or replicas), with this
/// request counted on it and the instance picked. A version retired between the lookup and the
/// count (a deploy switched just then) refuses it; the table, already switched, then gives the one
/// that replaced it.
fn live_http(table: &RouteTable, host: &str, cookie: Option<&str>) -> Option<(Arc<Route>, InFlight, Pick)> {
    for _ in 0..8 {
        let Lookup::Live(route) = table.lookup(host) else { return None };
        let pick = match &route.target {
            Target::Http(addr) => Pick { addr: *addr, set_cookie: None },
            Target::Pool(pool) => pool.pick(cookie)?,
            Target::Static { .. } => return None,
        };
        if let Some(guard) = route.try_begin() {
            return Some((route, guard, pick));
        }
    }
    None
}

/// Sends the request in `out` to `addr` on the kept connection, an idle one of the pool or a new
/// one, and reads until a final response head (after any 1xx ones) is in `ubuf`. A reused
/// connection found closed before anything came back is replaced once for an idempotent request.
async fn exchange(
    pool: &Pool,
    kept: &mut Option<Upstream>,
    addr: SocketAddr,
    out: &[u8],
    ubuf: &mut Vec<u8>,
    idempotent: bool,
) -> Result<Upstream, Failure> {
    let mut fresh_only = false;
    loop {
        let mut up = connection(pool, kept, addr, fresh_only).await.map_err(|error| Failure::Io { error, retry: false })?;
        ubuf.clear();
        match send_and_read_head(&mut up, out, ubuf).await {
            Ok(()) => return Ok(up),
            Err(Failure::Io { retry: true, .. }) if up.reused && idempotent && !fresh_only => fresh_only = true,
            Err(failure) => return Err(failure),
        }
    }
}

async fn connection(pool: &Pool, kept: &mut Option<Upstream>, addr: SocketAddr, fresh_only: bool) -> io::Result<Upstream> {
    if let Some(up) = kept.take() {
        if up.addr == addr && !fresh_only && !pool::looks_closed(&up.stream) {
            return Ok(up);
        }
        if up.addr != addr {
            pool.put(up.addr, up.stream);
        }
    }
    if !fresh_only {
        if let Some(stream) = pool.take(addr) {
            return Ok(Upstream { addr, stream, reused: true });
        }
    }
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(Upstream { addr, stream, reused: false })
}

async fn send_and_read_head(up: &mut Upstream, out: &[u8], ubuf: &mut Vec<u8>) -> Result<(), Failure> {
    up.stream.write_all(out).await.map_err(|error| Failure::Io { error, retry: true })?;
    loop {
        match read_more(&mut up.stream, ubuf, UPSTREAM_BUF).await {
            Ok(0) => {
                let error = io::Error::new(io::ErrorKind::UnexpectedEof, "the upstream closed the connection");
                return Err(Failure::Io { error, retry: ubuf.is_empty() });
            }
            Err(error) => return Err(Failure::Io { retry: ubuf.is_empty(), error }),
            Ok(_) => {}
        }
        if final_head_end(ubuf).is_some() {
            return Ok(());
        }
        if ubuf.len() >= head::MAX_RESPONSE_HEAD {
            return Err(Failure::Invalid);
        }
    }
}

/// Where the first non-1xx response head in `buf` ends, if it is complete.
fn final_head_end(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    loop {
        let end = start + buf[start..].windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let informational = buf.get(start + 9) == Some(&b'1') && buf[start..].starts_with(b"HTTP/1.");
        if !informational {
            return Some(end);
        }
        start = end;
    }
}

/// Reads once into the spare room of `buf` (made at least `chunk` long).
async fn read_more<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut Vec<u8>, chunk: usize) -> io::Result<usize> {
    if buf.capacity() - buf.len() < chunk / 4 {
        buf.reserve(chunk);
    }
    reader.read_buf(buf).await
}

/// Where a response body stands while it passes through.
enum Body {
    Done,
    Length(u64),
    Chunked(Chunks),
    UntilClose,
}

impl Body {
    fn new(framing: Framing) -> Body {
        match framing {
            Framing::Empty | Framing::Length(0) => Body::Done,
            Framing::Length(n) => Body::Length(n),
            Framing::Chunked => Body::Chunked(Chunks::default()),
            Framing::UntilClose => Body::UntilClose,
        }
    }

    /// How many bytes of `data` belong to the body, and whether the body ends there.
    fn advance(&mut self, data: &[u8]) -> Result<(usize, bool), ()> {
        match self {
            Body::Done => Ok((0, true)),
            Body::Length(left) => {
                let take = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
                *left -= take as u64;
                let done = *left == 0;
                if done {
                    *self = Body::Done;
                }
                Ok((take, done))
            }
            Body::Chunked(chunks) => match chunks.feed(data)? {
                Some(end) => {
                    *self = Body::Done;
                    Ok((end, true))
                }
                None => Ok((data.len(), false)),
            },
            Body::UntilClose => Ok((data.len(), false)),
        }
    }
}

/// Writes one of the proxy's own pages as an HTTP/1.1 response.
async fn write_page<IO: AsyncWrite + Unpin>(io: &mut IO, page: Response<ProxyBody>, is_head: bool, keep: bool) -> Result<(), ()> {
    let (parts, body) = page.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {}\r\n", parts.status).as_bytes());
    for (name, value) in &parts.headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    if !keep {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !is_head {
        out.extend_from_slice(&body);
    }
    io.write_all(&out).await.map_err(|_| ())
}
