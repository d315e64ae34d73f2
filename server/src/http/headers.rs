//! Response hardening and request size: security headers on every response, the pages' Content
//! Security Policy (built around Leptos's per-response nonce), and the request body limit.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::guard::refuse;
use super::AppState;

/// Request bodies above this are refused with 413 (the dashboard and API send small JSON and forms).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The policy of a rendered page: its own scripts (the hydration loader carries `nonce`), its own
/// wasm (`'wasm-unsafe-eval'` lets it be compiled), CSS, fetches and SSE to itself; no framing.
pub fn page_csp(nonce: &str, live_reload: bool) -> String {
    let connect = if live_reload { "'self' ws: wss:" } else { "'self'" };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src {connect}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// For everything that is not a rendered page (JSON, assets, errors): nothing may run or frame it.
const FALLBACK_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, FALLBACK_CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    res
}

/// Reads the whole body up to the limit (a declared or actual larger size is a clear 413) and hands
/// the handler a body it can read freely: server functions read theirs without a limit of their own.
pub async fn limit_body(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let limit = s.body_limit;
    let path = req.uri().path().to_string();
    let too_large = || refuse(&path, StatusCode::PAYLOAD_TOO_LARGE, format!("the request body is larger than the limit of {} KiB", limit / 1024));
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let bytes: Bytes = match Limited::new(body, limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(),
        Err(_) => return refuse(&path, StatusCode::BAD_REQUEST, "could not read the request body".into()),
    };
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_allows_only_own_code_and_forbids_framing() {
        let p = page_csp("abc123", false);
        assert!(p.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"), "{p}");
        assert!(p.contains("frame-ancestors 'none'") && p.contains("object-src 'none'"), "{p}");
        assert!(!p.contains("unsafe-inline") && !p.contains("'unsafe-eval'") && !p.contains("ws:"), "{p}");
        assert!(page_csp("n", true).contains("connect-src 'self' ws: wss:"));
    }
}

/// Server functions answer every error with 500 (`server_fn` knows no other status): this gives an
/// `AppError` the status its REST counterpart has (422 for a wrong field, 404, 409, …), so that a
/// user's mistake is never logged or monitored as a server failure. The body stays as it is (the
/// browser decodes any 4xx/5xx body as the error).
pub async fn server_fn_status(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let is_fn = path.starts_with("/api/") && !path.starts_with("/api/v1/");
    let res = next.run(req).await;
    if !is_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = Limited::new(body, 256 * 1024).collect().await.map(|b| b.to_bytes()) else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(e) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        parts.status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
