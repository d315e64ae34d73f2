//! Request and response heads on the fast path: parsed in place with `httparse`, checked, and
//! rewritten straight into the bytes sent on (no `HeaderMap`, no per-header allocation).

use std::net::IpAddr;

/// Request heads longer than this go to the general path (which has its own limits).
pub(super) const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Request bodies up to this size are read whole before the request is sent; larger ones (and
/// chunked ones) go to the general path, which streams them.
pub(super) const MAX_BUFFERED_BODY: usize = 64 * 1024;
/// An upstream response head longer than this is a bad gateway.
pub(super) const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_REQUEST_HEADERS: usize = 64;
const MAX_RESPONSE_HEADERS: usize = 100;
/// Headers named in `Connection` are removed; a request naming more goes to the general path.
const MAX_CONNECTION_TOKENS: usize = 8;

/// Who sent the request, fixed for the connection.
pub(super) struct Client {
    /// `x-forwarded-for: <ip>\r\n`, ready to copy.
    pub(super) forwarded_for: Vec<u8>,
    pub(super) ip: String,
    /// A trusted reverse proxy: its `X-Forwarded-For` chain is extended and its
    /// `X-Forwarded-Proto: https` kept.
    pub(super) trusted: bool,
    /// The connection is TLS (the HTTPS listener): `X-Forwarded-Proto: https`.
    pub(super) https: bool,
}

impl Client {
    pub(super) fn new(ip: IpAddr, trusted: bool, https: bool) -> Client {
        let ip = ip.to_canonical().to_string();
        let forwarded_for = format!("x-forwarded-for: {ip}\r\n").into_bytes();
        Client { forwarded_for, ip, trusted, https }
    }
}

/// A request the fast path relays.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Request {
    /// Bytes of the head, then of the body (`Content-Length`, 0 without one).
    pub(super) head_len: usize,
    pub(super) body_len: usize,
    /// Where the `Host` value (trimmed) lies in the buffer.
    pub(super) host: (usize, usize),
    /// Where the first `Cookie` value lies, if any (replicas with sticky sessions read it).
    pub(super) cookie: Option<(usize, usize)>,
    /// `HEAD`: its response has no body whatever its headers say.
    pub(super) is_head: bool,
    /// Safe to send again when a reused upstream connection turned out closed.
    pub(super) idempotent: bool,
    /// The client asked to close the connection after this response.
    pub(super) close: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Parsed<T> {
    /// More bytes are needed.
    Partial,
    /// Not for the fast path (request) or not valid (response).
    Other,
    Done(T),
}

/// Parses the request at the start of `buf` and, when the fast path can relay it, writes the head
/// to send upstream into `out`: the request line, the client's headers minus hop-by-hop ones
/// (and those `Connection` names) and minus `Host`/`X-Forwarded-*`, then `Host` and the
/// `X-Forwarded-*` headers set as the general path sets them.
///
/// Anything unusual is `Other` (the general path handles it): not HTTP/1.1, `CONNECT`, a target
/// that is not a path, no or several `Host`, a `Transfer-Encoding`, `Upgrade` or `Expect`, a bad
/// or large `Content-Length`, too many headers.
pub(super) fn request(buf: &[u8], client: &Client, out: &mut Vec<u8>) -> Parsed<Request> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST_HEAD => return Parsed::Partial,
        _ => return Parsed::Other,
    };
    let (Some(method), Some(path), Some(1)) = (req.method, req.path, req.version) else { return Parsed::Other };
    if method == "CONNECT" || !path.starts_with('/') {
        return Parsed::Other;
    }
    let mut host: Option<&[u8]> = None;
    let mut cookie: Option<&[u8]> = None;
    let mut content_length: Option<usize> = None;
    let mut close = false;
    let mut named = [&b""[..]; MAX_CONNECTION_TOKENS];
    let mut n_named = 0;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"host") {
            if host.is_some() {
                return Parsed::Other;
            }
            host = Some(h.value);
        } else if name.eq_ignore_ascii_case(b"cookie") {
            cookie = cookie.or(Some(h.value));
        } else if name.eq_ignore_ascii_case(b"content-length") {
            match (content_length, digits(h.value)) {
                (None, Some(n)) if n <= MAX_BUFFERED_BODY as u64 => content_length = usize::try_from(n).ok(),
                _ => return Parsed::Other,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"upgrade")
            || name.eq_ignore_ascii_case(b"expect")
        {
            return Parsed::Other;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in tokens(h.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    close = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    return Parsed::Other;
                } else if !token.eq_ignore_ascii_case(b"keep-alive") {
                    if n_named == MAX_CONNECTION_TOKENS {
                        return Parsed::Other;
                    }
                    named[n_named] = token;
                    n_named += 1;
                }
            }
        }
    }
    let Some(host) = host.map(trim) else { return Parsed::Other };
    if host.is_empty() || !host.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        return Parsed::Other;
    }
    let named = &named[..n_named];

    out.clear();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut chain: Vec<&[u8]> = Vec::new();
    let mut proto_seen = false;
    let mut https = client.https;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"x-forwarded-for") {
            let value = trim(h.value);
            if client.trusted && !value.is_empty() {
                chain.push(value);
            }
            continue;
        }
        if name.eq_ignore_ascii_case(b"x-forwarded-proto") {
            // Like the general path: the first value counts, and only from a trusted proxy.
            https |= !proto_seen && client.trusted && h.value == b"https";
            proto_seen = true;
            continue;
        }
        if is_hop_by_hop(name)
            || name.eq_ignore_ascii_case(b"host")
            || name.eq_ignore_ascii_case(b"x-forwarded-host")
            || named.iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            continue;
        }
        header(out, name, h.value);
    }
    header(out, b"host", host);
    if chain.is_empty() {
        out.extend_from_slice(&client.forwarded_for);
    } else {
        out.extend_from_slice(b"x-forwarded-for: ");
        for earlier in chain {
            out.extend_from_slice(earlier);
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(client.ip.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(if https { &b"x-forwarded-proto: https\r\n"[..] } else { &b"x-forwarded-proto: http\r\n"[..] });
    header(out, b"x-forwarded-host", host);
    out.extend_from_slice(b"\r\n");

    let at = |value: &[u8]| {
        let start = value.as_ptr() as usize - buf.as_ptr() as usize;
        (start, start + value.len())
    };
    Parsed::Done(Request {
        head_len,
        body_len: content_length.unwrap_or(0),
        host: at(host),
        cookie: cookie.map(at),
        is_head: method == "HEAD",
        idempotent: matches!(method, "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "TRACE"),
        close,
    })
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (`HEAD`, 204, 304).
    Empty,
    Length(u64),
    /// `Transfer-Encoding: chunked`, passed through as it is.
    Chunked,
    /// Until the upstream closes (HTTP/1.0 style); the client connection closes after it.
    UntilClose,
}

/// A response head from the upstream.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Response {
    pub(super) head_len: usize,
    /// 1xx (not 101): relayed, then the final response follows.
    pub(super) informational: bool,
    pub(super) framing: Framing,
    /// The upstream connection may carry another request after this response.
    pub(super) reusable: bool,
}

/// Parses the upstream's response head at the start of `buf` and writes the head for the client
/// into `out` (after what `out` holds): hop-by-hop headers and those `Connection` names removed
/// (`Transfer-Encoding` kept when the chunked body is passed through), and `Connection: close`
/// when `keep_client` is false or the body ends only when the upstream closes; `set_cookie` is
/// added to a final head.
pub(super) fn response(buf: &[u8], is_head: bool, keep_client: bool, set_cookie: Option<&str>, out: &mut Vec<u8>) -> Parsed<Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    let head_len = match res.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() < MAX_RESPONSE_HEAD => return Parsed::Partial,
        _ => return Parsed::Other,
    };
    let (Some(code), Some(version)) = (res.code, res.version) else { return Parsed::Other };
    // We never ask for an upgrade here, so a 101 is as wrong as a status outside 100..=599.
    if code == 101 || !(100..=599).contains(&code) {
        return Parsed::Other;
    }
    let informational = code < 200;
    let mut length: Option<u64> = None;
    let mut encoding: Option<&[u8]> = None;
    let mut upstream_close = version == 0;
    let mut named = [&b""[..]; MAX_CONNECTION_TOKENS];
    let mut n_named = 0;
    for h in res.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            // Several equal values (or a list of them) are one length; different ones are invalid.
            for value in h.value.split(|&b| b == b',') {
                match (length, digits(trim(value))) {
                    (_, None) => return Parsed::Other,
                    (Some(old), Some(new)) if old != new => return Parsed::Other,
                    (_, new) => length = new,
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            encoding = Some(h.value);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in tokens(h.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    upstream_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    // HTTP/1.0 keep-alive is not worth the trouble: such a connection is not reused.
                } else if n_named < MAX_CONNECTION_TOKENS {
                    named[n_named] = token;
                    n_named += 1;
                } else {
                    return Parsed::Other;
                }
            }
        }
    }
    let framing = if informational || is_head || code == 204 || code == 304 {
        Framing::Empty
    } else if let Some(encoding) = encoding {
        let last = tokens(encoding).last().unwrap_or(b"");
        if last.eq_ignore_ascii_case(b"chunked") { Framing::Chunked } else { Framing::UntilClose }
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    let keep_client = keep_client && framing != Framing::UntilClose;
    let named = &named[..n_named];

    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(itoa3(code).as_slice());
    out.push(b' ');
    out.extend_from_slice(res.reason.unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in res.headers.iter() {
        let name = h.name.as_bytes();
        let framing_header = name.eq_ignore_ascii_case(b"transfer-encoding");
        if framing_header && framing == Framing::Chunked && !informational {
            header(out, name, h.value);
            continue;
        }
        if is_hop_by_hop(name)
            || (encoding.is_some() && name.eq_ignore_ascii_case(b"content-length"))
            || named.iter().any(|n| n.eq_ignore_ascii_case(name))
        {
            continue;
        }
        header(out, name, h.value);
    }
    if !informational {
        if let Some(cookie) = set_cookie {
            header(out, b"set-cookie", cookie.as_bytes());
        }
        if !keep_client {
            out.extend_from_slice(b"connection: close\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    Parsed::Done(Response {
        head_len,
        informational,
        framing,
        reusable: !upstream_close && framing != Framing::UntilClose,
    })
}

/// Where a chunked body ends, found while its bytes pass through unchanged.
#[derive(Debug, Default)]
pub(super) struct Chunks {
    state: Chunk,
    size: u64,
    digits: u8,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    #[default]
    Size,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerLine,
    TrailerLf,
    EndLf,
}

impl Chunks {
    /// Reads `data` on from where the last call stopped. `Ok(Some(n))`: the body ended after
    /// `n` bytes of `data`; `Ok(None)`: all of `data` belongs to the body; `Err`: not valid
    /// chunked encoding.
    pub(super) fn feed(&mut self, data: &[u8]) -> Result<Option<usize>, ()> {
        let mut i = 0;
        while i < data.len() {
            if self.state == Chunk::Data {
                let take = usize::try_from(self.size).unwrap_or(usize::MAX).min(data.len() - i);
                i += take;
                self.size -= take as u64;
                if self.size == 0 {
                    self.state = Chunk::DataCr;
                }
                continue;
            }
            let b = data[i];
            i += 1;
            self.state = match (self.state, b) {
                (Chunk::Size, b) if b.is_ascii_hexdigit() => {
                    if self.digits == 15 {
                        return Err(());
                    }
                    self.digits += 1;
                    self.size = self.size * 16 + u64::from((b as char).to_digit(16).ok_or(())?);
                    Chunk::Size
                }
                (Chunk::Size, b';' | b' ' | b'\t') if self.digits > 0 => Chunk::Extension,
                (Chunk::Size, b'\r') if self.digits > 0 => Chunk::SizeLf,
                (Chunk::Extension, b'\r') => Chunk::SizeLf,
                (Chunk::Extension, b'\n') => return Err(()),
                (Chunk::Extension, _) => Chunk::Extension,
                (Chunk::SizeLf, b'\n') if self.size == 0 => Chunk::TrailerStart,
                (Chunk::SizeLf, b'\n') => Chunk::Data,
                (Chunk::DataCr, b'\r') => Chunk::DataLf,
                (Chunk::DataLf, b'\n') => {
                    self.digits = 0;
                    Chunk::Size
                }
                (Chunk::TrailerStart, b'\r') => Chunk::EndLf,
                (Chunk::TrailerStart | Chunk::TrailerLine, b'\n') => return Err(()),
                (Chunk::TrailerLine, b'\r') => Chunk::TrailerLf,
                (Chunk::TrailerStart | Chunk::TrailerLine, _) => Chunk::TrailerLine,
                (Chunk::TrailerLf, b'\n') => Chunk::TrailerStart,
                (Chunk::EndLf, b'\n') => return Ok(Some(i)),
                _ => return Err(()),
            };
        }
        Ok(None)
    }
}

fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The headers that concern one hop only (the general path strips the same list).
fn is_hop_by_hop(name: &[u8]) -> bool {
    const HOP_BY_HOP: [&[u8]; 9] = [
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    ];
    HOP_BY_HOP.iter().any(|h| h.len() == name.len() && h.eq_ignore_ascii_case(name))
}

/// The comma-separated, trimmed, non-empty tokens of a header value.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim).filter(|t| !t.is_empty())
}

fn trim(value: &[u8]) -> &[u8] {
    value.trim_ascii()
}

/// A decimal number of at most 15 digits (nothing else, not even a sign).
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 15 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// A status code (100..=599) as its three digits.
fn itoa3(code: u16) -> [u8; 3] {
    // Callers pass 100..=599, so each digit fits; the casts cannot truncate.
    [b'0' + (code / 100) as u8, b'0' + (code / 10 % 10) as u8, b'0' + (code % 10) as u8]
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
