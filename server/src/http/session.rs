//! Plain form endpoints for the login, logout and first-run setup pages: they work without
//! JavaScript and set the `HttpOnly; SameSite=Lax` session cookie.

use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use domain::auth::SESSION_TTL_MS;
use domain::Error;
use serde::Deserialize;

use super::auth::{cookie, session_cookie, SESSION_COOKIE};
use super::{client_ip, AppState, ClientAddr};

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response();
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().insert(SET_COOKIE, c);
    }
    res
}

fn back_with_error(page: &str, e: &Error) -> Response {
    let msg = match e {
        Error::Unauthorized => "Wrong email or password.".to_string(),
        Error::Internal(_) => super::error::public_message(e),
        other => other.to_string(),
    };
    let q: String = url_encode(&msg);
    redirect(&format!("{page}?error={q}"), None)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn start_session(s: &AppState, email: &str, password: &str, client: &str) -> Result<Response, Error> {
    let issued = s.services.login(email, password, client).await?;
    Ok(redirect("/", Some(session_cookie(&issued.secret, SESSION_TTL_MS / 1000, s.secure_cookies))))
}

pub async fn login(State(s): State<AppState>, addr: ClientAddr, Form(c): Form<Credentials>) -> Response {
    match start_session(&s, &c.email, &c.password, &client_ip(&addr)).await {
        Ok(r) => r,
        Err(e) => back_with_error("/login", &e),
    }
}

pub async fn setup(State(s): State<AppState>, addr: ClientAddr, Form(c): Form<Credentials>) -> Response {
    if let Err(e) = s.services.setup_owner(&c.email, &c.password).await {
        return back_with_error("/setup", &e);
    }
    match start_session(&s, &c.email, &c.password, &client_ip(&addr)).await {
        Ok(r) => r,
        Err(e) => back_with_error("/login", &e),
    }
}

pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(sess) = cookie(&headers, SESSION_COOKIE) {
        if let Err(e) = s.services.logout(sess).await {
            tracing::error!(error = %e, "logout failed");
        }
    }
    redirect("/login", Some(session_cookie("", 0, s.secure_cookies)))
}
