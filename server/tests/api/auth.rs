use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{split, spawn_app, EMAIL, PASSWORD};
use crate::web::{browser_login, own, with_cookie};

#[tokio::test]
async fn api_requires_a_valid_token() {
    let app = spawn_app().await;
    let (status, body) = split(app.anon(Method::GET, "/api/v1/apps").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].as_str().unwrap().contains("authentication required"));
    let res = app.anon(Method::GET, "/api/v1/apps").bearer_auth("rhone_0000").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = app.get("/apps").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_is_refused_and_then_rate_limited() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let res = app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": EMAIL, "password": "wrong-password"})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": EMAIL, "password": "wrong-password"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_listed_without_secret_and_can_be_revoked() {
    let app = spawn_app().await;
    let (status, created) = app.json(Method::POST, "/tokens", json!({"name": "ci"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["token"].as_str().unwrap().to_string();
    let (_, list) = app.get("/tokens").await;
    let listed = list.to_string();
    assert!(listed.contains("\"ci\"") && !listed.contains(&secret), "{listed}");
    let id = created["id"].as_i64().unwrap();
    let res = app.api(Method::DELETE, &format!("/tokens/{id}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.anon(Method::GET, "/api/v1/apps").bearer_auth(&secret).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "revoked token no longer works");
    app.stop().await;
}

#[tokio::test]
async fn login_form_sets_an_httponly_session_cookie() {
    let app = spawn_app().await;
    let res = own(&app, Method::POST, "/auth/login").form(&[("email", EMAIL), ("password", crate::helpers::PASSWORD)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let res = app.anon(Method::GET, "/api/v1/apps").header("Cookie", &session).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the session cookie authenticates");
    let res = own(&app, Method::POST, "/auth/login").form(&[("email", EMAIL), ("password", "nope-nope-nope")]).send().await.unwrap();
    assert!(res.headers()["location"].to_str().unwrap().starts_with("/login?error="));
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let app = spawn_app().await;
    let (this, other) = (browser_login(&app, PASSWORD).await, browser_login(&app, PASSWORD).await);
    let change = |cookie: &str, current: &str, new: &str| {
        with_cookie(&app, Method::POST, "/api/v1/account/password", cookie, Some(&app.base)).json(&json!({"current": current, "new": new}))
    };
    let (status, body) = split(change(&this, "not-my-password", "a-new-password-1").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().starts_with("current:"), "{body}");
    let (status, body) = split(change(&this, PASSWORD, "short").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"].as_str().unwrap().starts_with("new:"), "{body}");
    let res = with_cookie(&app, Method::POST, "/api/v1/account/password", &this, None).json(&json!({"current": PASSWORD, "new": "a-new-password-1"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a cookie write without the dashboard's origin");

    assert_eq!(change(&this, PASSWORD, "a-new-password-1").send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let works = |cookie: &str| with_cookie(&app, Method::GET, "/api/v1/apps", cookie, None).send();
    assert_eq!(works(&this).await.unwrap().status(), StatusCode::OK, "the session that changed it stays");
    assert_eq!(works(&other).await.unwrap().status(), StatusCode::UNAUTHORIZED, "every other session ended");
    let token = |pw: &str| app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": EMAIL, "password": pw})).send();
    assert_eq!(token(PASSWORD).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(token("a-new-password-1").await.unwrap().status(), StatusCode::CREATED);

    // with an API token no browser session is "this one": all of them end; the token keeps working
    let res = app.api(Method::POST, "/account/password").json(&json!({"current": "a-new-password-1", "new": "a-third-password"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(works(&this).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/apps").await.0, StatusCode::OK);
    app.stop().await;
}
