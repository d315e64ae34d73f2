//! The reverse proxy: every request is routed by its `Host` header to the live version of an app,
//! an HTTP process on loopback or a static directory.
//!
//! The hot path only reads the [`RouteTable`] (a lock-free snapshot) and never touches the
//! database. Each forwarded request holds the version's in-flight guard until its response body
//! has been sent (or its upgraded connection closed), so the deploy pipeline can drain an old
//! version before stopping it.

mod body;
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

use domain::routing::{Lookup, RouteTable, Target};
use http::header::HOST;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use body::ProxyBody;
use forward::UpstreamClient;

/// How long in-flight connections may take to finish once shutdown has begun.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// State shared by all connections.
struct Proxy {
    table: Arc<RouteTable>,
    client: UpstreamClient,
}

/// Serves the proxy on `listener` until `shutdown` resolves. Then it stops accepting, asks open
/// connections to finish gracefully (hyper_util's `GracefulShutdown`) and waits for them at most
/// 10 s. Upgraded connections (WebSockets) are not waited for.
///
/// Accept errors (e.g. running out of file descriptors) are logged and retried, never fatal.
pub async fn serve(
    listener: TcpListener,
    table: Arc<RouteTable>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let proxy = Arc::new(Proxy { table, client: forward::client() });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The timer enables hyper's default 30 s limit for reading request heads (slow-loris guard).
    builder.http1().keep_alive(true).timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
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
        let proxy = proxy.clone();
        let service = service_fn(move |req| handle(proxy.clone(), peer, req));
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "proxy connection ended with an error");
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
                forward::forward(&proxy.client, route, addr, &host, peer, req).await
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
