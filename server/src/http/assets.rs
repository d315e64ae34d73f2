//! The dashboard's built assets under `/pkg` (wasm, js, css): served from the site directory with the
//! precompressed `.br` / `.gz` copies a release build writes next to them (chosen by the request's
//! `Accept-Encoding`), and cache headers. A hashed file name (`rhone.<hash>.wasm`, release builds)
//! never changes content, so browsers keep it a year; an unhashed one (debug builds) is revalidated
//! on each use.

use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use axum::Router;
use tower_http::services::ServeDir;

/// A year: what "never changes" means to a browser.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `name.<hash>.ext`, where cargo-leptos's hash is at least 16 url-safe base64 characters.
pub fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let name = name.strip_suffix(".br").or_else(|| name.strip_suffix(".gz")).unwrap_or(name);
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[2].is_empty()
        && parts[1].len() >= 16
        && parts[1].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        // a debug build's split loader is `__wasm_split.______________________.js`: a placeholder
        && parts[1].bytes().any(|b| b.is_ascii_alphanumeric())
}

async fn cache_headers(req: Request, next: Next) -> Response {
    let hashed = is_hashed(req.uri().path());
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        let value = if hashed { IMMUTABLE } else { "no-cache" };
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        res.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

/// `/{pkg_dir}/*` from `{site_root}/{pkg_dir}`.
pub fn router<S: Clone + Send + Sync + 'static>(site_root: &str, pkg_dir: &str) -> Router<S> {
    let dir = Path::new(site_root).join(pkg_dir);
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new().nest_service(&format!("/{}", pkg_dir.trim_matches('/')), files).layer(from_fn(cache_headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hashed_names_are_immutable() {
        for hashed in ["/pkg/rhone.Ab3_xYz9-Qw12Er34Ty56u.wasm", "/pkg/rhone.Ab3_xYz9-Qw12Er34Ty56u.css.br", "rhone.abcdefghijklmnop.js", "/pkg/chunk_7.RA3rgxg2TPjl5WAyPZ7ssQ.wasm", "/pkg/__wasm_split.m9ptq49_iHhj0aYpKxRbpw.js"] {
            assert!(is_hashed(hashed), "{hashed}");
        }
        for plain in ["/pkg/rhone.wasm", "/pkg/rhone.css", "/pkg/rhone.short.js", "/pkg/snippets/x/inline0.js", "/pkg/a.b.c.d", "/pkg/.abcdefghijklmnopq.js", "/pkg/rhone.abcdefghijklmnop*.js", "/pkg/__wasm_split.______________________.js"] {
            assert!(!is_hashed(plain), "{plain}");
        }
    }
}
