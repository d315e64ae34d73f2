//! Requests as a browser sends them: form posts and cookie-authenticated calls, from the dashboard's
//! own origin or from elsewhere, and a server without an owner (first run).

use reqwest::{Method, RequestBuilder, StatusCode};
use rhone::site::SiteSettings;

use crate::helpers::{config, TestApp, EMAIL, PASSWORD};

pub const EVIL: &str = "http://evil.example";

/// A redirect's `Location` (empty when there is none).
pub fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// A request as the dashboard's own pages send it: `Origin` is the dashboard.
pub fn own(app: &TestApp, method: Method, path: &str) -> RequestBuilder {
    app.anon(method, path).header("Origin", &app.base)
}

/// A request with the session cookie and the given `Origin` (none: `None`).
pub fn with_cookie(app: &TestApp, method: Method, path: &str, cookie: &str, origin: Option<&str>) -> RequestBuilder {
    let req = app.anon(method, path).header("Cookie", cookie);
    match origin {
        Some(o) => req.header("Origin", o),
        None => req,
    }
}

/// The `name=value` of the session cookie in a response's `Set-Cookie`.
pub fn session_from(res: &reqwest::Response) -> Option<String> {
    let set = res.headers().get("set-cookie")?.to_str().ok()?;
    Some(set.split(';').next()?.to_string())
}

/// Logs in through the login form as the dashboard's page does; returns the `Cookie` value.
pub async fn browser_login(app: &TestApp, password: &str) -> String {
    let res = own(app, Method::POST, "/auth/login").form(&[("email", EMAIL), ("password", password)]).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/", "logged in");
    session_from(&res).expect("a session cookie")
}

/// Logs in as `email` through the login form; returns the `Cookie` value.
pub async fn browser_login_as(app: &TestApp, email: &str, password: &str) -> String {
    let res = own(app, Method::POST, "/auth/login").form(&[("email", email), ("password", password)]).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    session_from(&res).expect("a session cookie")
}

pub async fn owner_login(app: &TestApp) -> String {
    browser_login(app, PASSWORD).await
}

fn site() -> SiteSettings {
    SiteSettings { output_name: "rhone".into(), site_root: "target/site".into(), site_pkg_dir: "pkg".into(), env: "PROD".into(), hash_files: false }
}

/// A fresh server with no user yet (no `RHONE_ADMIN_*`): the first-run state.
pub async fn spawn_without_owner(extra: &[(&str, &str)]) -> TestApp {
    let data = tempfile::tempdir().expect("temp dir");
    let mut all = vec![("RHONE_ADMIN_EMAIL", ""), ("RHONE_ADMIN_PASSWORD", "")];
    all.extend_from_slice(extra);
    let running = rhone::start(config(data.path(), &all), site()).await.expect("rhone starts");
    TestApp::from_running(running, data).await
}
