//! Plain form endpoints for the login, logout and first-run setup pages: they work without
//! JavaScript and set the `HttpOnly; SameSite=Lax` session cookie. The origin check in `guard.rs`
//! runs before each of them (login CSRF), the login limits in `domain::auth` inside.

use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::auth::SESSION_TTL_MS;
use domain::net::ClientIp;
use domain::Error;
use serde::Deserialize;

use super::auth::{cookie, session_cookie};
use super::AppState;

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
}

#[derive(Deserialize)]
pub struct Setup {
    email: String,
    password: String,
    #[serde(default)]
    token: String,
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response();
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().insert(SET_COOKIE, c);
    }
    res
}

fn message(e: &Error) -> String {
    match e {
        Error::Unauthorized => "Wrong email or password.".to_string(),
        Error::Internal(_) => super::error::public_message(e),
        other => other.to_string(),
    }
}

fn back_with_error(page: &str, e: &Error) -> Response {
    redirect(&format!("{page}?error={}", url_encode(&message(e))), None)
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn start_session(s: &AppState, email: &str, password: &str, client: ClientIp) -> Result<Response, Error> {
    let issued = s.services.login(email, password, client.0).await?;
    Ok(redirect("/", Some(session_cookie(&issued.secret, SESSION_TTL_MS / 1000, s.secure_cookies))))
}

pub async fn login(State(s): State<AppState>, Extension(client): Extension<ClientIp>, Form(c): Form<Credentials>) -> Response {
    match start_session(&s, &c.email, &c.password, client).await {
        Ok(r) => r,
        Err(e) => back_with_error("/login", &e),
    }
}

pub async fn setup(State(s): State<AppState>, Extension(client): Extension<ClientIp>, Form(c): Form<Setup>) -> Response {
    if let Err(e) = s.services.setup_owner(&c.email, &c.password, &c.token).await {
        // keep a right token in the page, so fixing the email or password needs no new copy of it
        let keep = !matches!(e, Error::Invalid { field: "token", .. } | Error::Conflict(_)) && !c.token.trim().is_empty();
        let token = if keep { format!("&token={}", url_encode(c.token.trim())) } else { String::new() };
        return redirect(&format!("/setup?error={}{token}", url_encode(&message(&e))), None);
    }
    match start_session(&s, &c.email, &c.password, client).await {
        Ok(r) => r,
        Err(e) => back_with_error("/login", &e),
    }
}

pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(sess) = cookie(&headers, s.session_cookie_name()) {
        if let Err(e) = s.services.logout(sess).await {
            tracing::error!(error = %e, "logout failed");
        }
    }
    redirect("/login", Some(session_cookie("", 0, s.secure_cookies)))
}
