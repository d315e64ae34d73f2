//! A JSON body extractor whose rejections use the API's `{"error": ...}` shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::de::DeserializeOwned;

use super::error::error_response;

pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(reject(rejection)),
        }
    }
}

fn reject(r: JsonRejection) -> Response {
    let (status, msg) = match &r {
        JsonRejection::JsonDataError(e) => (StatusCode::UNPROCESSABLE_ENTITY, format!("invalid request body: {}", e.body_text())),
        JsonRejection::JsonSyntaxError(_) => (StatusCode::BAD_REQUEST, "request body is not valid JSON".to_string()),
        JsonRejection::MissingJsonContentType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the body as JSON with Content-Type: application/json".to_string())
        }
        _ => (StatusCode::BAD_REQUEST, "could not read the request body".to_string()),
    };
    error_response(status, msg)
}

/// Parses an optional JSON body: empty means `T::default()`.
pub fn optional_json<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, Response> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let status = if e.is_data() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::BAD_REQUEST };
        error_response(status, format!("invalid request body: {e}"))
    })
}
