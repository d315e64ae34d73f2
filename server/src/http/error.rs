//! Maps domain errors to REST responses: `{"error": "..."}` with a 4xx/5xx status. Internal details
//! are logged here, once, and never sent.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::Error;

pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::PaymentRequired(_) => StatusCode::PAYMENT_REQUIRED,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The message a client sees.
pub fn public_message(e: &Error) -> String {
    match e {
        Error::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            "internal error; the details are in the server log".into()
        }
        Error::Unauthorized => "authentication required: log in or send Authorization: Bearer <token>".into(),
        other => other.to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let mut res = error_response(status, public_message(&self.0));
        if let Error::RateLimited { retry_after_secs } = self.0 {
            if let Ok(v) = retry_after_secs.to_string().parse() {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

/// The API's error shape: `{"error": msg}` with `status`.
pub fn error_response(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}
