//! The small HTML pages the proxy answers with when it cannot hand a request to an app.
//! They never contain internal error details; those go to the log.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};

use super::body::{self, ProxyBody};

/// 404: no app is served at `host`.
pub(crate) fn unknown_host(host: &str) -> Response<ProxyBody> {
    let message = format!("No app is served at <code>{}</code>.", escape(host));
    page(StatusCode::NOT_FOUND, "No app here", &message)
}

/// 503: the app exists but has no live version yet; asks the client to retry shortly.
pub(crate) fn no_live_version(slug: &str) -> Response<ProxyBody> {
    let message =
        format!("The app <code>{}</code> has no live version yet. Deploy it, then reload this page.", escape(slug));
    let mut response = page(StatusCode::SERVICE_UNAVAILABLE, "Not deployed yet", &message);
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// 503: the app was stopped by a user of its team.
pub(crate) fn stopped(slug: &str) -> Response<ProxyBody> {
    let message = format!("The app <code>{}</code> is stopped. Its team can start it again from the dashboard.", escape(slug));
    page(StatusCode::SERVICE_UNAVAILABLE, "App stopped", &message)
}

/// 308 to `to` (another domain of the app), keeping the port the client used and the path and
/// query.
pub(crate) fn redirect(to: &str, host: &str, path_and_query: &str) -> Response<ProxyBody> {
    let port = domain::routing::split_port(host).1.filter(|p| !p.is_empty());
    let location = match port {
        Some(p) => format!("http://{to}:{p}{path_and_query}"),
        None => format!("http://{to}{path_and_query}"),
    };
    let message = format!("This site is at <a href=\"{0}\">{0}</a>.", escape(&location));
    let mut response = page(StatusCode::PERMANENT_REDIRECT, "Moved", &message);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}

/// 200: an ACME http-01 challenge's key authorization.
pub(crate) fn acme_challenge(key_authorization: String) -> Response<ProxyBody> {
    let mut response = Response::new(body::full(key_authorization));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 308 from plain HTTP to the HTTPS listener (`port`, left out when 443), same host, path and query.
pub(crate) fn to_https(host: &str, port: u16, path_and_query: &str) -> Response<ProxyBody> {
    let (name, _) = domain::routing::split_port(host);
    let location = if port == 443 { format!("https://{name}{path_and_query}") } else { format!("https://{name}:{port}{path_and_query}") };
    let message = format!("This site is served over <a href=\"{0}\">{0}</a>.", escape(&location));
    let mut response = page(StatusCode::PERMANENT_REDIRECT, "Use HTTPS", &message);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(http::header::LOCATION, value);
    }
    response
}

/// 421 over HTTPS for a host Rhone has no certificate for (yet).
pub(crate) fn no_certificate(host: &str) -> Response<ProxyBody> {
    let (name, _) = domain::routing::split_port(host);
    let message = format!(
        "Rhone has no certificate for <code>{0}</code> yet. A custom domain gets one by itself once it is verified \
         (give it a minute, then reload); until then use <code>http://{0}</code>.",
        escape(name)
    );
    page(StatusCode::MISDIRECTED_REQUEST, "No certificate yet", &message)
}

/// 502: the app's process could not be reached or failed to answer.
pub(crate) fn bad_gateway() -> Response<ProxyBody> {
    let message = "The app did not answer. It may be starting, restarting or crashed; try again shortly.";
    page(StatusCode::BAD_GATEWAY, "Bad gateway", message)
}

/// 504: the app accepted the request but sent no response head in time.
pub(crate) fn gateway_timeout() -> Response<ProxyBody> {
    let message = "The app took too long to answer. Try again shortly.";
    page(StatusCode::GATEWAY_TIMEOUT, "Gateway timeout", message)
}

/// 405: a static site only answers `GET` and `HEAD`.
pub(crate) fn method_not_allowed() -> Response<ProxyBody> {
    page(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", "This site only serves files (GET and HEAD).")
}

/// 400: the request cannot be routed (no usable `Host`, unsupported request target).
pub(crate) fn bad_request() -> Response<ProxyBody> {
    page(StatusCode::BAD_REQUEST, "Bad request", "This request cannot be routed to an app.")
}

/// 404 for a file missing from a static site.
pub(crate) fn file_not_found() -> Response<ProxyBody> {
    page(StatusCode::NOT_FOUND, "Not found", "There is no such page on this site.")
}

fn page(status: StatusCode, title: &str, message_html: &str) -> Response<ProxyBody> {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{code} {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:15vh auto;max-width:36rem;padding:0 1rem;color:#222}}\
         h1{{font-size:1.4rem}}code{{background:#eee;padding:0 .2em}}small{{color:#888}}</style></head>\
         <body><h1>{code} {title}</h1><p>{message_html}</p><small>Rhone</small></body></html>\n",
        code = status.as_u16(),
    );
    let mut response = Response::new(body::full(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
