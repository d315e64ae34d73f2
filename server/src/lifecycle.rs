//! How Rhone's listeners end: at once (`rhone serve` stops) or by draining (a new `rhone serve` took
//! over the listening sockets). Draining accepts nothing more (the new process accepts from the same
//! kernel sockets), answers every HTTP/1 response with `Connection: close` so keep-alive clients move
//! to the new process after their next request, and waits for the connections already open to close,
//! at most until the drain deadline. A client's request is never cut by Rhone closing an idle
//! keep-alive connection under it before that deadline.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::CONNECTION;
use http::{HeaderValue, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// Where the listeners are in their life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Serving,
    /// Handed over: accept nothing, serve what is open until it closes or `until` passes.
    Draining { until: Instant },
    /// Stopping: accept nothing, finish requests in flight, close the rest now.
    Stopping,
}

/// The side that decides (held by `Running`).
pub struct Control {
    tx: watch::Sender<Phase>,
    draining: Arc<AtomicBool>,
}

/// The side each listener watches (cheap to clone).
#[derive(Clone)]
pub struct Lifecycle {
    rx: watch::Receiver<Phase>,
    draining: Arc<AtomicBool>,
}

impl Control {
    /// A new lifecycle, serving, and its control.
    pub fn new() -> (Control, Lifecycle) {
        let (tx, rx) = watch::channel(Phase::Serving);
        let draining = Arc::new(AtomicBool::new(false));
        (Control { tx, draining: draining.clone() }, Lifecycle { rx, draining })
    }

    /// Stop accepting and drain the open connections for at most `timeout`.
    pub fn drain(&self, timeout: Duration) {
        self.draining.store(true, Ordering::SeqCst);
        let until = Instant::now() + timeout;
        self.tx.send_if_modified(|p| {
            let was_serving = *p == Phase::Serving;
            if was_serving {
                *p = Phase::Draining { until };
            }
            was_serving
        });
    }

    /// Stop accepting and close what is open (requests in flight get a bounded grace).
    pub fn stop(&self) {
        self.tx.send_replace(Phase::Stopping);
    }
}

impl Lifecycle {
    /// A lifecycle that stops (without draining) once `shutdown` resolves.
    pub fn stop_on(shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Lifecycle {
        let (control, lifecycle) = Control::new();
        tokio::spawn(async move {
            shutdown.await;
            control.stop();
        });
        lifecycle
    }

    /// Resolves once the listener must stop accepting (draining or stopping; also when the
    /// controlling side is gone).
    pub async fn stop_accepting(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|p| *p != Phase::Serving).await;
    }

    /// Resolves once the connections still open must be closed: at once when stopping, at the
    /// deadline when draining.
    pub async fn close_connections(&self) {
        let mut rx = self.rx.clone();
        loop {
            let phase = *rx.borrow_and_update();
            match phase {
                Phase::Stopping => return,
                Phase::Draining { until } => {
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => return,
                        changed = rx.changed() => if changed.is_err() { return },
                    }
                }
                Phase::Serving => {
                    if rx.changed().await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// True once draining: responses then ask HTTP/1 clients to close the connection.
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Just the draining flag, cheap to clone per request.
    pub fn draining_flag(&self) -> DrainingFlag {
        DrainingFlag(self.draining.clone())
    }
}

/// See [`Lifecycle::draining_flag`].
#[derive(Clone)]
pub struct DrainingFlag(Arc<AtomicBool>);

impl DrainingFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Asks an HTTP/1 client to close its connection after this response (a switch of protocols keeps
/// its own `Connection: upgrade`; HTTP/2 has no such header and gets GOAWAY at the end instead).
pub fn ask_to_close<B>(version: Version, response: &mut http::Response<B>) {
    if version < Version::HTTP_2 && response.status() != StatusCode::SWITCHING_PROTOCOLS {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
}

/// Middleware of the dashboard/API router: `Connection: close` while draining.
pub async fn close_when_draining(State(lifecycle): State<Lifecycle>, req: Request, next: Next) -> Response {
    let version = req.version();
    let mut response = next.run(req).await;
    if lifecycle.draining() {
        ask_to_close(version, &mut response);
    }
    response
}

/// Open connections of a listener, and a wait for none.
#[derive(Default)]
pub(crate) struct OpenCount {
    n: AtomicUsize,
    zero: Notify,
}

impl OpenCount {
    pub(crate) async fn none_open(&self) {
        loop {
            let notified = self.zero.notified();
            if self.n.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The dashboard/API listener for axum: stops accepting when told, counts its open connections.
pub(crate) struct DrainListener {
    inner: TcpListener,
    lifecycle: Lifecycle,
    open: Arc<OpenCount>,
}

impl DrainListener {
    pub(crate) fn new(inner: TcpListener, lifecycle: Lifecycle) -> (DrainListener, Arc<OpenCount>) {
        let open = Arc::new(OpenCount::default());
        (DrainListener { inner, lifecycle, open: open.clone() }, open)
    }
}

impl axum::serve::Listener for DrainListener {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            tokio::select! {
                () = self.lifecycle.stop_accepting() => std::future::pending::<()>().await,
                accepted = self.inner.accept() => match accepted {
                    Ok((stream, peer)) => {
                        self.open.n.fetch_add(1, Ordering::SeqCst);
                        return (Counted { io: stream, open: self.open.clone() }, peer);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "dashboard listener failed to accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection counted as open until it is dropped.
pub(crate) struct Counted {
    io: TcpStream,
    open: Arc<OpenCount>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        if self.open.n.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.open.zero.notify_waiters();
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, data)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_stops_accepting_at_once_and_closes_connections_at_the_deadline() {
        let (control, lifecycle) = Control::new();
        assert!(!lifecycle.draining());
        control.drain(Duration::from_millis(30));
        lifecycle.stop_accepting().await;
        assert!(lifecycle.draining());
        lifecycle.close_connections().await;
    }

    #[tokio::test]
    async fn a_stop_during_a_drain_closes_connections_at_once() {
        let (control, lifecycle) = Control::new();
        control.drain(Duration::from_secs(3600));
        let closing = tokio::spawn({
            let lifecycle = lifecycle.clone();
            async move { lifecycle.close_connections().await }
        });
        control.stop();
        closing.await.unwrap();
    }

    #[test]
    fn only_http1_responses_that_keep_their_protocol_are_asked_to_close() {
        let mut ok = http::Response::new(());
        ask_to_close(Version::HTTP_11, &mut ok);
        assert_eq!(ok.headers()[CONNECTION], "close");
        let mut upgrade = http::Response::builder().status(StatusCode::SWITCHING_PROTOCOLS).body(()).unwrap();
        ask_to_close(Version::HTTP_11, &mut upgrade);
        assert!(upgrade.headers().get(CONNECTION).is_none());
        let mut h2 = http::Response::new(());
        ask_to_close(Version::HTTP_2, &mut h2);
        assert!(h2.headers().get(CONNECTION).is_none());
    }
}
