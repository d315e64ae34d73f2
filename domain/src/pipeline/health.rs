//! Health checks: HTTP GET on the new version's loopback port until it answers 2xx/3xx, it exits, or
//! the timeout passes.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One probe: the response status code, or why there was none.
pub async fn probe(port: u16, path: &str) -> Result<u16, String> {
    let attempt = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| format!("connect: {e}"))?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: rhone-health\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
        let mut buf = [0u8; 64];
        let mut n = 0;
        while n < 12 {
            let m = s.read(&mut buf[n..]).await.map_err(|e| format!("read: {e}"))?;
            if m == 0 {
                break;
            }
            n += m;
        }
        let head = String::from_utf8_lossy(&buf[..n]);
        head.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|_| head.starts_with("HTTP/"))
            .ok_or_else(|| "not an HTTP response".to_string())
    };
    tokio::time::timeout(Duration::from_secs(3), attempt).await.unwrap_or_else(|_| Err("timed out".into()))
}

pub fn healthy(status: u16) -> bool {
    (200..400).contains(&status)
}
