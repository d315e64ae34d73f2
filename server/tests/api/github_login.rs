//! Sign in with GitHub against the local GitHub (`github_stub.rs`): one-use state, PKCE, a match by
//! GitHub's numeric user id only, linking from a browser session, sign-ups only when allowed, and
//! two-factor sign-in still asked for.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::github_stub::{GitHubStub, CLIENT_ID};
use crate::helpers::{spawn_app_with, TestApp};
use crate::web::{location, owner_login, session_from};

/// Starts a sign-in (or, with `cookie`, a link) and returns GitHub's authorize URL's (state, challenge).
async fn authorize(app: &TestApp, gh: &GitHubStub, cookie: Option<&str>) -> (String, String) {
    let mut req = match cookie {
        None => app.anon(Method::GET, "/api/v1/auth/github?next=/builds"),
        Some(c) => app.anon(Method::GET, "/api/v1/account/github/link").header("Cookie", c),
    };
    req = req.header("Accept", "text/html");
    let res = req.send().await.expect("start");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let url = reqwest::Url::parse(&to).unwrap_or_else(|e| panic!("{to}: {e}"));
    assert!(to.starts_with(&format!("{}/login/oauth/authorize?", gh.url)), "{to}");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q.get("client_id").map(String::as_str), Some(CLIENT_ID));
    assert_eq!(q.get("code_challenge_method").map(String::as_str), Some("S256"));
    assert!(q["redirect_uri"].ends_with("/api/v1/github/callback"), "{to}");
    assert!(!to.contains("verifier"), "the PKCE verifier never leaves Rhone");
    (q["state"].clone(), q["code_challenge"].clone())
}

async fn back(app: &TestApp, state: &str, code: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = app.anon(Method::GET, &format!("/api/v1/github/callback?code={code}&state={state}"));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    req.send().await.expect("callback")
}

#[tokio::test]
async fn github_sign_in_matches_linked_accounts_by_github_id_only() {
    let gh = GitHubStub::start().await;
    let env = gh.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app_with(&extra).await;

    // a GitHub account nobody linked: no account is made (sign-ups are off by default)
    let (state, challenge) = authorize(&app, &gh, None).await;
    gh.authorize("c1", 9001, "octocat", &challenge);
    let res = back(&app, &state, "c1", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with("/login?error=") && location(&res).contains("link"), "{}", location(&res));
    assert!(session_from(&res).is_none());
    let (_, users) = app.get("/admin/users").await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "no account was made: {users}");

    // the owner links GitHub from a browser session (not with an API token)
    let cookie = owner_login(&app).await;
    let res = app.api(Method::GET, "/account/github/link").send().await.unwrap();
    assert!(location(&res).starts_with("/account?github_error="), "an API token cannot link: {}", location(&res));
    let (state, challenge) = authorize(&app, &gh, Some(&cookie)).await;
    gh.authorize("c2", 9001, "octocat", &challenge);
    let res = back(&app, &state, "c2", None).await;
    assert!(location(&res).starts_with("/login?error="), "a link finished without the session that started it: {}", location(&res));
    let (state, challenge) = authorize(&app, &gh, Some(&cookie)).await;
    gh.authorize("c3", 9001, "octocat", &challenge);
    let res = back(&app, &state, "c3", Some(&cookie)).await;
    assert_eq!(location(&res), "/account?github=linked");

    // now GitHub user 9001 signs in as the owner, wherever the login and email went
    let (state, challenge) = authorize(&app, &gh, None).await;
    gh.authorize("c4", 9001, "renamed-octocat", &challenge);
    let res = back(&app, &state, "c4", None).await;
    assert_eq!(location(&res), "/builds", "to the page asked for");
    let session = session_from(&res).expect("a session");
    let res = app.anon(Method::GET, "/api/v1/tokens").header("Cookie", &session).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "the session works");
    // the same state again, a state never issued, a code GitHub bound to another verifier
    assert!(location(&back(&app, &state, "c4", None).await).contains("expired"));
    assert!(location(&back(&app, "forged-state", "c4", None).await).contains("expired"));
    let (state, _) = authorize(&app, &gh, None).await;
    gh.authorize("c5", 9001, "octocat", "a-challenge-of-another-sign-in");
    let res = back(&app, &state, "c5", None).await;
    assert!(location(&res).starts_with("/login?error=") && session_from(&res).is_none(), "PKCE: {}", location(&res));
    // another GitHub account with the same login as the linked one is somebody else
    let (state, challenge) = authorize(&app, &gh, None).await;
    gh.authorize("c6", 4242, "renamed-octocat", &challenge);
    let res = back(&app, &state, "c6", None).await;
    assert!(location(&res).starts_with("/login?error=") && session_from(&res).is_none(), "{}", location(&res));
    // a second Rhone account cannot link the same GitHub account
    let (status, club) = app.json(Method::POST, "/teams", json!({"name": "Club"})).await;
    assert_eq!(status, StatusCode::CREATED, "{club}");
    app.join_as(club["slug"].as_str().unwrap(), "second@example.com", "member").await;
    let second = crate::web::browser_login_as(&app, "second@example.com", crate::helpers::PASSWORD).await;
    let (state, challenge) = authorize(&app, &gh, Some(&second)).await;
    gh.authorize("c7", 9001, "octocat", &challenge);
    let res = back(&app, &state, "c7", Some(&second)).await;
    assert!(location(&res).starts_with("/account?github_error=") && location(&res).contains("linked"), "{}", location(&res));
    app.stop().await;
}

#[tokio::test]
async fn with_sign_ups_allowed_a_new_github_user_gets_an_account_and_a_personal_team() {
    let gh = GitHubStub::start().await;
    let env = gh.env();
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.push(("RHONE_GITHUB_SIGNUP", "true"));
    let app = spawn_app_with(&extra).await;
    let (state, challenge) = authorize(&app, &gh, None).await;
    gh.authorize("n1", 777, "newcomer", &challenge);
    let res = back(&app, &state, "n1", None).await;
    let session = session_from(&res).expect("signed in");
    let res = app.anon(Method::GET, "/api/v1/teams").header("Cookie", &session).send().await.unwrap();
    let teams: serde_json::Value = res.json().await.unwrap();
    assert_eq!(teams.as_array().map(Vec::len), Some(1), "a personal team: {teams}");
    assert_eq!(teams[0]["personal"], true, "{teams}");
    // and the next sign-in of the same GitHub id is the same account
    let (state, challenge) = authorize(&app, &gh, None).await;
    gh.authorize("n2", 777, "newcomer", &challenge);
    let res = back(&app, &state, "n2", None).await;
    assert!(session_from(&res).is_some());
    let (_, users) = app.get("/admin/users").await;
    assert_eq!(users.as_array().map(Vec::len), Some(2), "the owner and the newcomer, once: {users}");
    app.stop().await;
}

#[tokio::test]
async fn github_sign_in_is_refused_clearly_when_not_configured() {
    let app = spawn_app_with(&[]).await;
    let res = app.anon(Method::GET, "/api/v1/auth/github").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    assert!(to.starts_with("/login?error=") && to.contains("not%20configured"), "{to}");
    app.stop().await;
}
