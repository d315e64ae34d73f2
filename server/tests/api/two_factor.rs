//! Two-factor sign-in: enrolment from the account page's server functions, login with a TOTP code and
//! with a recovery code (each usable once), the REST token login, guessing limits, a team that
//! requires it, and turning it off.

use leptos::server_fn::ServerFn;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, split, TestApp, EMAIL, PASSWORD};
use crate::web::{own, owner_login, session_from, with_cookie};
use domain::auth::totp::{code_at, TotpSecret, STEP_SECS};

/// Calls a server function with the session cookie; its JSON answer.
async fn call<T: ServerFn>(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = with_cookie(app, Method::POST, T::PATH, cookie, Some(&app.base)).form(form).send().await.expect("server fn");
    let status = res.status();
    (status, serde_json::from_str(&res.text().await.unwrap_or_default()).unwrap_or(Value::Null))
}

/// The code of the step `offset` steps from now.
fn code(secret: &TotpSecret, offset: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let at = now.saturating_add_signed(offset * STEP_SECS as i64);
    format!("{:06}", code_at(secret, at))
}

/// Turns two-factor sign-in on for the owner; returns the secret and the recovery codes.
async fn enrol(app: &TestApp, cookie: &str) -> (TotpSecret, Vec<String>) {
    use app::api::two_factor::{BeginTwoFactor, ConfirmTwoFactor};
    let (status, begun) = call::<BeginTwoFactor>(app, cookie, &[]).await;
    assert_eq!(status, StatusCode::OK, "{begun}");
    assert!(begun["qr_svg"].as_str().unwrap_or("").starts_with("<svg"), "{begun}");
    assert!(begun["otpauth_url"].as_str().unwrap_or("").starts_with("otpauth://totp/Rhone:owner%40example.com?"), "{begun}");
    let secret = TotpSecret::from_base32(begun["secret"].as_str().expect("secret")).expect("base32");
    let (status, wrong) = call::<ConfirmTwoFactor>(app, cookie, &[("code", "000000")]).await;
    assert_ne!(status, StatusCode::OK, "a wrong first code does not turn it on: {wrong}");
    let (status, codes) = call::<ConfirmTwoFactor>(app, cookie, &[("code", &code(&secret, -1))]).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let codes: Vec<String> = serde_json::from_value(codes).expect("codes");
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// The password step of the login form: with two-factor sign-in it answers with the code page and a
/// challenge cookie, not a session.
async fn password_step(app: &TestApp) -> String {
    let res = own(app, Method::POST, "/auth/login").form(&[("email", EMAIL), ("password", PASSWORD), ("next", "/t/x")]).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login/code?next=%2Ft%2Fx");
    let cookie = session_from(&res).expect("challenge cookie");
    assert!(cookie.starts_with("rhone_login_challenge="), "no session before the code: {cookie}");
    cookie
}

async fn code_step(app: &TestApp, challenge: &str, code: &str) -> reqwest::Response {
    with_cookie(app, Method::POST, "/auth/login/code", challenge, Some(&app.base)).form(&[("code", code), ("next", "/t/x")]).send().await.expect("code")
}

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with("rhone_session=") && !c.starts_with("rhone_session=;")).map(|c| c.split(';').next().unwrap_or("").to_string())
}

#[tokio::test]
async fn signing_in_asks_for_a_code_each_usable_once_and_recovery_codes_work_once() {
    let app = spawn_app_with(&[]).await;
    let cookie = owner_login(&app).await;
    let (secret, recovery) = enrol(&app, &cookie).await;

    let challenge = password_step(&app).await;
    let res = code_step(&app, &challenge, "123456").await;
    assert!(res.headers()["location"].to_str().unwrap_or("").starts_with("/login/code?error="), "a wrong code is refused");
    assert!(session_cookie(&res).is_none());
    let used = code(&secret, 0);
    let res = code_step(&app, &challenge, &used).await;
    assert_eq!(res.headers()["location"], "/t/x", "signed in, on to where they were going");
    let session = session_cookie(&res).expect("a session");
    let (status, _) = split(app.anon(Method::GET, "/api/v1/teams").header("Cookie", &session).send().await.expect("teams")).await;
    assert_eq!(status, StatusCode::OK);
    let res = code_step(&app, &challenge, &used).await;
    assert_eq!(res.headers()["location"], "/login?error=challenge%3A%20this%20sign-in%20has%20expired%3A%20enter%20your%20email%20and%20password%20again", "a challenge is used once");

    let again = password_step(&app).await;
    let res = code_step(&app, &again, &used).await;
    assert!(session_cookie(&res).is_none(), "the same code does not sign in twice");
    let res = code_step(&app, &again, &recovery[0].to_uppercase()).await;
    assert!(session_cookie(&res).is_some(), "a recovery code signs in (any case)");
    let third = password_step(&app).await;
    let res = code_step(&app, &third, &recovery[0]).await;
    assert!(session_cookie(&res).is_none(), "but only once");

    // the REST token login asks for the code too
    let (status, body) = split(app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": EMAIL, "password": PASSWORD})).send().await.expect("token")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("two-factor"), "{body}");
    let with_code = json!({"email": EMAIL, "password": PASSWORD, "code": code(&secret, 1)});
    let (status, body) = split(app.anon(Method::POST, "/api/v1/auth/token").json(&with_code).send().await.expect("token")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // the account page's status
    let (_, state) = call::<app::api::two_factor::TwoFactorStatus>(&app, &cookie, &[]).await;
    assert_eq!(state, json!({"enabled": true, "recovery_codes_left": 9}));
    app.stop().await;
}

#[tokio::test]
async fn guessing_codes_is_limited_even_with_the_right_password() {
    let app = spawn_app_with(&[]).await;
    let cookie = owner_login(&app).await;
    enrol(&app, &cookie).await;
    let mut statuses = Vec::new();
    for guess in 0..8 {
        let body = json!({"email": EMAIL, "password": PASSWORD, "code": format!("{:06}", 111_111 + guess)});
        statuses.push(app.anon(Method::POST, "/api/v1/auth/token").json(&body).send().await.expect("token").status());
    }
    assert!(statuses.iter().take(5).all(|s| *s == StatusCode::UNPROCESSABLE_ENTITY), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_team_can_require_it_and_it_can_be_turned_off_with_the_password() {
    let app = spawn_app_with(&[("RHONE_ALLOW_LOCAL_REPOS", "true")]).await;
    let (status, _) = app.json(Method::POST, "/teams", json!({"name": "Acme", "slug": "acme"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app.json(Method::PATCH, "/teams/acme", json!({"require_2fa": true})).await;
    assert_eq!(status, StatusCode::CONFLICT, "the owner has to use it first: {body}");
    let cookie = owner_login(&app).await;
    let (secret, _) = enrol(&app, &cookie).await;
    // the owner's old token belongs to a user who now has two-factor sign-in: it keeps working
    let (status, team) = app.json(Method::PATCH, "/teams/acme", json!({"require_2fa": true})).await;
    assert_eq!(status, StatusCode::OK, "{team}");
    assert_eq!(team["require_2fa"], true);
    let repo = crate::helpers::Repo::new(&[("app.py", "print(1)\n")]);
    let (status, _) = app.json(Method::POST, "/apps", json!({"name": "guarded", "repo_url": repo.path().to_str(), "team": "acme"})).await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, member) = app.join_as("acme", "plain@example.com", "admin").await;
    let (status, body) = split(app.as_token(&member, Method::GET, "/apps/guarded").send().await.expect("get")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("two-factor"), "{body}");
    let (_, outsider) = app.join_as(&app.get("/teams").await.1[0]["slug"].as_str().expect("slug").to_string(), "out@example.com", "viewer").await;
    let (status, _) = split(app.as_token(&outsider, Method::GET, "/apps/guarded").send().await.expect("get")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "outsiders still learn nothing");

    use app::api::two_factor::DisableTwoFactor;
    let (status, _) = call::<DisableTwoFactor>(&app, &cookie, &[("password", "not-my-password")]).await;
    assert_ne!(status, StatusCode::OK, "turning it off needs the password");
    let (status, body) = call::<DisableTwoFactor>(&app, &cookie, &[("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.get("/apps/guarded").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "now the owner is refused by their own team's rule too");
    let res = own(&app, Method::POST, "/auth/login").form(&[("email", EMAIL), ("password", PASSWORD)]).send().await.expect("login");
    assert_eq!(res.headers()["location"], "/", "no code asked any more");
    let _ = secret;
    app.stop().await;
}
