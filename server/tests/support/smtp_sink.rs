//! A minimal SMTP server for tests (include with `#[path = "support/smtp_sink.rs"] mod smtp_sink;`).
//! It listens on 127.0.0.1 (a free port the OS picks and it keeps), speaks plain SMTP without
//! STARTTLS, accepts any `AUTH PLAIN`/`AUTH LOGIN` and every message, and keeps what it received.
//! Point Rhone at it with `smtp://user:password@<addr>` (or `sink.url()`). Depends only on tokio.

#![allow(dead_code)] // each test binary uses its own subset

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Longest command line or data line accepted, and largest message.
const MAX_LINE: u64 = 64 * 1024;
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The login a client gave with `AUTH` on the connection that sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// `PLAIN` or `LOGIN`.
    pub mechanism: String,
    pub user: String,
    pub password: String,
}

/// One message as received: the envelope and the raw message (headers, blank line, body; CRLF
/// line ends, dot-unstuffed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    pub auth: Option<Auth>,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: watch::Receiver<Vec<Received>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("the SMTP sink's address");
        let (tx, messages) = watch::channel(Vec::new());
        let task = tokio::spawn(accept(listener, Arc::new(tx)));
        SmtpSink { addr, messages, task }
    }

    /// `smtp://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// `smtp://user:password@127.0.0.1:<port>` (user and password must not need percent-encoding).
    pub fn url_with_login(&self, user: &str, password: &str) -> String {
        format!("smtp://{user}:{password}@{}", self.addr)
    }

    pub async fn messages(&self) -> Vec<Received> {
        self.messages.borrow().clone()
    }

    /// The messages once there are at least `n`, or whatever arrived when `timeout` is up.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let mut rx = self.messages.clone();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|m| m.len() >= n)).await;
        let received = rx.borrow().clone();
        received
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort(); // drops the JoinSet, which aborts the open sessions
    }
}

async fn accept(listener: TcpListener, tx: Arc<watch::Sender<Vec<Received>>>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    sessions.spawn(session(stream, tx.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

async fn session(stream: TcpStream, tx: Arc<watch::Sender<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let _ = serve(&mut BufReader::new(read), &mut write, &tx).await; // an I/O error ends the session
}

async fn serve<R, W>(r: &mut R, w: &mut W, tx: &watch::Sender<Vec<Received>>) -> io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    reply(w, "220 rhone-smtp-sink ready").await?;
    let mut auth = None;
    let mut from: Option<String> = None;
    let mut to = Vec::new();
    while let Some(line) = read_line(r).await? {
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => reply(w, "250-rhone-smtp-sink\r\n250 AUTH PLAIN LOGIN").await?,
            "HELO" => reply(w, "250 rhone-smtp-sink").await?,
            "AUTH" => match authenticate(arg, r, w).await? {
                Ok(a) => {
                    auth = Some(a);
                    reply(w, "235 2.7.0 Authentication successful").await?;
                }
                Err(answer) => reply(w, answer).await?,
            },
            "MAIL" => match path(arg, "FROM:") {
                Some(p) => {
                    from = Some(p);
                    to.clear();
                    reply(w, "250 2.1.0 OK").await?;
                }
                None => reply(w, "501 5.5.4 expected MAIL FROM:<address>").await?,
            },
            "RCPT" => match (&from, path(arg, "TO:")) {
                (None, _) => reply(w, "503 5.5.1 MAIL first").await?,
                (Some(_), Some(p)) => {
                    to.push(p);
                    reply(w, "250 2.1.5 OK").await?;
                }
                (Some(_), None) => reply(w, "501 5.5.4 expected RCPT TO:<address>").await?,
            },
            "DATA" if to.is_empty() => reply(w, "503 5.5.1 RCPT first").await?,
            "DATA" => {
                reply(w, "354 End data with <CR><LF>.<CR><LF>").await?;
                let data = read_data(r).await?;
                let message = Received { from: from.take().unwrap_or_default(), to: std::mem::take(&mut to), data, auth: auth.clone() };
                tx.send_modify(|m| m.push(message));
                reply(w, "250 2.0.0 OK queued").await?;
            }
            "RSET" => {
                from = None;
                to.clear();
                reply(w, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(w, "250 2.0.0 OK").await?,
            "QUIT" => return reply(w, "221 2.0.0 Bye").await,
            _ => reply(w, "502 5.5.2 command not implemented").await?,
        }
    }
    Ok(())
}

async fn reply<W: AsyncWrite + Unpin>(w: &mut W, lines: &str) -> io::Result<()> {
    w.write_all(format!("{lines}\r\n").as_bytes()).await?;
    w.flush().await
}

/// One line without its line end; `None` at end of stream.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = r.take(MAX_LINE).read_until(b'\n', &mut buf).await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(io::Error::other("line too long or connection closed mid-line"));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// The message after `DATA`, up to the line holding only `.`, with leading dots unstuffed.
async fn read_data<R: AsyncBufRead + Unpin>(r: &mut R) -> io::Result<String> {
    let mut data = String::new();
    loop {
        let line = read_line(r).await?.ok_or_else(|| io::Error::other("connection closed during DATA"))?;
        if line == "." {
            return Ok(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
        data.push_str("\r\n");
        if data.len() > MAX_MESSAGE {
            return Err(io::Error::other("message too large"));
        }
    }
}

/// The address in `FROM:<a@b> SIZE=1` (keyword case-insensitive, brackets optional).
fn path(arg: &str, keyword: &str) -> Option<String> {
    let rest = arg.get(..keyword.len()).filter(|k| k.eq_ignore_ascii_case(keyword)).and(arg.get(keyword.len()..))?.trim_start();
    match rest.strip_prefix('<') {
        Some(inner) => inner.split_once('>').map(|(p, _)| p.to_owned()),
        None => rest.split_whitespace().next().map(str::to_owned),
    }
}

/// Runs an `AUTH` exchange: the login, or the error answer to send.
async fn authenticate<R, W>(arg: &str, r: &mut R, w: &mut W) -> io::Result<Result<Auth, &'static str>>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    const MALFORMED: &str = "501 5.5.2 cannot decode the response";
    let mut words = arg.split_whitespace();
    let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
    let initial = words.next().map(str::to_owned);
    match mechanism.as_str() {
        "PLAIN" => {
            let Some(response) = ask(r, w, "", initial).await? else { return Ok(Err(MALFORMED)) };
            let mut parts = response.split('\0');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(_authzid), Some(user), Some(password), None) => {
                    Ok(Ok(Auth { mechanism, user: user.to_owned(), password: password.to_owned() }))
                }
                _ => Ok(Err(MALFORMED)),
            }
        }
        "LOGIN" => {
            let Some(user) = ask(r, w, "VXNlcm5hbWU6", initial).await? else { return Ok(Err(MALFORMED)) };
            let Some(password) = ask(r, w, "UGFzc3dvcmQ6", None).await? else { return Ok(Err(MALFORMED)) };
            Ok(Ok(Auth { mechanism, user, password }))
        }
        _ => Ok(Err("504 5.5.4 unrecognized authentication mechanism")),
    }
}

/// The client's base64 answer to `challenge` (or its initial response), decoded.
async fn ask<R, W>(r: &mut R, w: &mut W, challenge: &str, initial: Option<String>) -> io::Result<Option<String>>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let answer = match initial {
        Some(a) => a,
        None => {
            reply(w, &format!("334 {challenge}")).await?;
            read_line(r).await?.unwrap_or_default()
        }
    };
    Ok(decode_base64(answer.trim()).map(|b| String::from_utf8_lossy(&b).into_owned()))
}

impl Received {
    /// The first header called `name` (case-insensitive), unfolded, with RFC 2047 encoded words
    /// (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            match &mut value {
                Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
                Some(_) => break,
                None => {
                    if let Some((n, v)) = line.split_once(':') {
                        if n.eq_ignore_ascii_case(name) {
                            value = Some(v.trim_start().to_owned());
                        }
                    }
                }
            }
        }
        value.map(|v| decode_words(&v))
    }

    /// Every header line's name, in order (continuation lines are not headers).
    pub fn header_names(&self) -> Vec<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        head.split("\r\n").filter(|l| !l.starts_with([' ', '\t'])).filter_map(|l| l.split_once(':')).map(|(n, _)| n.to_owned()).collect()
    }

    /// The body decoded by its `Content-Transfer-Encoding` (quoted-printable, base64, or as is),
    /// with `\n` line ends (the last line too: SMTP ends it). For single-part messages (what
    /// Rhone sends).
    pub fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let encoding = self.header("Content-Transfer-Encoding").unwrap_or_default().trim().to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(raw),
            "base64" => decode_base64(raw).unwrap_or_else(|| raw.as_bytes().to_vec()),
            _ => raw.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).replace("\r\n", "\n")
    }
}

/// Standard base64, whitespace ignored; `None` if anything else is off.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    std::str::from_utf8(pair).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
}

/// Quoted-printable: `=XX` bytes and `=` soft line breaks; anything malformed is kept as is.
fn decode_quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if b[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let Some(byte) = b.get(i + 1..i + 3).and_then(hex_pair) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Decodes the encoded words of a header value; whitespace between two encoded words is dropped.
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let decoded = rest[start + 2..].split_once("?=").and_then(|(word, tail)| Some((decode_word(word)?, tail)));
        let gap = &rest[..start];
        match decoded {
            Some((text, tail)) => {
                if !(after_word && gap.trim().is_empty()) {
                    out.push_str(gap);
                }
                out.push_str(&text);
                rest = tail;
                after_word = true;
            }
            None => {
                out.push_str(&rest[..start + 2]);
                rest = &rest[start + 2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `charset?B|Q?text` → text (UTF-8 and ASCII charsets only).
fn decode_word(word: &str) -> Option<String> {
    let mut parts = word.splitn(3, '?');
    let (charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
    if !["utf-8", "us-ascii"].contains(&charset.to_ascii_lowercase().as_str()) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => decode_base64(text)?,
        "Q" | "q" => decode_quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}
