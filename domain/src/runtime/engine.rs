//! Whether a container engine answers: `GET /_ping` → `200 OK` with body `OK`, within one second.
//! Used to resolve the `auto` default runtime; the docker runtime itself talks to the engine with
//! bollard.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where the engine listens when `docker_host` is not set.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

const TIMEOUT: Duration = Duration::from_secs(1);
/// A ping answer is a few hundred bytes; read no more than this.
const MAX_ANSWER: usize = 8 * 1024;

/// A container engine's address, from `docker_host` (`DOCKER_HOST` syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineAddr {
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

impl EngineAddr {
    /// `unix:///path`, an absolute socket path, `tcp://host:port` or `http://host:port`; unset or
    /// blank: [`DEFAULT_SOCKET`]. `None` for anything else.
    pub fn parse(docker_host: Option<&str>) -> Option<EngineAddr> {
        let host = docker_host.map(str::trim).filter(|h| !h.is_empty()).unwrap_or(DEFAULT_SOCKET);
        if let Some(path) = host.strip_prefix("unix://") {
            return path.starts_with('/').then(|| EngineAddr::Unix(PathBuf::from(path)));
        }
        if host.starts_with('/') {
            return Some(EngineAddr::Unix(PathBuf::from(host)));
        }
        let rest = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://"))?;
        let hostport = rest.trim_end_matches('/');
        (!hostport.is_empty() && !hostport.contains('/')).then(|| EngineAddr::Tcp(hostport.to_string()))
    }
}

/// True when an engine at `docker_host` (default [`DEFAULT_SOCKET`]) accepts a connection and
/// answers `GET /_ping` with `200` and `OK`, all within one second. Never errors: anything else is
/// "no engine".
pub async fn engine_answers(docker_host: Option<&str>) -> bool {
    let Some(addr) = EngineAddr::parse(docker_host) else {
        tracing::debug!(docker_host, "docker_host is not an address Rhone can ping");
        return false;
    };
    let answered = tokio::time::timeout(TIMEOUT, async {
        match &addr {
            EngineAddr::Unix(path) => ping(tokio::net::UnixStream::connect(path).await?).await,
            EngineAddr::Tcp(hostport) => ping(tokio::net::TcpStream::connect(hostport.as_str()).await?).await,
        }
    })
    .await;
    match answered {
        Ok(Ok(ok)) => ok,
        Ok(Err(e)) => {
            tracing::debug!(?addr, error = %e, "no container engine");
            false
        }
        Err(_) => {
            tracing::debug!(?addr, "container engine did not answer within 1 s");
            false
        }
    }
}

async fn ping<S: AsyncRead + AsyncWrite + Unpin>(mut conn: S) -> std::io::Result<bool> {
    conn.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").await?;
    let mut answer = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if is_ping_ok(&answer) {
            // an engine that keeps the connection open has answered all the same
            return Ok(true);
        }
        if answer.len() > MAX_ANSWER {
            return Ok(false);
        }
    }
    Ok(is_ping_ok(&answer))
}

/// `HTTP/1.x 200 ...` headers, a blank line, then the body `OK`.
fn is_ping_ok(answer: &[u8]) -> bool {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let (head, body) = (&answer[..split], &answer[split + 4..]);
    let status_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let mut parts = status_line.split(|b| *b == b' ');
    let version_ok = parts.next().is_some_and(|v| v.starts_with(b"HTTP/1."));
    let status_ok = parts.next() == Some(b"200".as_slice());
    version_ok && status_ok && body.trim_ascii() == b"OK"
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::UnixListener;

    /// A real unix socket server that answers every connection with `answer` once it read the
    /// request head (or never answers when `answer` is `None`).
    fn serve(path: &std::path::Path, answer: Option<&'static [u8]>) -> tokio::task::JoinHandle<()> {
        let listener = UnixListener::bind(path).unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 256];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    assert!(head.starts_with(b"GET /_ping HTTP/1.0\r\n"), "{}", String::from_utf8_lossy(&head));
                    match answer {
                        Some(a) => {
                            let _ = conn.write_all(a).await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                });
            }
        })
    }

    #[tokio::test]
    async fn an_engine_that_answers_ok_is_found_at_a_unix_path_or_url() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let server = serve(&sock, Some(b"HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"));
        assert!(engine_answers(sock.to_str()).await);
        assert!(engine_answers(Some(&format!("unix://{}", sock.display()))).await);
        server.abort();
    }

    #[tokio::test]
    async fn a_socket_that_answers_garbage_or_an_error_is_no_engine() {
        let dir = tempfile::tempdir().unwrap();
        for (i, answer) in [
            b"hello there\r\n\r\nOK".as_slice(),
            b"HTTP/1.0 500 Internal Server Error\r\n\r\nOK",
            b"HTTP/1.0 200 OK\r\n\r\nNOT OK",
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n",
            b"",
        ]
        .into_iter()
        .enumerate()
        {
            let sock = dir.path().join(format!("s{i}.sock"));
            let server = serve(&sock, Some(answer));
            assert!(!engine_answers(sock.to_str()).await, "{}", String::from_utf8_lossy(answer));
            server.abort();
        }
    }

    #[tokio::test]
    async fn a_missing_socket_a_silent_one_or_a_bad_address_is_no_engine() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nothing-here.sock");
        assert!(!engine_answers(missing.to_str()).await);
        let silent = dir.path().join("silent.sock");
        let server = serve(&silent, None);
        assert!(!engine_answers(silent.to_str()).await, "gives up after its timeout");
        server.abort();
        for bad in ["relative/docker.sock", "unix://relative", "ssh://host", "tcp://"] {
            assert_eq!(EngineAddr::parse(Some(bad)), None, "{bad}");
            assert!(!engine_answers(Some(bad)).await, "{bad}");
        }
        assert_eq!(EngineAddr::parse(None), Some(EngineAddr::Unix(DEFAULT_SOCKET.into())));
        assert_eq!(EngineAddr::parse(Some("tcp://127.0.0.1:2375")), Some(EngineAddr::Tcp("127.0.0.1:2375".into())));
    }
}
