//! Cross-site request forgery: a write authenticated by the session cookie must come from the
//! dashboard's own origin; the login, setup and logout forms too; Bearer tokens are unaffected.

use leptos::server_fn::ServerFn;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, split, EMAIL, PASSWORD};
use crate::web::{owner_login, session_from, with_cookie, EVIL};

#[tokio::test]
async fn rest_writes_with_the_cookie_need_the_dashboard_origin() {
    let app = spawn_app().await;
    let cookie = owner_login(&app).await;
    let post = |origin: Option<&str>, name: &str| {
        with_cookie(&app, Method::POST, "/api/v1/tokens", &cookie, origin).json(&json!({"name": name}))
    };
    let (status, body) = split(post(None, "no-origin").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Origin"), "{body}");
    assert_eq!(post(Some(EVIL), "evil").send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(post(Some("null"), "null-origin").send().await.unwrap().status(), StatusCode::FORBIDDEN);
    for site in ["cross-site", "same-site", "none"] {
        let res = post(None, site).header("Sec-Fetch-Site", site).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "Sec-Fetch-Site: {site}");
    }
    // an app on a sibling subdomain is same-site, not same-origin
    let sibling = format!("http://app.localhost:{}", app.proxy_port);
    assert_eq!(post(Some(&sibling), "sibling").send().await.unwrap().status(), StatusCode::FORBIDDEN);

    assert_eq!(post(Some(&app.base), "own-origin").send().await.unwrap().status(), StatusCode::CREATED);
    let res = post(None, "fetch-metadata").header("Sec-Fetch-Site", "same-origin").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "Sec-Fetch-Site: same-origin stands in for Origin");
    // Bearer requests never use the cookie: no origin rule applies
    let res = app.api(Method::POST, "/tokens").header("Origin", EVIL).json(&json!({"name": "bearer"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // reads are not writes
    let res = with_cookie(&app, Method::GET, "/api/v1/tokens", &cookie, None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let (_, list) = app.get("/tokens").await;
    let mut names: Vec<&str> = list.as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    assert_eq!(names, ["api", "bearer", "fetch-metadata", "own-origin"], "no refused request created anything");
    app.stop().await;
}

#[tokio::test]
async fn server_functions_need_the_dashboard_origin() {
    let app = spawn_app().await;
    let cookie = owner_login(&app).await;
    let path = <app::api::tokens::CreateToken as ServerFn>::PATH;
    let call = |origin: Option<&str>| with_cookie(&app, Method::POST, path, &cookie, origin).form(&[("name", "from-server-fn")]);
    assert_eq!(call(None).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(call(Some(EVIL)).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = call(Some(&app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let issued: Value = res.json().await.unwrap();
    assert!(issued["secret"].as_str().unwrap().starts_with("rhone_"), "{issued}");
    let (_, list) = app.get("/tokens").await;
    let made = list.as_array().unwrap().iter().filter(|t| t["name"] == "from-server-fn").count();
    assert_eq!(made, 1, "only the same-origin call created a token");
    app.stop().await;
}

#[tokio::test]
async fn login_logout_and_setup_forms_refuse_other_origins() {
    let app = spawn_app().await;
    let creds = [("email", EMAIL), ("password", PASSWORD)];
    // login CSRF: another site must not log the visitor in (to an account of its choosing)
    for origin in [Some(EVIL), None] {
        let mut req = app.anon(Method::POST, "/auth/login").form(&creds);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "origin {origin:?}");
        assert!(session_from(&res).is_none(), "no session for a refused login");
    }
    let res = app.anon(Method::POST, "/auth/setup").header("Origin", EVIL).form(&[("email", "x@example.com"), ("password", "long-enough-pw"), ("token", "t")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let cookie = owner_login(&app).await;
    let res = with_cookie(&app, Method::POST, "/auth/logout", &cookie, Some(EVIL)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let still = with_cookie(&app, Method::GET, "/api/v1/apps", &cookie, None).send().await.unwrap();
    assert_eq!(still.status(), StatusCode::OK, "a cross-site logout does not end the session");
    let res = with_cookie(&app, Method::POST, "/auth/logout", &cookie, Some(&app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let gone = with_cookie(&app, Method::GET, "/api/v1/apps", &cookie, None).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);

    // clients without a cookie (CLIs, scripts) still get tokens with a password
    let res = app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": EMAIL, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    app.stop().await;
}
