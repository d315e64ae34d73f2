//! Static sites: files served by Rhone itself from a version's directory.

use std::path::Path;

use domain::routing::InFlight;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::body::{self, ProxyBody};
use super::pages;

/// Serves `req` from `dir` (`index.html` for directories). Paths escaping `dir` (`..`) are refused
/// by `ServeDir` and answered like missing files, with a 404 page.
pub(crate) async fn serve(dir: &Path, req: Request<Incoming>, guard: InFlight) -> Response<ProxyBody> {
    let service = ServeDir::new(dir).append_index_html_on_directories(true);
    let response = match service.oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        return pages::file_not_found();
    }
    response.map(|file| body::guarded(file, guard))
}
