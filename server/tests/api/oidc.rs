//! Single sign-on through an OpenID Connect provider (`oidc_stub.rs`): discovery, one-use state,
//! PKCE, nonce, ID tokens checked (signature with the published keys, issuer, audience, expiry),
//! accounts matched by (issuer, subject) only, linking from a browser session, sign-ups only when
//! allowed, and refusals that say why without a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app_with, TestApp};
use crate::oidc_stub::{OidcStub, SignIn, Tamper, CLIENT_SECRET};
use crate::web::{location, owner_login, session_from};

/// The browser's round trip: Rhone's start page → the provider's authorize page → the callback
/// URL the provider sends it back to (not followed yet).
async fn to_provider_and_back(app: &TestApp, idp: &OidcStub, start: &str, cookie: Option<&str>) -> String {
    let mut req = app.anon(Method::GET, start);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let res = req.send().await.expect("start");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with(&format!("{}/authorize?", idp.url)), "{to}");
    let q: std::collections::HashMap<String, String> = reqwest::Url::parse(&to).unwrap().query_pairs().into_owned().collect();
    assert!(q["nonce"].len() >= 32 && q["state"].len() >= 32 && q["state"] != q["nonce"], "{to}");
    assert!(q["scope"].split(' ').any(|s| s == "openid"), "{to}");
    assert!(!to.contains("verifier") && !to.contains(CLIENT_SECRET), "nothing secret goes through the browser: {to}");
    let res = app.client.get(&to).send().await.expect("authorize");
    assert_eq!(res.status(), StatusCode::FOUND, "the provider took the request: {:?}", res.text().await);
    let back = location(&res);
    assert!(back.starts_with(&format!("{}/api/v1/oidc/callback?", app.base)), "{back}");
    back
}

async fn follow(app: &TestApp, back: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(back);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.expect("callback")
}

async fn sign_in(app: &TestApp, idp: &OidcStub, who: SignIn) -> reqwest::Response {
    idp.next_sign_in(who);
    let back = to_provider_and_back(app, idp, "/api/v1/auth/oidc?next=/builds", None).await;
    follow(app, &back, None).await
}

fn refused(res: &reqwest::Response, why: &str) {
    let to = location(res);
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{to}");
    assert!(to.starts_with("/login?error=") && to.contains(why), "expected a refusal saying {why:?}: {to}");
    assert!(session_from(res).is_none(), "no session: {to}");
}

async fn spawn(idp: &OidcStub, more: &[(&str, &str)]) -> TestApp {
    let env = idp.env();
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.extend_from_slice(more);
    spawn_app_with(&extra).await
}

#[tokio::test]
async fn single_sign_on_matches_linked_accounts_by_issuer_and_subject_only() {
    let idp = OidcStub::start().await;
    let app = spawn(&idp, &[]).await;

    // the login page offers the provider by its name
    let page = app.anon(Method::GET, "/login").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Sign in with Acme SSO") && page.contains("/api/v1/auth/oidc"), "login page");

    // a provider account nobody linked: refused, and no account is made (sign-ups are off)
    refused(&sign_in(&app, &idp, SignIn::new("u-1", "ada")).await, "link");
    let (_, users) = app.get("/admin/users").await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "no account was made: {users}");

    // the owner links it from a browser session: not with an API token, not without the session
    let cookie = owner_login(&app).await;
    let res = app.api(Method::GET, "/account/oidc/link").send().await.unwrap();
    assert!(location(&res).starts_with("/account?oidc_error="), "an API token cannot link: {}", location(&res));
    idp.next_sign_in(SignIn::new("u-1", "ada"));
    let back = to_provider_and_back(&app, &idp, "/api/v1/account/oidc/link", Some(&cookie)).await;
    refused(&follow(&app, &back, None).await, "another%20user");
    idp.next_sign_in(SignIn::new("u-1", "ada"));
    let back = to_provider_and_back(&app, &idp, "/api/v1/account/oidc/link", Some(&cookie)).await;
    assert_eq!(location(&follow(&app, &back, Some(&cookie)).await), "/account?oidc=linked");
    let page = app.anon(Method::GET, "/account").header("Cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("ada") && page.contains("Acme SSO"), "the account page shows the link");

    // now u-1 signs in as the owner, whatever its username and email became
    idp.next_sign_in(SignIn::new("u-1", "ada-lovelace"));
    let back = to_provider_and_back(&app, &idp, "/api/v1/auth/oidc?next=/builds", None).await;
    let res = follow(&app, &back, None).await;
    assert_eq!(location(&res), "/builds", "to the page asked for");
    let session = session_from(&res).expect("a session");
    let res = app.anon(Method::GET, "/api/v1/tokens").header("Cookie", &session).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the session works");
    assert_eq!(idp.token_requests().last().map(String::as_str), Some("basic"), "client_secret_basic, the spec's default");
    // the same callback again (state used), a state never issued
    refused(&follow(&app, &back, None).await, "expired");
    refused(&follow(&app, &back.replace("state=", "state=x"), None).await, "expired");
    // another subject with the same username and email is somebody else
    refused(&sign_in(&app, &idp, SignIn::new("u-2", "ada-lovelace")).await, "link");
    // the user cancels at the provider
    let back = to_provider_and_back(&app, &idp, "/api/v1/auth/oidc", None).await;
    let res = follow(&app, &back, None).await;
    refused(&res, "access_denied");
    assert!(!location(&res).contains("cancelled"), "the provider's own text is not shown");

    // a second Rhone account cannot link the same provider account
    let (status, club) = app.json(Method::POST, "/teams", json!({"name": "Club"})).await;
    assert_eq!(status, StatusCode::CREATED, "{club}");
    app.join_as(club["slug"].as_str().unwrap(), "second@example.com", "member").await;
    let second = crate::web::browser_login_as(&app, "second@example.com", crate::helpers::PASSWORD).await;
    idp.next_sign_in(SignIn::new("u-1", "ada"));
    let back = to_provider_and_back(&app, &idp, "/api/v1/account/oidc/link", Some(&second)).await;
    let to = location(&follow(&app, &back, Some(&second)).await);
    assert!(to.starts_with("/account?oidc_error=") && to.contains("linked"), "{to}");
    app.stop().await;
}

#[tokio::test]
async fn forged_or_misdirected_id_tokens_never_sign_anybody_in() {
    let idp = OidcStub::start().await;
    let app = spawn(&idp, &[("RHONE_OIDC_SIGNUP", "true")]).await;
    for (tamper, why) in [
        (Tamper::WrongNonce, "nonce"),
        (Tamper::NoNonce, "nonce"),
        (Tamper::OtherAudience, "another%20client"),
        (Tamper::SharedAudience, "another%20client"),
        (Tamper::OtherIssuer, "another%20issuer"),
        (Tamper::Expired, "expired"),
        (Tamper::Unsigned, "refused"),
        (Tamper::Hs256WithPublicKey, "unsupported%20signature"),
        (Tamper::ForeignKey, "bad%20signature"),
        (Tamper::SecondKey, "does%20not%20publish"),
    ] {
        let res = sign_in(&app, &idp, SignIn::new("mallory", "mallory").tampered(tamper)).await;
        let to = location(&res);
        assert!(to.starts_with("/login?error=") && to.contains(why) && session_from(&res).is_none(), "{tamper:?}: {to}");
    }
    let (_, users) = app.get("/admin/users").await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "no forged token made an account: {users}");

    // the provider rotates its keys: a token under the new key id makes Rhone fetch the set again
    idp.publish_second_key();
    tokio::time::sleep(domain::auth::oidc::KEY_REFETCH + std::time::Duration::from_millis(200)).await;
    let fetched = idp.key_fetches();
    let res = sign_in(&app, &idp, SignIn::new("rotated", "rotated").tampered(Tamper::SecondKey)).await;
    assert!(session_from(&res).is_some(), "signed with the newly published key: {}", location(&res));
    assert_eq!(idp.key_fetches(), fetched + 1);
    // and a token under a known key does not fetch it again
    assert!(session_from(&sign_in(&app, &idp, SignIn::new("rotated", "rotated")).await).is_some());
    assert_eq!(idp.key_fetches(), fetched + 1);
    app.stop().await;
}

#[tokio::test]
async fn with_sign_ups_allowed_a_new_provider_account_gets_an_account_and_a_personal_team() {
    let idp = OidcStub::start().await;
    idp.recorded.lock().unwrap().post_only = true;
    let app = spawn(&idp, &[("RHONE_OIDC_SIGNUP", "true")]).await;
    let res = sign_in(&app, &idp, SignIn::new("n-1", "newcomer")).await;
    let session = session_from(&res).expect("signed in");
    assert_eq!(idp.token_requests().last().map(String::as_str), Some("post"), "a provider listing only client_secret_post gets it");
    let res = app.anon(Method::GET, "/api/v1/teams").header("Cookie", &session).send().await.unwrap();
    let teams: serde_json::Value = res.json().await.unwrap();
    assert_eq!(teams.as_array().map(Vec::len), Some(1), "a personal team: {teams}");
    assert_eq!(teams[0]["personal"], true, "{teams}");
    // the same subject again is the same account; an unverified email is not taken as the account's
    assert!(session_from(&sign_in(&app, &idp, SignIn::new("n-1", "newcomer")).await).is_some());
    let mut unverified = SignIn::new("n-2", "claims-the-owner");
    unverified.email = Some(crate::helpers::EMAIL.into());
    unverified.email_verified = false;
    assert!(session_from(&sign_in(&app, &idp, unverified).await).is_some());
    let (_, users) = app.get("/admin/users").await;
    let emails: Vec<&str> = users.as_array().unwrap().iter().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(emails.len(), 3, "the owner and two newcomers, once each: {users}");
    assert!(emails.contains(&"newcomer@idp.example.com"), "a verified email is the account's: {emails:?}");
    assert_eq!(emails.iter().filter(|e| **e == crate::helpers::EMAIL).count(), 1, "{emails:?}");
    assert!(emails.iter().any(|e| e.ends_with("@users.noreply.rhone.invalid")), "{emails:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_provider_that_is_misconfigured_or_down_is_a_clear_refusal() {
    let idp = OidcStub::start().await;
    idp.recorded.lock().unwrap().issuer_override = Some("https://someone-else.example.com".into());
    let app = spawn(&idp, &[]).await;
    let res = app.anon(Method::GET, "/api/v1/auth/oidc").send().await.unwrap();
    refused(&res, "could%20not%20finish");
    app.stop().await;

    // a provider nobody answers for
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = spawn_app_with(&[("RHONE_OIDC_ISSUER", &issuer), ("RHONE_OIDC_CLIENT_ID", "x"), ("RHONE_OIDC_CLIENT_SECRET", "y")]).await;
    refused(&app.anon(Method::GET, "/api/v1/auth/oidc").send().await.unwrap(), "could%20not%20finish");
    app.stop().await;

    // not configured at all
    let app = spawn_app_with(&[]).await;
    refused(&app.anon(Method::GET, "/api/v1/auth/oidc").send().await.unwrap(), "not%20configured");
    let page = app.anon(Method::GET, "/login").send().await.unwrap().text().await.unwrap();
    assert!(!page.contains("/api/v1/auth/oidc"), "no button without a provider");
    app.stop().await;
}
