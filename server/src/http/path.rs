//! A numeric id from the URL path; a non-number is a JSON 400 (not axum's plain-text rejection).

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;

use super::error::error_response;

pub struct IdPath(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(IdPath(id)),
            Err(_) => Err(error_response(StatusCode::BAD_REQUEST, "the id in the URL must be a number")),
        }
    }
}
