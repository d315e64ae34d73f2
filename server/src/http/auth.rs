//! Who is calling: a `Bearer` API token or the `rhone_session` cookie.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use domain::model::User;
use domain::{Error, Services};

use super::error::ApiError;
use super::AppState;

pub use domain::auth::SESSION_COOKIE;

/// The authenticated user; rejects with 401 otherwise.
pub struct CurrentUser(pub User);

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    domain::auth::cookie_value(headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()), name)
}

pub async fn user_from_headers(services: &Services, headers: &HeaderMap) -> Result<Option<User>, Error> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        return match token {
            Some(t) => services.user_by_api_token(t).await,
            None => Ok(None),
        };
    }
    match cookie(headers, SESSION_COOKIE) {
        Some(s) => services.user_by_session(s).await,
        None => Ok(None),
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match user_from_headers(&state.services, &parts.headers).await? {
            Some(u) => Ok(CurrentUser(u)),
            None => Err(ApiError(Error::Unauthorized)),
        }
    }
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        Ok(user_from_headers(&state.services, &parts.headers).await?.map(CurrentUser))
    }
}

pub fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}
