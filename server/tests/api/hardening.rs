//! The listener's defences: `Host` names (DNS rebinding), `public_url` and the `__Host-` session
//! cookie, security headers and the pages' CSP nonce, and request body limits.

use futures::stream;
use reqwest::{Body, Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, split, EMAIL, PASSWORD};
use crate::web::{owner_login, session_from, with_cookie};

fn port(app: &crate::helpers::TestApp) -> u16 {
    app.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn requests_for_other_host_names_are_refused() {
    let app = spawn_app().await;
    let p = port(&app);
    for host in [format!("evil.example:{p}"), format!("rebind.localtest.me:{p}"), format!("127.0.0.1:{}", p + 1)] {
        let res = app.anon(Method::GET, "/login").header("Host", &host).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        let text = res.text().await.unwrap();
        assert!(text.contains("public_url") && text.contains(&host), "{text}");
        // a Bearer token does not make another name acceptable either
        let res = app.api(Method::GET, "/apps").header("Host", &host).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
    for host in [format!("localhost:{p}"), format!("127.0.0.1:{p}"), format!("[::1]:{p}")] {
        let res = app.anon(Method::GET, "/healthz").header("Host", &host).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_https_public_url_is_the_only_name_and_origin_and_its_cookie_is_host_prefixed() {
    let public = "https://rhone.example.com";
    let app = spawn_app_with(&[("RHONE_PUBLIC_URL", public)]).await;
    let res = app.anon(Method::GET, "/healthz").header("Host", "rhone.example.com").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.anon(Method::GET, "/healthz").header("Host", "other.example.com").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(res.text().await.unwrap().contains(public));

    let login = |origin: &str| {
        app.anon(Method::POST, "/auth/login").header("Host", "rhone.example.com").header("Origin", origin).form(&[("email", EMAIL), ("password", PASSWORD)])
    };
    assert_eq!(login(&app.base).send().await.unwrap().status(), StatusCode::FORBIDDEN, "only the public origin is the dashboard's");
    let res = login(public).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("__Host-rhone_session=") && set.contains("; Secure") && set.contains("Path=/") && !set.contains("Domain"), "{set}");
    let cookie = session_from(&res).unwrap();
    let res = with_cookie(&app, Method::GET, "/api/v1/apps", &cookie, None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // a cookie planted without the prefix (by a sibling subdomain, say) is not a session here
    let unprefixed = cookie.replacen("__Host-", "", 1);
    let res = with_cookie(&app, Method::GET, "/api/v1/apps", &unprefixed, None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = with_cookie(&app, Method::POST, "/api/v1/tokens", &cookie, Some(public)).json(&json!({"name": "x"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    app.stop().await;
}

fn nonce_of_hydration_script(html: &str) -> Option<String> {
    let at = html.find("<script type=\"module\" nonce=\"")?;
    let rest = &html[at + "<script type=\"module\" nonce=\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_csp_with_their_own_nonce() {
    let app = spawn_app().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let res = app.anon(Method::GET, "/login").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let h = res.headers().clone();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["x-frame-options"], "DENY");
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        let html = res.text().await.unwrap();
        let nonce = nonce_of_hydration_script(&html).unwrap_or_else(|| panic!("no nonce on the hydration script: {html}"));
        assert!(csp.contains(&format!("script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'")), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
    // the 404 page is a rendered page too
    let res = app.anon(Method::GET, "/no/such/page").send().await.unwrap();
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("'nonce-"));
    // API answers get the headers and a policy that lets nothing run
    let res = app.api(Method::GET, "/apps").send().await.unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    app.stop().await;
}

#[tokio::test]
async fn request_bodies_over_a_mebibyte_are_refused_with_413() {
    let app = spawn_app().await;
    let big = "x".repeat(1024 * 1024 + 10);
    let (status, body) = split(app.api(Method::POST, "/apps").json(&json!({"name": big})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["error"].as_str().unwrap().contains("1024 KiB"), "{body}");
    // without Content-Length (chunked): refused once the limit is passed
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..17).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let res = app.api(Method::POST, "/apps").header("Content-Type", "application/json").body(Body::wrap_stream(stream::iter(chunks))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // server functions and the forms are covered too
    let cookie = owner_login(&app).await;
    let path = <app::api::tokens::CreateToken as leptos::server_fn::ServerFn>::PATH;
    let res = with_cookie(&app, Method::POST, path, &cookie, Some(&app.base)).form(&[("name", big.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let res = app.anon(Method::POST, "/auth/login").header("Origin", &app.base).form(&[("email", EMAIL), ("password", big.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // just under the limit reaches the handler (which judges the content)
    let fits = "x".repeat(1000 * 1024);
    let (status, body) = app.json(Method::POST, "/tokens", json!({"name": fits})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    app.stop().await;
}
