//! Forwarding a request to an app's HTTP upstream: the shared pooled client, the upstream URI and
//! the header rewriting (hop-by-hop removal, `X-Forwarded-*`).

use std::net::SocketAddr;
use std::time::Duration;

use domain::routing::{InFlight, Route};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST, UPGRADE};
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::body::{self, ProxyBody};
use super::{pages, upgrade};

/// The one client shared by all requests; keeps idle keep-alive connections to upstreams pooled.
pub(crate) type UpstreamClient = Client<HttpConnector, Incoming>;

/// Headers that only concern a single hop and are never forwarded as is.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Builds the shared upstream client.
pub(crate) fn client() -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector)
}

/// Where a request goes: the live version's address and how long it may take to answer.
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    /// For the response head; a slower upstream gets the client a 504.
    pub(crate) timeout: Duration,
}

/// Who sent the request: the socket peer, and whether it is a trusted reverse proxy.
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    pub(crate) trusted: bool,
    /// It came over TLS (the HTTPS listener).
    pub(crate) https: bool,
}

/// Sends `req` to the live version of `route` and returns its response. The response body (or
/// the upgraded tunnel) holds the version's in-flight guard until it is finished.
pub(crate) async fn forward(
    client: &UpstreamClient,
    route: &Route,
    guard: InFlight,
    upstream: Upstream,
    host: &str,
    peer: Peer,
    mut req: Request<Incoming>,
) -> Response<ProxyBody> {
    let addr = upstream.addr;
    let wants_upgrade = is_upgrade_request(&req);
    let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut req));
    let (parts, request_body) = req.into_parts();
    let Some(uri) = upstream_uri(addr, &parts.uri) else {
        return pages::bad_request();
    };
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers, wants_upgrade);
    set_forwarding_headers(&mut headers, host, &peer);

    let mut upstream_req = Request::new(request_body);
    *upstream_req.method_mut() = parts.method;
    *upstream_req.uri_mut() = uri;
    *upstream_req.version_mut() = Version::HTTP_11;
    *upstream_req.headers_mut() = headers;

    let mut response = match tokio::time::timeout(upstream.timeout, client.request(upstream_req)).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            tracing::warn!(
                app.slug = %route.app_slug,
                deployment.id = route.deployment_id,
                upstream = %addr,
                error = ?error,
                "upstream request failed"
            );
            return pages::bad_gateway();
        }
        Err(_) => {
            tracing::warn!(
                app.slug = %route.app_slug,
                deployment.id = route.deployment_id,
                upstream = %addr,
                timeout_secs = upstream.timeout.as_secs(),
                "upstream sent no response head in time"
            );
            return pages::gateway_timeout();
        }
    };
    if let Some(client_upgrade) = client_upgrade {
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            return upgrade::tunnel(route, guard, client_upgrade, response);
        }
    }
    strip_hop_by_hop(response.headers_mut(), false);
    response.map(|upstream_body| body::guarded(upstream_body, guard, route.sent_counter()))
}

/// `Connection: upgrade` plus an `Upgrade` header on an HTTP/1.1 request (e.g. a WebSocket handshake).
fn is_upgrade_request<B>(req: &Request<B>) -> bool {
    req.version() == Version::HTTP_11
        && req.headers().contains_key(UPGRADE)
        && connection_tokens(req.headers()).any(|token| token.eq_ignore_ascii_case("upgrade"))
}

/// The comma-separated tokens of all `Connection` headers.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// Removes hop-by-hop headers and every header named in `Connection`. With `keep_upgrade`, the
/// `Upgrade` header survives and `Connection: upgrade` is set (upgrade handshakes need both).
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let named: Vec<HeaderName> =
        connection_tokens(headers).filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok()).collect();
    let upgrade = if keep_upgrade { headers.remove(UPGRADE) } else { None };
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if let Some(upgrade) = upgrade {
        headers.insert(UPGRADE, upgrade);
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Sets `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host`, and makes sure `Host`
/// carries the host the request was routed by. From a trusted proxy, the peer address is appended
/// to the chain it sent and its `X-Forwarded-Proto` (`http`/`https`) is kept; from anyone else
/// the chain is replaced by the peer address, so a client cannot claim to be someone else.
fn set_forwarding_headers(headers: &mut HeaderMap, host: &str, peer: &Peer) {
    let client_ip = peer.addr.ip().to_canonical().to_string();
    let earlier: Vec<&str> = if peer.trusted {
        headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .collect()
    } else {
        Vec::new()
    };
    let chain = if earlier.is_empty() { client_ip.clone() } else { format!("{}, {client_ip}", earlier.join(", ")) };
    let forwarded_for = HeaderValue::from_str(&chain).or_else(|_| HeaderValue::from_str(&client_ip)).ok();
    headers.remove(&X_FORWARDED_FOR);
    if let Some(value) = forwarded_for {
        headers.insert(X_FORWARDED_FOR, value);
    }
    let proto = match headers.get(&X_FORWARDED_PROTO).map(HeaderValue::as_bytes) {
        _ if peer.https => "https",
        Some(b"https") if peer.trusted => "https",
        _ => "http",
    };
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    headers.remove(&X_FORWARDED_HOST);
    if let Ok(host) = HeaderValue::from_str(host) {
        headers.insert(X_FORWARDED_HOST, host.clone());
        headers.insert(HOST, host);
    }
}

/// `http://<addr><path?query>`; `None` for request targets without a path (`*`, `CONNECT`'s authority).
fn upstream_uri(addr: SocketAddr, original: &Uri) -> Option<Uri> {
    let path_and_query = match original.path_and_query() {
        Some(pq) if pq.as_str().starts_with('/') => pq.clone(),
        // Absolute-form without a path, e.g. `GET http://app.example.com HTTP/1.1`.
        _ if original.path() == "/" => match original.query() {
            None => PathAndQuery::from_static("/"),
            Some(query) => format!("/?{query}").parse().ok()?,
        },
        _ => return None,
    };
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(addr.to_string().parse::<Authority>().ok()?);
    parts.path_and_query = Some(path_and_query);
    Uri::from_parts(parts).ok()
}
