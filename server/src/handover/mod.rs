//! Upgrading Rhone in place: a new `rhone serve` on the same data dir takes over from the running
//! one without refusing a connection, dropping a request or restarting an app.
//!
//! The running Rhone listens on `<data_dir>/control.sock` (0600, in the 0700 data dir; a peer of
//! another uid is refused). The new process, before binding anything, connects and:
//!
//! 1. `rhone-handover 1` → `listeners <api> <proxy>` with both listening sockets attached
//!    (`SCM_RIGHTS`): the same kernel sockets, so their accept queues carry over;
//! 2. `release` → the old process stops claiming jobs, fails deployments in progress as a shutdown
//!    does, detaches the apps (left running), writes its logs, lets go of the data dir's lock, and
//!    answers `released`; it still proxies meanwhile;
//! 3. the new process takes the lock, runs recovery (re-adopts the apps, same pids), starts its
//!    workers, accepts on the inherited sockets, then says `ready`;
//! 4. the old process stops accepting and drains: the connections it has open are served until they
//!    close (every HTTP/1 response says `Connection: close`), at most `drain_timeout`; then it exits.
//!
//! If the new process goes away between 2 and 3 (the connection closes without `ready`), the old
//! one takes the lock back, recovers and goes on supervising. Anything else on the socket (another
//! user, bytes that are not this exchange, a second handover at the same time) is answered with
//! nothing or `busy` and changes nothing.

mod fds;

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, Mutex};

use crate::lifecycle;
use crate::supervise::{Resume, Supervision};

const HELLO: &str = "rhone-handover 1";
/// The longest line either side sends; a longer one ends the exchange.
const MAX_LINE: usize = 256;
/// How long the running process waits for a connection's first line.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long either side waits for the other's next step (releasing waits for jobs to wind down).
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// One end of the control connection: lines of text, the first answer with descriptors.
struct Channel {
    stream: UnixStream,
    buf: Vec<u8>,
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl Channel {
    fn new(stream: UnixStream) -> Channel {
        Channel { stream, buf: Vec::new() }
    }

    /// The next line taken from the buffer, if a whole one is there.
    fn take_line(&mut self) -> io::Result<Option<String>> {
        match self.buf.iter().position(|b| *b == b'\n') {
            Some(end) => {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                let text = std::str::from_utf8(&line[..end]).map_err(|_| bad("not text"))?;
                Ok(Some(text.to_string()))
            }
            None if self.buf.len() > MAX_LINE => Err(bad("line too long")),
            None => Ok(None),
        }
    }

    /// The next line; `None` if the peer closed the connection first.
    async fn line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(line) = self.take_line()? {
                return Ok(Some(line));
            }
            let mut chunk = [0u8; MAX_LINE];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next line and the descriptors that came with it.
    async fn line_with_fds(&mut self) -> io::Result<(Option<String>, Vec<OwnedFd>)> {
        let mut received = Vec::new();
        loop {
            if let Some(line) = self.take_line()? {
                return Ok((Some(line), received));
            }
            let mut chunk = [0u8; MAX_LINE];
            let (n, fds) = fds::recv(&self.stream, &mut chunk).await?;
            received.extend(fds);
            if received.len() > fds::MAX_FDS {
                return Err(bad("more descriptors than expected"));
            }
            if n == 0 {
                return Ok((None, received));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn send(&mut self, line: &str) -> io::Result<()> {
        self.stream.write_all(format!("{line}\n").as_bytes()).await
    }

    async fn send_with_fds(&mut self, line: &str, fds: &[std::os::fd::BorrowedFd<'_>]) -> io::Result<()> {
        fds::send(&self.stream, format!("{line}\n").as_bytes(), fds).await
    }
}

// ---- the running process ----

/// What the running process hands over, and how it lets go.
pub(crate) struct Handoff {
    pub(crate) supervision: Arc<Supervision>,
    /// Descriptors of the dashboard/API and the proxy listener (duplicates of the ones served).
    pub(crate) api: OwnedFd,
    pub(crate) proxy: OwnedFd,
    pub(crate) addrs: (SocketAddr, SocketAddr),
    pub(crate) listeners: Arc<lifecycle::Control>,
    pub(crate) drain_timeout: Duration,
    /// Set once a new process has taken over: `rhone serve` then waits for the drain and exits.
    pub(crate) handed_over: watch::Sender<bool>,
    pub(crate) busy: Mutex<()>,
}

/// Binds the control socket (replacing a stale one: the caller holds the data dir's lock) with mode
/// 0600.
pub(crate) fn bind(path: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers connections on the control socket for as long as the task lives.
pub(crate) async fn serve(listener: UnixListener, handoff: Arc<Handoff>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let handoff = handoff.clone();
                tokio::spawn(async move { handoff.handle(stream).await });
            }
            Err(error) => {
                tracing::warn!(%error, "control socket failed to accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

impl Handoff {
    async fn handle(&self, stream: UnixStream) {
        let own = rustix::process::geteuid().as_raw();
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == own => {}
            Ok(cred) => {
                tracing::warn!(uid = cred.uid(), "control socket: refused a connection from another user");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "control socket: cannot tell who connected; refused");
                return;
            }
        }
        let mut ch = Channel::new(stream);
        match tokio::time::timeout(HELLO_TIMEOUT, ch.line()).await {
            Ok(Ok(Some(line))) if line == HELLO => {}
            Ok(Ok(None)) => return,
            _ => {
                tracing::warn!("control socket: a connection that is not a Rhone handover; ignored");
                return;
            }
        }
        // one handover at a time, and only from the process that supervises
        let Ok(_one) = self.busy.try_lock() else {
            let _ = ch.send("busy").await;
            return;
        };
        if !self.supervision.supervising().await {
            let _ = ch.send("busy").await;
            return;
        }
        let offer = format!("listeners {} {}", self.addrs.0, self.addrs.1);
        if let Err(error) = ch.send_with_fds(&offer, &[self.api.as_fd(), self.proxy.as_fd()]).await {
            tracing::warn!(%error, "handover: could not pass the listening sockets");
            return;
        }
        match tokio::time::timeout(STEP_TIMEOUT, ch.line()).await {
            Ok(Ok(Some(line))) if line == "release" => {}
            _ => {
                tracing::warn!("handover: the new rhone serve went away before asking for the apps; still serving");
                return;
            }
        }
        tracing::info!("handover: a new rhone serve is taking over");
        let started = tokio::time::Instant::now();
        self.supervision.release().await;
        if ch.send("released").await.is_err() {
            return self.take_back().await;
        }
        // No timeout: recovery takes what it takes; the connection's end says the new one is gone.
        match ch.line().await {
            Ok(Some(line)) if line == "ready" => {
                tracing::info!(
                    handover_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "handover: the new rhone serve took over; draining the open connections"
                );
                self.listeners.drain(self.drain_timeout);
                let _ = self.handed_over.send(true);
            }
            _ => self.take_back().await,
        }
    }

    async fn take_back(&self) {
        tracing::warn!("handover: the new rhone serve stopped before it took over; taking the apps back");
        match self.supervision.resume().await {
            Resume::Supervising => tracing::info!("handover: supervising the apps again"),
            Resume::Taken => {
                tracing::error!("handover: another process holds the data dir by now; leaving it the apps and exiting");
                self.listeners.drain(self.drain_timeout);
                let _ = self.handed_over.send(true);
            }
            Resume::Failed(error) => {
                tracing::error!(%error, "handover: could not take the apps back; they keep running unsupervised: start `rhone serve` again");
            }
        }
    }
}

// ---- the new process ----

/// The Rhone running on this data dir, reached through its control socket.
pub(crate) struct Predecessor {
    ch: Channel,
}

/// The listening sockets taken over, in blocking mode as received.
pub(crate) struct Inherited {
    pub(crate) api: std::net::TcpListener,
    pub(crate) proxy: std::net::TcpListener,
}

fn listener(fd: OwnedFd) -> Result<std::net::TcpListener, String> {
    if !rustix::net::sockopt::socket_acceptconn(&fd).unwrap_or(false) {
        return Err("the running Rhone passed a socket that is not listening".into());
    }
    let listener = std::net::TcpListener::from(fd);
    listener.local_addr().map_err(|e| format!("the running Rhone passed a socket that is not TCP: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(listener)
}

impl Predecessor {
    /// The Rhone listening on `path`; `None` when none answers there (no socket, or a stale one).
    pub(crate) async fn connect(path: &Path) -> Result<Option<Predecessor>, String> {
        match UnixStream::connect(path).await {
            Ok(stream) => Ok(Some(Predecessor { ch: Channel::new(stream) })),
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused) => Ok(None),
            Err(e) => Err(format!("cannot reach the running Rhone's control socket {}: {e}", path.display())),
        }
    }

    /// Asks for the listening sockets.
    pub(crate) async fn listeners(&mut self) -> Result<Inherited, String> {
        let gone = |e: io::Error| format!("handover: the running Rhone did not answer: {e}");
        self.ch.send(HELLO).await.map_err(gone)?;
        let (line, fds) = tokio::time::timeout(STEP_TIMEOUT, self.ch.line_with_fds())
            .await
            .map_err(|_| "handover: the running Rhone did not answer in time".to_string())?
            .map_err(gone)?;
        match line.as_deref() {
            Some(l) if l.starts_with("listeners ") && fds.len() == 2 => {}
            Some("busy") => return Err("another `rhone serve` is taking over from the running one right now; try again once it is done".into()),
            None => return Err("the running Rhone refused the handover (is this `rhone serve` running as the same user?)".into()),
            Some(other) => return Err(format!("handover: unexpected answer from the running Rhone: {other:?}")),
        }
        let mut fds = fds.into_iter();
        let (Some(api), Some(proxy)) = (fds.next(), fds.next()) else { return Err("handover: sockets missing".into()) };
        Ok(Inherited { api: listener(api)?, proxy: listener(proxy)? })
    }

    /// Asks the running Rhone to let go of the apps and the job queue; returns once it has.
    pub(crate) async fn release(&mut self) -> Result<(), String> {
        let gone = |e: io::Error| format!("handover: the running Rhone went away: {e}");
        self.ch.send("release").await.map_err(gone)?;
        match tokio::time::timeout(STEP_TIMEOUT, self.ch.line()).await {
            Ok(Ok(Some(line))) if line == "released" => Ok(()),
            Ok(Ok(other)) => Err(format!("handover: unexpected answer from the running Rhone: {other:?}")),
            Ok(Err(e)) => Err(gone(e)),
            Err(_) => Err("handover: the running Rhone did not release the apps in time".into()),
        }
    }

    /// Tells the old process that this one serves now: it stops accepting and drains.
    pub(crate) async fn ready(mut self) {
        if let Err(error) = self.ch.send("ready").await {
            tracing::warn!(%error, "handover: could not tell the old process (it may have stopped already)");
        }
    }
}
