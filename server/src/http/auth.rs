//! Who is calling: a `Bearer` API token or the session cookie (`rhone_session`, or
//! `__Host-rhone_session` when cookies are `Secure`). A request with `Authorization` never uses
//! the cookie, which is why such requests need no origin check.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use domain::model::User;
use domain::{Error, Services};

use super::error::ApiError;
use super::AppState;


/// The authenticated user; rejects with 401 otherwise.
pub struct CurrentUser(pub User);

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    domain::auth::cookie_value(headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()), name)
}

/// The session cookie's value, if the request is authenticated by it (no `Authorization` header).
pub fn session_of<'a>(headers: &'a HeaderMap, cookie_name: &str) -> Option<&'a str> {
    if headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    cookie(headers, cookie_name).filter(|s| !s.is_empty())
}

pub async fn user_from_headers(services: &Services, headers: &HeaderMap, cookie_name: &str) -> Result<Option<User>, Error> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        return match token {
            Some(t) => services.user_by_api_token(t).await,
            None => Ok(None),
        };
    }
    match session_of(headers, cookie_name) {
        Some(s) => services.user_by_session(s).await,
        None => Ok(None),
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match user_from_headers(&state.services, &parts.headers, state.session_cookie_name()).await? {
            Some(u) => Ok(CurrentUser(u)),
            None => Err(ApiError(Error::Unauthorized)),
        }
    }
}

impl OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        Ok(user_from_headers(&state.services, &parts.headers, state.session_cookie_name()).await?.map(CurrentUser))
    }
}

/// The `Set-Cookie` value of a session (`max_age_secs` 0 ends it). Secure cookies get the `__Host-`
/// prefix, which browsers accept only with `Secure`, `Path=/` and no `Domain`.
pub fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let name = domain::auth::session_cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}
