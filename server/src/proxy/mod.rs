//! The reverse proxy: every request is routed by its `Host` header to the live version of an app,
//! an HTTP process on loopback or a static directory.
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
mod static_files;
mod upgrade;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::net::TrustedProxies;
use domain::routing::{Lookup, RouteTable, Target};
use http::header::HOST;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use body::ProxyBody;
use conn::{Activity, Tracked};
use forward::UpstreamClient;

/// How long in-flight connections may take to finish once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            upstream_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// State shared by all connections.
struct Proxy {
    table: Arc<RouteTable>,
    client: UpstreamClient,
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
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let idle = options.idle_timeout;
    let proxy = Arc::new(Proxy { table, client: forward::client(), options });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The timer enables hyper's default 30 s limit for reading request heads (slow-loris guard).
    builder.http1().keep_alive(true).timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // At the cap, stop accepting: new connections wait in the backlog, open ones go on.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
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
        let io = TokioIo::new(Tracked::new(stream, activity.clone(), slot));
        let (proxy, waiting) = (proxy.clone(), activity.clone());
        let service = service_fn(move |req| {
            let (proxy, waiting) = (proxy.clone(), waiting.waiting());
            async move {
                let response = handle(proxy, peer, req).await;
                drop(waiting);
                response
            }
        });
        let connection = builder.serve_connection_with_upgrades(io, service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%peer, %error, "proxy connection ended with an error");
                    }
                }
                () = conn::idle_for(activity, idle) => tracing::debug!(%peer, "closed an idle proxy connection"),
            }
        });
    }

    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("proxy connections drained"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("proxy connections still open after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
    }
    Ok(())
}

/// Routes one request. Never fails: every problem becomes an error page.
async fn handle(
    proxy: Arc<Proxy>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let Some(host) = request_host(&req) else {
        return Ok(pages::bad_request());
    };
    if req.method() == Method::CONNECT {
        return Ok(pages::bad_request());
    }
    let response = match proxy.table.lookup(&host) {
        Lookup::Unknown => pages::unknown_host(&host),
        Lookup::NoLiveVersion(slug) => pages::no_live_version(&slug),
        Lookup::Live(route) => match &route.target {
            Target::Http(addr) => {
                let addr = *addr;
                let trusted = proxy.options.trusted_proxies.contains(peer.ip());
                let upstream = forward::Upstream { addr, timeout: proxy.options.upstream_timeout };
                forward::forward(&proxy.client, route, upstream, &host, forward::Peer { addr: peer, trusted }, req).await
            }
            Target::Static(dir) => static_files::serve(dir, req, route.begin()).await,
        },
    };
    Ok(response)
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
