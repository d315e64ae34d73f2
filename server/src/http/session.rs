//! Plain form endpoints for the login, logout and first-run setup pages: they work without
//! JavaScript and set the `HttpOnly; SameSite=Lax` session cookie. The origin check in `guard.rs`
//! runs before each of them (login CSRF), the login limits in `domain::auth` inside.

use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use domain::auth::{local_path, LoginStep, SESSION_TTL_MS};
use domain::net::ClientIp;
use domain::Error;
use serde::Deserialize;

use super::auth::{cookie, session_cookie};
use super::AppState;

#[derive(Deserialize)]
pub struct Credentials {
    email: String,
    password: String,
    /// Where to go once logged in: a path of the dashboard (anything else goes to `/`).
    #[serde(default)]
    next: String,
}


#[derive(Deserialize)]
pub struct Setup {
    email: String,
    password: String,
    #[serde(default)]
    token: String,
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    redirect_with(to, cookie.into_iter().collect())
}

fn redirect_with(to: &str, cookies: Vec<String>) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response();
    for c in cookies.into_iter().filter_map(|c| c.parse().ok()) {
        res.headers_mut().append(SET_COOKIE, c);
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

/// The cookie that carries a login waiting for its second step to `/auth/login/code` (5 minutes).
const CHALLENGE_COOKIE: &str = "rhone_login_challenge";

fn challenge_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{CHALLENGE_COOKIE}={value}; Path=/auth/login; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

async fn start_session(s: &AppState, email: &str, password: &str, client: ClientIp, next: &str) -> Result<Response, Error> {
    Ok(signed_in(s, s.services.begin_login(email, password, client.0).await?, next))
}

/// A first login step done (password, GitHub): the session cookie and `next`, or the two-factor page.
pub(crate) fn signed_in(s: &AppState, step: LoginStep, next: &str) -> Response {
    match step {
        LoginStep::Done(issued) => redirect(local_path(next), Some(session_cookie(&issued.secret, SESSION_TTL_MS / 1000, s.secure_cookies))),
        LoginStep::NeedsCode { challenge } => {
            let to = format!("/login/code?next={}", url_encode(local_path(next)));
            redirect(&to, Some(challenge_cookie(&challenge, 300, s.secure_cookies)))
        }
    }
}

/// Back to the login page with `e`'s message.
pub(crate) fn login_error(e: &Error) -> Response {
    back_with_error("/login", e)
}

#[derive(Deserialize)]
pub struct Code {
    code: String,
    #[serde(default)]
    next: String,
}

/// The second step of a login with two-factor sign-in: the code for the challenge in the cookie.
pub async fn login_code(State(s): State<AppState>, Extension(client): Extension<ClientIp>, headers: HeaderMap, Form(c): Form<Code>) -> Response {
    let challenge = cookie(&headers, CHALLENGE_COOKIE).unwrap_or_default();
    match s.services.finish_login(challenge, &c.code, client.0).await {
        Ok(issued) => redirect_with(local_path(&c.next), vec![
            session_cookie(&issued.secret, SESSION_TTL_MS / 1000, s.secure_cookies),
            challenge_cookie("", 0, s.secure_cookies),
        ]),
        Err(e @ Error::Invalid { field: "challenge", .. }) => back_with_error("/login", &e),
        Err(e) => redirect(&format!("/login/code?error={}&next={}", url_encode(&message(&e)), url_encode(local_path(&c.next))), None),
    }
}

pub async fn login(State(s): State<AppState>, Extension(client): Extension<ClientIp>, Form(c): Form<Credentials>) -> Response {
    match start_session(&s, &c.email, &c.password, client, &c.next).await {
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
    match start_session(&s, &c.email, &c.password, client, "/").await {
        Ok(r) => r,
        Err(e) => back_with_error("/login", &e),
    }
}

#[derive(Deserialize)]
pub struct Accept {
    token: String,
    /// For a new account (signed out).
    #[serde(default)]
    password: String,
}

/// The invitation page's form: a signed-in user joins; signed out, the invited email's account is
/// made with the password and signed in. Then the team opens.
pub async fn accept(State(s): State<AppState>, Extension(client): Extension<ClientIp>, headers: HeaderMap, Form(a): Form<Accept>) -> Response {
    let back = format!("/invite/{}", url_encode(a.token.trim()));
    let actor = match cookie(&headers, s.session_cookie_name()) {
        Some(sess) => s.services.actor_by_session(sess, Some(client.0)).await.ok().flatten(),
        None => None,
    };
    let password = Some(a.password.as_str()).filter(|p| !p.is_empty());
    match s.services.accept_invitation(&a.token, actor.as_ref(), password).await {
        Ok((user, team)) => {
            let to = format!("/t/{}", team.team.slug);
            match (actor, password) {
                (None, Some(p)) => start_session(&s, &user.email, p, client, &to).await.unwrap_or_else(|e| back_with_error("/login", &e)),
                _ => redirect(&to, None),
            }
        }
        Err(e) => back_with_error(&back, &e),
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

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_dashboard_paths_are_followed_after_login() {
        assert_eq!(local_path("/invite/abc"), "/invite/abc");
        assert_eq!(local_path(""), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("/\\evil.example/"), "/");
        assert_eq!(local_path("/a\nSet-Cookie: x"), "/");
    }
}
