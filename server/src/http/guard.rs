//! What every request to the dashboard/API listener passes before a handler runs:
//! 1. its `Host` names the dashboard (DNS rebinding is refused with 421);
//! 2. its client address is decided (`trusted_proxies` may name it in `X-Forwarded-For`);
//! 3. a state-changing request that a browser could send with the session cookie comes from the
//!    dashboard's own origin (`Origin`, else `Sec-Fetch-Site: same-origin`), or is refused with 403.
//!    Requests carrying `Authorization` never use the cookie and are not affected.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::net::{client_ip, ClientIp};

use super::auth::cookie;
use super::error::error_response;
use super::AppState;

/// The form endpoints a browser posts to before (or to end) a session: checked even without a cookie,
/// so another site cannot log a visitor in to its own account (login CSRF).
const FORM_ENDPOINTS: &[&str] = &["/auth/login", "/auth/setup", "/auth/logout"];

/// A refusal: JSON under `/api/`, plain text for pages and forms.
pub fn refuse(path: &str, status: StatusCode, msg: String) -> Response {
    if path.starts_with("/api/") {
        error_response(status, msg)
    } else {
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], msg).into_response()
    }
}

fn request_host(req: &Request) -> Option<String> {
    match req.headers().get(header::HOST) {
        Some(h) => h.to_str().ok().map(str::to_string),
        None => req.uri().authority().map(|a| a.to_string()),
    }
}

pub async fn check_host(State(s): State<AppState>, req: Request, next: Next) -> Response {
    match request_host(&req) {
        Some(host) if s.dashboard.allows_host(&host) => next.run(req).await,
        host => {
            let named = host.as_deref().unwrap_or("none");
            let shown: String = named.chars().take(100).filter(|c| !c.is_control()).collect();
            tracing::warn!(host = %shown, "refused a request for another host name");
            let msg = format!(
                "this Rhone dashboard answers at {}, not to the host name {shown:?}; if you reach it under another name, set public_url",
                s.dashboard.url()
            );
            refuse(req.uri().path(), StatusCode::MISDIRECTED_REQUEST, msg)
        }
    }
}

pub async fn client_address(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    let peer = peer.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    let forwarded = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let ip = client_ip(peer, forwarded, &s.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// `Ok` when the request may go on; `Err(reason)` when it is a cross-site (or unprovable) write.
pub fn same_origin(s: &AppState, method: &Method, path: &str, host: &str, headers: &HeaderMap) -> Result<(), &'static str> {
    if is_safe(method) || headers.contains_key(header::AUTHORIZATION) {
        return Ok(());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = origin.to_str().is_ok_and(|o| s.dashboard.is_own_origin(o, host));
        return if own { Ok(()) } else { Err("it comes from another origin") };
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" { Ok(()) } else { Err("it comes from another site") };
    }
    let has_cookie = cookie(headers, s.session_cookie_name()).is_some();
    if has_cookie || FORM_ENDPOINTS.contains(&path) {
        return Err("it carries neither Origin nor Sec-Fetch-Site, so it cannot be told apart from a cross-site request");
    }
    Ok(())
}

pub async fn check_origin(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let host = request_host(&req).unwrap_or_default();
    match same_origin(&s, req.method(), &path, &host, req.headers()) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!(method = %req.method(), path = %path, reason = why, "refused a cross-site write");
            let msg = format!(
                "refused: a {} from a browser must come from the dashboard's own pages at {}, and {why}; API clients send Authorization: Bearer <token>",
                req.method(),
                s.dashboard.url()
            );
            refuse(&path, StatusCode::FORBIDDEN, msg)
        }
    }
}
