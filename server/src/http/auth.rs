//! Who is calling: a `Bearer` API token or the session cookie (`rhone_session`, or
//! `__Host-rhone_session` when cookies are `Secure`). A request with `Authorization` never uses
//! the cookie, which is why such requests need no origin check.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use domain::access::Actor;
use domain::net::ClientIp;
use domain::{Error, Services};

use super::error::ApiError;
use super::AppState;


/// Who is calling (user, token, address); rejects with 401 otherwise. Permissions are decided by
/// the domain method the handler calls with it, never here.
pub struct Caller(pub Actor);

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

pub async fn actor_from_headers(services: &Services, headers: &HeaderMap, cookie_name: &str, ip: Option<std::net::IpAddr>) -> Result<Option<Actor>, Error> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let token = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        return match token {
            Some(t) => services.actor_by_api_token(t, ip).await,
            None => Ok(None),
        };
    }
    match session_of(headers, cookie_name) {
        Some(s) => services.actor_by_session(s, ip).await,
        None => Ok(None),
    }
}

async fn actor_of(parts: &Parts, state: &AppState) -> Result<Option<Actor>, Error> {
    let ip = parts.extensions.get::<ClientIp>().map(|c| c.0);
    actor_from_headers(&state.services, &parts.headers, state.session_cookie_name(), ip).await
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match actor_of(parts, state).await? {
            Some(a) => Ok(Caller(a)),
            None => Err(ApiError(Error::Unauthorized)),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// Anonymous is fine, but a token that does not work is a 401, not anonymous.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        match actor_of(parts, state).await? {
            None if parts.headers.contains_key(header::AUTHORIZATION) => Err(ApiError(Error::Unauthorized)),
            found => Ok(found.map(Caller)),
        }
    }
}

pub use domain::auth::session_set_cookie as session_cookie;
