//! Static sites: files served by Rhone itself from a version's directory, and from nowhere else.
//!
//! A request path is resolved by Rhone, not by a generic file server: each segment is
//! percent-decoded and refused if it starts with `.` (so `..`, `.git/`, `.env` and every other
//! dotfile are never served) or hides a separator; the result is canonicalized (following
//! symlinks) and must still lie inside the canonical site root, again without a dot segment. A
//! symlink that stays inside the site is followed; one leading out of it (`d -> ../../..`, an
//! absolute path) answers 404 like a missing file. Only the resolved, symlink-free path is opened.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};

use domain::routing::InFlight;
use http::header::{HeaderValue, ALLOW, LOCATION};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::body::{self, ProxyBody};
use super::pages;

/// What a request path names inside a site.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    /// A regular file inside the root (canonical path, no symlinks left).
    File(PathBuf),
    /// A directory requested without its trailing slash: redirect to this path.
    AddSlash(String),
    Missing,
}

/// Serves `req` from `dir` (`index.html` for directories). Anything outside `dir` or hidden is
/// answered like a missing file, with a 404 page.
///
/// With `spa` (a single-page app), a path that names no file and whose last segment has no file
/// extension answers the root's `index.html` with 200, so client-side routes survive a reload; a
/// missing `/app.js` is still a 404, and so is every hidden path.
pub(crate) async fn serve(dir: &Path, spa: bool, req: Request<Incoming>, guard: InFlight, sent: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Response<ProxyBody> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let mut response = pages::method_not_allowed();
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let (root, path, query) = (dir.to_path_buf(), req.uri().path().to_owned(), req.uri().query().map(str::to_owned));
    let resolved = tokio::task::spawn_blocking(move || match resolve(&root, &path, query.as_deref()) {
        Resolved::Missing if spa && is_route(&path) => resolve(&root, "/", None),
        resolved => resolved,
    })
    .await
    .unwrap_or(Resolved::Missing);
    match resolved {
        Resolved::Missing => pages::file_not_found(),
        Resolved::AddSlash(location) => match HeaderValue::from_str(&location) {
            Ok(location) => {
                let mut response = Response::new(body::empty());
                *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                response.headers_mut().insert(LOCATION, location);
                response
            }
            Err(_) => pages::file_not_found(),
        },
        Resolved::File(file) => {
            let response = match ServeFile::new(file).oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.status() == StatusCode::NOT_FOUND {
                return pages::file_not_found();
            }
            response.map(|file| body::guarded(file, guard, sent))
        }
    }
}

/// True for a path a single-page app routes itself: its segments are visible (no dot segment) and
/// the last one names no file type (`/users/42`, not `/logo.png`).
fn is_route(uri_path: &str) -> bool {
    let Some(segments) = segments(uri_path) else { return false };
    segments.last().is_none_or(|(_, last)| !last.as_bytes().contains(&b'.'))
}

/// Resolves a request path against `root` (blocking file system calls).
fn resolve(root: &Path, uri_path: &str, query: Option<&str>) -> Resolved {
    let Some(segments) = segments(uri_path) else {
        return Resolved::Missing;
    };
    let Ok(root) = root.canonicalize() else {
        return Resolved::Missing;
    };
    let mut path = root.clone();
    path.extend(segments.iter().map(|(_, decoded)| decoded));
    let Some(real) = inside(&root, &path) else {
        return Resolved::Missing;
    };
    let file = if real.is_dir() {
        if !uri_path.ends_with('/') {
            let raw: Vec<&str> = segments.iter().map(|(raw, _)| *raw).collect();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            return Resolved::AddSlash(format!("/{}/{query}", raw.join("/")));
        }
        match inside(&root, &real.join("index.html")) {
            Some(index) => index,
            None => return Resolved::Missing,
        }
    } else {
        real
    };
    if file.is_file() {
        Resolved::File(file)
    } else {
        Resolved::Missing
    }
}

/// The canonical form of `path` if it exists, lies inside `root` (itself canonical) and has no
/// dot segment below it.
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = path.canonicalize().ok()?;
    let relative = real.strip_prefix(root).ok()?;
    let visible = relative.components().all(|c| matches!(c, Component::Normal(name) if !name.as_bytes().starts_with(b".")));
    visible.then_some(real)
}

/// The non-empty segments of a request path, each raw and percent-decoded. `None` if a segment
/// starts with `.` or decodes to something containing `/`, `\` or NUL.
fn segments(uri_path: &str) -> Option<Vec<(&str, OsString)>> {
    let mut out = Vec::new();
    for raw in uri_path.split('/').filter(|s| !s.is_empty()) {
        let decoded = percent_decode(raw)?;
        if decoded.starts_with(b".") || decoded.iter().any(|b| matches!(b, b'/' | b'\\' | 0)) {
            return None;
        }
        out.push((raw, OsString::from_vec(decoded)));
    }
    Some(out)
}

/// Decodes `%XX` escapes; `None` for a malformed escape.
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_encoded_or_not_are_refused() {
        for path in ["/..", "/a/../b", "/%2e%2e/x", "/%2E%2e/x", "/.git/config", "/.env", "/a/.hidden/b", "/%2egit/x", "/./x"] {
            assert!(segments(path).is_none(), "{path}");
        }
    }

    #[test]
    fn encoded_separators_and_bad_escapes_are_refused() {
        for path in ["/a%2f..%2fb", "/a%2Fb", "/a%5cb", "/a%00", "/a%zz", "/a%2"] {
            assert!(segments(path).is_none(), "{path}");
        }
    }

    #[test]
    fn ordinary_paths_are_decoded_segment_by_segment() {
        let segs = segments("//docs/my%20file.html").unwrap();
        let decoded: Vec<_> = segs.iter().map(|(raw, d)| (*raw, d.to_str().unwrap())).collect();
        assert_eq!(decoded, [("docs", "docs"), ("my%20file.html", "my file.html")]);
    }
}
