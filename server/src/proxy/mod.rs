//! The reverse proxy: every request is routed by its `Host` header to the live version of an app,
//! an HTTP process on loopback or a static directory.
//!
//! Two paths serve a connection. The fast path (`relay`) relays plain HTTP/1.1 requests to an
//! app's HTTP upstream from the connection's own task, heads rewritten in place and bodies passed
//! through; whatever it does not handle (upgrades, HTTP/2, chunked or large uploads, error pages,
//! static sites) it hands, with the bytes already read, to the general path: hyper's
//! server with a pooled hyper client (`forward.rs`, `upgrade.rs`, `static_files.rs`).
//!
//! The hot path only reads the [`RouteTable`] (a lock-free snapshot) and never touches the
//! database. Each forwarded request holds the version's in-flight guard until its response body
//! has been sent (or its upgraded connection closed), so the deploy pipeline can drain an old
//! version before stopping it.
//!
//! Bounds: an upstream gets `upstream_timeout` to send its response head (then 504), a client
//! connection idle for `idle_timeout` is closed, and at most `max_connections` client sockets are
//! open at once (see [`ProxyOptions`] and `conn.rs`).

mod body;
mod conn;
mod forward;
mod pages;
mod relay;
mod static_files;
mod upgrade;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::net::TrustedProxies;
use domain::routing::{InFlight, Lookup, Route, RouteTable, Target};
use http::header::HOST;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::lifecycle::Lifecycle;
use body::ProxyBody;
use conn::{Activity, Rewind, Tracked};
use forward::UpstreamClient;

/// How long in-flight connections may take to finish once shutdown has begun.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The proxy's bounds and whom it believes (from `rhone.toml`: `proxy_*`, `trusted_proxies`).
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    /// How long an upstream may take to send its response head before the client gets a 504.
    pub upstream_timeout: Duration,
    /// A client connection that moves no byte for this long, with no request waiting for its
    /// upstream, is closed.
    pub idle_timeout: Duration,
    /// Open client connections (upgraded ones included). Beyond it new connections wait in the
    /// listen backlog until one closes; open ones are served as usual.
    pub max_connections: usize,
    /// Peers whose `X-Forwarded-For` is extended; from anyone else it is replaced.
    pub trusted_proxies: TrustedProxies,
    /// The HTTPS listener's port, for redirects to HTTPS (`None`: no HTTPS listener).
    pub https_port: Option<u16>,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            upstream_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            trusted_proxies: TrustedProxies::default(),
            https_port: None,
        }
    }
}

/// State shared by all connections.
struct Proxy {
    table: Arc<RouteTable>,
    /// The general path's pooled client.
    client: UpstreamClient,
    /// The fast path's idle upstream connections.
    pool: relay::Pool,
    builder: auto::Builder<TokioExecutor>,
    options: ProxyOptions,
}

/// Serves the proxy on `listener` until `shutdown` resolves. Then it stops accepting, asks open
/// connections to finish gracefully (hyper_util's `GracefulShutdown`) and waits for them at most
/// 10 s. Upgraded connections (WebSockets) are not waited for.
///
/// Accept errors (e.g. running out of file descriptors) are logged and retried, never fatal.
pub async fn serve(
    listener: TcpListener,
    table: Arc<RouteTable>,
    options: ProxyOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_until(listener, table, options, Lifecycle::stop_on(shutdown)).await
}

/// As [`serve`], ended by a [`Lifecycle`]: stopping as above, or draining after a handover: accept
/// nothing more, answer every HTTP/1 response with `Connection: close`, and wait for the open
/// connections (upgraded ones included) to close, at most until the drain deadline; then as above.
pub async fn serve_until(listener: TcpListener, table: Arc<RouteTable>, options: ProxyOptions, lifecycle: Lifecycle) -> io::Result<()> {
    serve_listener(listener, table, options, lifecycle, None).await
}

/// The path ACME http-01 challenges are asked at (answered for any host while one is pending).
pub(crate) const ACME_CHALLENGE_PATH: &str = "/.well-known/acme-challenge/";

/// How long a client may take over the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTPS listener: as [`serve_until`], each connection a TLS handshake first (certificates
/// picked by SNI from `certs`; ALPN `h2` and `http/1.1`, and `acme-tls/1` for tls-alpn-01
/// validators, whose connection ends with the handshake), then the same routing with
/// `X-Forwarded-Proto: https`.
pub async fn serve_tls_until(
    listener: TcpListener,
    table: Arc<RouteTable>,
    options: ProxyOptions,
    lifecycle: Lifecycle,
    certs: Arc<domain::tls::CertStore>,
) -> io::Result<()> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_cert_resolver(certs.clone());
    // `acme-tls/1` last: only a tls-alpn-01 validator offers it, and alone
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), domain::tls::ACME_TLS_ALPN.to_vec()];
    serve_listener(listener, table, options, lifecycle, Some((tokio_rustls::TlsAcceptor::from(Arc::new(config)), certs))).await
}

async fn serve_listener(
    listener: TcpListener,
    table: Arc<RouteTable>,
    options: ProxyOptions,
    lifecycle: Lifecycle,
    tls: Option<(tokio_rustls::TlsAcceptor, Arc<domain::tls::CertStore>)>,
) -> io::Result<()> {
    let cap = u32::try_from(options.max_connections.max(1)).unwrap_or(u32::MAX);
    let slots = Arc::new(Semaphore::new(cap as usize));
    let idle = options.idle_timeout;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The timer enables hyper's default 30 s limit for reading request heads (slow-loris guard).
    builder.http1().keep_alive(true).timer(TokioTimer::new());
    let proxy = Arc::new(Proxy { table, client: forward::client(), pool: relay::Pool::default(), builder, options });
    tokio::spawn(sweep_idle_upstreams(Arc::downgrade(&proxy)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(lifecycle.stop_accepting());

    loop {
        // At the cap, stop accepting: new connections wait in the backlog, open ones go on.
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "proxy failed to accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%peer, %error, "could not set TCP_NODELAY");
        }
        let activity = Activity::new();
        let io = Tracked::new(stream, activity.clone(), slot);
        let (proxy, lc, watcher) = (proxy.clone(), lifecycle.clone(), graceful.watcher());
        let connection: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = match &tls {
            None => Box::pin(serve_connection(proxy, io, peer, activity.clone(), lc, watcher, Https::No)),
            Some((acceptor, certs)) => {
                let (acceptor, certs, activity) = (acceptor.clone(), certs.clone(), activity.clone());
                Box::pin(async move {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
                        Ok(Ok(mut stream)) => {
                            if stream.get_ref().1.alpn_protocol() == Some(domain::tls::ACME_TLS_ALPN) {
                                // a tls-alpn-01 validation is the handshake itself
                                let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
                                return;
                            }
                            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                            let sni = stream.get_ref().1.server_name().map(str::to_string);
                            match sni.filter(|name| certs.get(name).is_some()) {
                                Some(_) => serve_connection(proxy, stream, peer, activity, lc, watcher, if h2 { Https::H2 } else { Https::Http1 }).await,
                                // the fallback certificate: every request learns why
                                None => serve_no_certificate(proxy, stream, peer, watcher).await,
                            }
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                })
            }
        };
        tokio::spawn(async move {
            tokio::select! {
                () = connection => {}
                () = conn::idle_for(activity, idle) => tracing::debug!(%peer, "closed an idle proxy connection"),
            }
        });
    }

    drop(listener);
    // Draining: what is open goes on until it closes (every slot back) or the deadline passes.
    tokio::select! {
        _ = slots.acquire_many(cap) => tracing::debug!("proxy connections closed"),
        () = lifecycle.close_connections() => {}
    }
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("proxy connections drained"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("proxy connections still open after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
    }
    Ok(())
}

/// How a connection came: plain HTTP, or TLS with HTTP/1.1 or HTTP/2 negotiated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Https {
    No,
    Http1,
    H2,
}

/// One client connection: the fast path (`relay`, HTTP/1 only) first; what it does not handle,
/// the general path (hyper) serves from there on.
async fn serve_connection<IO>(proxy: Arc<Proxy>, mut io: IO, peer: SocketAddr, activity: Arc<Activity>, lifecycle: Lifecycle, watcher: Watcher, https: Https)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let draining = lifecycle.draining_flag();
    let closing = lifecycle.close_connections();
    tokio::pin!(closing);
    let read = if https == Https::H2 {
        Default::default()
    } else {
        let mut relay = relay::Relay::new(proxy.clone(), peer, activity.clone(), https != Https::No);
        match relay.run(&mut io, closing.as_mut(), &draining).await {
            relay::End::Closed => return,
            relay::End::General(read) => read,
        }
    };
    let tls = https != Https::No;
    let general = proxy.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        let (proxy, waiting, draining) = (general.clone(), activity.waiting(), draining.clone());
        async move {
            let version = req.version();
            let mut response = handle(proxy, peer, tls, req).await;
            drop(waiting);
            if draining.is_set() {
                if let Ok(response) = &mut response {
                    crate::lifecycle::ask_to_close(version, response);
                }
            }
            response
        }
    });
    let io = TokioIo::new(Rewind::new(io, read));
    let connection = proxy.builder.serve_connection_with_upgrades(io, service).into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "proxy connection ended with an error");
    }
}

/// A TLS connection for a host Rhone has no certificate for (it got the self-signed fallback):
/// each request is answered with why, never routed.
async fn serve_no_certificate<IO>(proxy: Arc<Proxy>, io: IO, peer: SocketAddr, watcher: Watcher)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(|req: Request<Incoming>| async move {
        let host = request_host(&req).unwrap_or_default();
        Ok::<_, Infallible>(pages::no_certificate(&host))
    });
    let connection = proxy.builder.serve_connection(TokioIo::new(io), service).into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%peer, %error, "a connection without a certificate ended with an error");
    }
}

/// Closes idle upstream connections of the fast path's pool now and then, until the proxy ends.
async fn sweep_idle_upstreams(proxy: std::sync::Weak<Proxy>) {
    loop {
        tokio::time::sleep(relay::IDLE_SWEEP).await;
        match proxy.upgrade() {
            Some(proxy) => proxy.pool.sweep(),
            None => return,
        }
    }
}

/// Routes one request. Never fails: every problem becomes an error page.
async fn handle(
    proxy: Arc<Proxy>,
    peer: SocketAddr,
    https: bool,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    if let Some(token) = req.uri().path().strip_prefix(ACME_CHALLENGE_PATH) {
        if let Some(key_authorization) = proxy.table.challenge(token) {
            return Ok(pages::acme_challenge(key_authorization));
        }
    }
    let Some(host) = request_host(&req) else {
        return Ok(pages::bad_request());
    };
    let domain_https = proxy.table.domain_https(&host).unwrap_or_default();
    if !https && domain_https.redirect && domain_https.certificate {
        if let Some(port) = proxy.options.https_port {
            let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str());
            return Ok(pages::to_https(&host, port, path_and_query));
        }
    }
    if req.method() == Method::CONNECT {
        return Ok(pages::bad_request());
    }
    let path_and_query = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
    let (route, guard) = match begin(&proxy.table, &host, &path_and_query) {
        Ok(live) => live,
        Err(page) => return Ok(page),
    };
    let response = match &route.target {
        Target::Http(addr) => {
            let addr = *addr;
            let trusted = proxy.options.trusted_proxies.contains(peer.ip());
            let upstream = forward::Upstream { addr, timeout: proxy.options.upstream_timeout };
            forward::forward(&proxy.client, &route, guard, upstream, &host, forward::Peer { addr: peer, trusted, https }, req).await
        }
        Target::Pool(pool) => {
            let cookie = req.headers().get(hyper::header::COOKIE).and_then(|v| v.to_str().ok());
            let Some(pick) = pool.pick(cookie) else { return Ok(pages::no_live_version(&route.app_slug)) };
            let trusted = proxy.options.trusted_proxies.contains(peer.ip());
            let upstream = forward::Upstream { addr: pick.addr, timeout: proxy.options.upstream_timeout };
            let mut res = forward::forward(&proxy.client, &route, guard, upstream, &host, forward::Peer { addr: peer, trusted, https }, req).await;
            if let Some(c) = pick.set_cookie.and_then(|c| hyper::header::HeaderValue::from_str(&c).ok()) {
                res.headers_mut().append(hyper::header::SET_COOKIE, c);
            }
            res
        }
        Target::Static { root, spa } => static_files::serve(root, *spa, req, guard, route.sent_counter()).await,
    };
    let mut response = response;
    if https && domain_https.hsts {
        response.headers_mut().insert(hyper::header::STRICT_TRANSPORT_SECURITY, hyper::header::HeaderValue::from_static("max-age=31536000"));
    }
    Ok(response)
}

/// The live version for `host` with this request counted in flight on it. A version retired
/// between the lookup and the count (a deploy switched just then) refuses the request; the
/// table, already switched, then gives the version that replaced it.
#[expect(clippy::result_large_err, reason = "the page is the answer, built at most once per request")]
fn begin(table: &RouteTable, host: &str, path_and_query: &str) -> Result<(Arc<Route>, InFlight), Response<ProxyBody>> {
    for _ in 0..8 {
        match table.lookup(host) {
            Lookup::Unknown => return Err(pages::unknown_host(host)),
            Lookup::NoLiveVersion(slug) => return Err(pages::no_live_version(&slug)),
            Lookup::Stopped(slug) => return Err(pages::stopped(&slug)),
            Lookup::Redirect(to) => return Err(pages::redirect(&to, host, path_and_query)),
            Lookup::Live(route) => {
                if let Some(guard) = route.try_begin() {
                    return Ok((route, guard));
                }
            }
        }
    }
    // Only a table left pointing at a retired version gets here (nothing does that on purpose).
    Err(pages::no_live_version(host))
}

/// The `Host` header, or the URI authority of an absolute-form request without one. `None` when
/// neither is usable (missing, empty or not valid text).
fn request_host<B>(req: &Request<B>) -> Option<String> {
    let host = match req.headers().get(HOST) {
        Some(value) => value.to_str().ok()?,
        None => req.uri().authority()?.as_str(),
    };
    let host = host.trim();
    (!host.is_empty()).then(|| host.to_owned())
}
