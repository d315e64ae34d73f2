//! Idle keep-alive connections to upstreams, shared by all client connections. A client
//! connection takes one when it starts talking to an upstream and gives it back when it ends or
//! moves to another upstream; between its requests it keeps the connection for itself, so the
//! pool (and its lock) is not touched per request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// An idle upstream connection older than this is closed (as the general path's pool does).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per upstream; more are closed.
const MAX_IDLE_PER_UPSTREAM: usize = 1024;

#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<HashMap<SocketAddr, Vec<(TcpStream, Instant)>>>,
}

impl Pool {
    /// An idle connection to `addr` that still looks open, if there is one.
    pub(crate) fn take(&self, addr: SocketAddr) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.get_mut(&addr)?;
        while let Some((stream, since)) = list.pop() {
            if since.elapsed() < IDLE_TIMEOUT && !looks_closed(&stream) {
                return Some(stream);
            }
        }
        None
    }

    /// Keeps `stream` (between two requests, nothing unread) for the next client of `addr`.
    pub(crate) fn put(&self, addr: SocketAddr, stream: TcpStream) {
        if looks_closed(&stream) {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let list = idle.entry(addr).or_default();
        if list.len() < MAX_IDLE_PER_UPSTREAM {
            list.push((stream, Instant::now()));
        }
    }

    /// Closes the connections idle for too long (those of versions that were stopped included).
    pub(crate) fn sweep(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|_, list| {
            list.retain(|(_, since)| since.elapsed() < IDLE_TIMEOUT);
            !list.is_empty()
        });
    }
}

/// True when the upstream has closed `stream` (or sent something unasked). Costs a system call
/// only when the socket was reported readable since it was last read dry.
pub(super) fn looks_closed(stream: &TcpStream) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    match stream.poll_read_ready(&mut cx) {
        Poll::Pending => false,
        Poll::Ready(Err(_)) => true,
        Poll::Ready(Ok(())) => !matches!(stream.try_read(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
    }
}
