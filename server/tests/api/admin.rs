//! The instance admin: lists accounts, disables one (its sessions and tokens stop at once, it cannot
//! log in) and enables it again, ends an account's sessions; nobody else may; and being the admin
//! shows no team's apps.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, split, TestApp, PASSWORD};
use crate::web::own;

async fn send(app: &TestApp, token: &str, method: Method, path: &str) -> (StatusCode, Value) {
    split(app.as_token(token, method, path).send().await.expect("request")).await
}

async fn browser_session(app: &TestApp, email: &str) -> String {
    let res = own(app, Method::POST, "/auth/login").form(&[("email", email), ("password", PASSWORD)]).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    crate::web::session_from(&res).expect("session")
}

#[tokio::test]
async fn the_admin_disables_and_enables_accounts_and_ends_sessions_but_sees_no_teams_apps() {
    let app = spawn_app_with(&[("RHONE_ALLOW_LOCAL_REPOS", "true")]).await;
    let (status, team) = app.json(Method::POST, "/teams", json!({"name": "Side"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (member_id, member) = app.join_as(team["slug"].as_str().expect("slug"), "dev@example.com", "owner").await;
    // the member's own app, in their personal team
    let personal = send(&app, &member, Method::GET, "/teams").await.1.as_array().expect("teams").iter().find(|t| t["personal"] == true).expect("personal")["slug"].clone();
    let repo = crate::helpers::Repo::new(&[("app.py", "print(1)\n")]);
    let res = app.as_token(&member, Method::POST, "/apps").json(&json!({"name": "private", "repo_url": repo.path().to_str(), "team": personal})).send().await.expect("create");
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(app.get("/apps/private").await.0, StatusCode::NOT_FOUND, "being the admin is no membership");

    let (status, users) = app.get("/admin/users").await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let emails: Vec<&str> = users.as_array().expect("users").iter().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(emails, ["owner@example.com", "dev@example.com"]);
    assert_eq!(users[0]["instance_admin"], true);
    let (status, _) = send(&app, &member, Method::GET, "/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an owner of teams is not the admin");
    let (status, _) = send(&app, &member, Method::POST, "/admin/users/1/disable").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let session = browser_session(&app, "dev@example.com").await;
    let res = app.api(Method::POST, &format!("/admin/users/{member_id}/disable")).send().await.expect("disable");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(send(&app, &member, Method::GET, "/teams").await.0, StatusCode::UNAUTHORIZED, "their tokens stop at once");
    let res = app.anon(Method::GET, "/api/v1/teams").header("Cookie", &session).send().await.expect("teams");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "and their sessions");
    let res = app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": "dev@example.com", "password": PASSWORD})).send().await.expect("login");
    let (status, body) = split(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("disabled"), "{body}");
    let (_, users) = app.get("/admin/users").await;
    assert_eq!(users[1]["disabled"], true);

    let res = app.api(Method::POST, &format!("/admin/users/{member_id}/enable")).send().await.expect("enable");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(send(&app, &member, Method::GET, "/teams").await.0, StatusCode::OK, "tokens work again");
    let session = browser_session(&app, "dev@example.com").await;
    let (status, ended) = app.json(Method::DELETE, &format!("/admin/users/{member_id}/sessions"), json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["ended"], 1);
    let res = app.anon(Method::GET, "/api/v1/teams").header("Cookie", &session).send().await.expect("teams");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the session ended");
    assert_eq!(send(&app, &member, Method::GET, "/teams").await.0, StatusCode::OK, "tokens are not sessions");

    let (status, body) = app.json(Method::POST, "/admin/users/1/disable", json!(null)).await;
    assert_eq!(status, StatusCode::CONFLICT, "the admin cannot lock itself out: {body}");
    let (status, _) = app.json(Method::POST, "/admin/users/999/disable", json!(null)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
