//! Teams through the REST API: invitations (accept, expire, revoke, used once), role changes and
//! removals taking effect on the next request, the last-owner rules, other teams' ids answering 404,
//! and the audit log recording each audited action without secrets.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{invitation_token, split, spawn_app_with, TestApp, PASSWORD};

async fn spawn() -> TestApp {
    spawn_app_with(&[("RHONE_ALLOW_LOCAL_REPOS", "true"), ("RHONE_INVITATION_TTL_SECS", "2")]).await
}

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = app.as_token(token, method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    split(req.send().await.expect("request")).await
}

async fn team(app: &TestApp, slug: &str) {
    let (status, body) = app.json(Method::POST, "/teams", json!({"name": slug, "slug": slug})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn invite(app: &TestApp, team: &str, email: &str, role: &str) -> (i64, String) {
    let (status, inv) = app.json(Method::POST, &format!("/teams/{team}/invitations"), json!({"email": email, "role": role})).await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    (inv["id"].as_i64().expect("id"), invitation_token(&inv))
}

async fn accept_new(app: &TestApp, token: &str) -> (StatusCode, Value) {
    split(app.anon(Method::POST, &format!("/api/v1/invitations/{token}/accept")).json(&json!({"password": PASSWORD})).send().await.expect("accept")).await
}

#[tokio::test]
async fn an_invitation_is_used_once_and_not_after_it_expires_or_is_revoked() {
    let app = spawn().await;
    team(&app, "acme").await;
    let (_, link) = invite(&app, "acme", "new@example.com", "member").await;
    let (status, joined) = accept_new(&app, &link).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!((joined["team"]["slug"].as_str(), joined["team"]["role"].as_str()), (Some("acme"), Some("member")));
    let (status, again) = accept_new(&app, &link).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again["error"].as_str().unwrap_or("").contains("already used"), "{again}");

    let (id, revoked) = invite(&app, "acme", "late@example.com", "viewer").await;
    let res = app.api(Method::DELETE, &format!("/teams/acme/invitations/{id}")).send().await.expect("revoke");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, body) = accept_new(&app, &revoked).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"].as_str().unwrap_or("").contains("revoked"), "{body}");

    let (_, expiring) = invite(&app, "acme", "slow@example.com", "viewer").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
    let (status, body) = accept_new(&app, &expiring).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["error"].as_str().unwrap_or("").contains("expired"), "{body}");
    let (_, list) = app.get("/teams/acme/invitations").await;
    let states: Vec<&str> = list.as_array().expect("list").iter().filter_map(|i| i["state"].as_str()).collect();
    assert_eq!(states, ["expired", "revoked", "accepted"], "{list}");
    let (status, _) = accept_new(&app, "not-a-real-invitation").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // no account was made for those who could not join
    let res = app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": "slow@example.com", "password": PASSWORD})).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn a_role_change_or_removal_applies_to_the_very_next_request() {
    let app = spawn().await;
    team(&app, "acme").await;
    let repo = crate::helpers::Repo::new(&[("app.py", "print(1)\n")]);
    let body = json!({"name": "shop", "repo_url": repo.path().to_str(), "team": "acme", "build_command": "sleep 30", "start_command": "true"});
    let (status, created) = app.json(Method::POST, "/apps", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (user, token) = app.join_as("acme", "dev@example.com", "member").await;
    let (limited_status, limited) = send(&app, &token, Method::POST, "/tokens", Some(json!({"name": "acme only", "team": "acme"}))).await;
    assert_eq!(limited_status, StatusCode::CREATED, "{limited}");
    let limited = limited["token"].as_str().expect("token").to_string();

    let (status, dep) = send(&app, &token, Method::POST, "/apps/shop/deployments", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "a member deploys: {dep}");
    let (status, _) = app.json(Method::PATCH, &format!("/teams/acme/members/{user}"), json!({"role": "viewer"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(&app, &token, Method::POST, "/apps/shop/deployments", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer does not: {body}");
    assert!(body["error"].as_str().unwrap_or("").contains("viewer"), "the refusal says why: {body}");
    let (status, _) = send(&app, &limited, Method::GET, "/apps/shop", None).await;
    assert_eq!(status, StatusCode::OK, "a viewer still reads");

    let res = app.api(Method::DELETE, &format!("/teams/acme/members/{user}")).send().await.expect("remove");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, _) = send(&app, &token, Method::GET, "/apps/shop", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed: the team's apps are gone for them");
    let (status, _) = send(&app, &token, Method::GET, &format!("/deployments/{}", dep["id"]), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&app, &limited, Method::GET, "/teams", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "their token limited to the team is deleted");
    let (status, teams) = send(&app, &token, Method::GET, "/teams", None).await;
    assert_eq!(status, StatusCode::OK, "their own account still works");
    assert!(!teams.to_string().contains("\"acme\""), "{teams}");
    app.stop().await;
}

#[tokio::test]
async fn the_last_owner_stays_and_only_owners_make_owners() {
    let app = spawn().await;
    team(&app, "acme").await;
    let (_, me) = app.get("/teams").await;
    let my_id = app.get("/teams/acme/members").await.1[0]["user_id"].as_i64().expect("id");
    assert!(me.as_array().expect("teams").len() >= 2);
    let (status, body) = app.json(Method::PATCH, &format!("/teams/acme/members/{my_id}"), json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("last owner"), "{body}");
    let res = app.api(Method::DELETE, &format!("/teams/acme/members/{my_id}")).send().await.expect("leave");
    assert_eq!(res.status(), StatusCode::CONFLICT, "the last owner cannot leave");

    let (admin_id, admin) = app.join_as("acme", "admin@example.com", "admin").await;
    let (status, _) = send(&app, &admin, Method::POST, "/teams/acme/invitations", Some(json!({"email": "boss@example.com", "role": "owner"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an admin cannot invite an owner");
    let (status, _) = send(&app, &admin, Method::PATCH, &format!("/teams/acme/members/{admin_id}"), Some(json!({"role": "owner"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor make themselves one");
    let (status, _) = send(&app, &admin, Method::DELETE, &format!("/teams/acme/members/{my_id}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor remove the owner");
    let (status, _) = send(&app, &admin, Method::DELETE, "/teams/acme", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor delete the team");

    let (status, _) = app.json(Method::PATCH, &format!("/teams/acme/members/{admin_id}"), json!({"role": "owner"})).await;
    assert_eq!(status, StatusCode::OK, "an owner makes another owner");
    let res = app.api(Method::DELETE, &format!("/teams/acme/members/{my_id}")).send().await.expect("leave");
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "then the first may leave");
    let (status, _) = app.get("/teams/acme").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "and the team is no longer theirs to see");

    let personal = app.get("/teams").await.1[0]["slug"].as_str().expect("slug").to_string();
    let res = app.api(Method::DELETE, &format!("/teams/{personal}")).send().await.expect("delete");
    assert_eq!(res.status(), StatusCode::CONFLICT, "a personal team stays");
    app.stop().await;
}

#[tokio::test]
async fn another_teams_ids_and_slugs_reveal_nothing() {
    let app = spawn().await;
    team(&app, "acme").await;
    let repo = crate::helpers::Repo::new(&[("app.py", "print(1)\n")]);
    let body = json!({"name": "secretive", "repo_url": repo.path().to_str(), "team": "acme", "build_command": "sleep 30"});
    assert_eq!(app.json(Method::POST, "/apps", body).await.0, StatusCode::CREATED);
    app.json(Method::PATCH, "/apps/secretive/env", json!({"API_KEY": "hunter2-very-secret"})).await;
    let (_, dep) = app.json(Method::POST, "/apps/secretive/deployments", json!({})).await;
    let (_, stranger) = app.join_as("acme", "stranger@example.com", "viewer").await;
    // the stranger leaves acme: now an owner of their own team only
    let id = app.get("/teams/acme/members").await.1.as_array().expect("members").iter().find(|m| m["email"] == "stranger@example.com").expect("member")["user_id"].clone();
    assert_eq!(send(&app, &stranger, Method::DELETE, &format!("/teams/acme/members/{id}"), None).await.0, StatusCode::NO_CONTENT);

    let guesses = [
        (Method::GET, "/apps/secretive".to_string()),
        (Method::GET, "/apps/secretive/env?reveal=1".to_string()),
        (Method::GET, "/apps/secretive/logs?before=1".to_string()),
        (Method::GET, format!("/deployments/{}", dep["id"])),
        (Method::GET, format!("/deployments/{}/logs", dep["id"])),
        (Method::POST, format!("/deployments/{}/cancel", dep["id"])),
        (Method::DELETE, "/apps/secretive".to_string()),
        (Method::GET, "/teams/acme/members".to_string()),
        (Method::GET, "/teams/acme/audit".to_string()),
    ];
    for (method, path) in guesses {
        let (status, body) = send(&app, &stranger, method.clone(), &path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert!(!body.to_string().contains("hunter2"), "{body}");
    }
    // an unknown id and another team's id answer alike
    let (_, unknown) = send(&app, &stranger, Method::GET, "/deployments/999999", None).await;
    let (_, theirs) = send(&app, &stranger, Method::GET, &format!("/deployments/{}", dep["id"]), None).await;
    assert_eq!(unknown, theirs);
    let (status, _) = send(&app, &stranger, Method::POST, "/apps", Some(json!({"name": "x", "repo_url": repo.path().to_str(), "team": "acme"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "creating in a team one is not in");
    app.stop().await;
}

#[tokio::test]
async fn each_audited_action_is_logged_with_who_and_never_a_secret() {
    let app = spawn().await;
    team(&app, "acme").await;
    let repo = crate::helpers::Repo::new(&[("app.py", "print(1)\n")]);
    let body = json!({"name": "audited", "repo_url": repo.path().to_str(), "team": "acme", "build_command": "sleep 30"});
    assert_eq!(app.json(Method::POST, "/apps", body).await.0, StatusCode::CREATED);
    app.json(Method::PATCH, "/apps/audited", json!({"name": "Audited"})).await;
    app.json(Method::PATCH, "/apps/audited/env", json!({"DB_PASSWORD": "s3cr3t-value-xyz"})).await;
    assert_eq!(app.get("/apps/audited/env?reveal=1").await.0, StatusCode::OK);
    let (_, dep) = app.json(Method::POST, "/apps/audited/deployments", json!({})).await;
    app.json(Method::POST, &format!("/deployments/{}/cancel", dep["id"]), json!({})).await;
    let (status, _) = app.json(Method::POST, &format!("/deployments/{}/rollback", dep["id"]), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing to roll back to: not audited as a rollback");
    let (member, _) = app.join_as("acme", "m@example.com", "member").await;
    app.json(Method::PATCH, &format!("/teams/acme/members/{member}"), json!({"role": "admin"})).await;
    let (status, token) = app.json(Method::POST, "/tokens", json!({"name": "acme ci", "team": "acme"})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.api(Method::DELETE, &format!("/tokens/{}", token["id"])).send().await.expect("revoke token");
    let (_, inv) = app.json(Method::POST, "/teams/acme/invitations", json!({"email": "never@example.com", "role": "viewer"})).await;
    app.api(Method::DELETE, &format!("/teams/acme/invitations/{}", inv["id"])).send().await.expect("revoke invitation");
    let (status, _) = app.json(Method::PUT, "/apps/audited/credentials/token", json!({"token": "ghp_secret-token-value"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.json(Method::PATCH, "/teams/acme", json!({"name": "Acme Inc"})).await;
    let login = crate::web::owner_login(&app).await;
    assert!(!login.is_empty());
    app.api(Method::DELETE, &format!("/teams/acme/members/{member}")).send().await.expect("remove");
    app.api(Method::DELETE, "/apps/audited").send().await.expect("delete");

    let (status, log) = app.get("/teams/acme/audit?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let text = log.to_string();
    assert!(!text.contains("s3cr3t-value-xyz") && !text.contains("ghp_secret"), "values never reach the audit log: {text}");
    let actions: Vec<&str> = log.as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in [
        "team.create", "app.create", "app.update", "env.write", "env.reveal", "deploy", "deployment.cancel", "invite", "join", "member.role",
        "token.create", "token.revoke", "invitation.revoke", "credential.change", "team.update", "login", "member.remove", "app.delete",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    assert!(!actions.contains(&"rollback"), "{actions:?}");
    let reveal = log.as_array().expect("entries").iter().find(|e| e["action"] == "env.reveal").expect("reveal");
    assert_eq!(reveal["detail"], "DB_PASSWORD", "the keys revealed, not their values");
    assert_eq!(reveal["ip"], "127.0.0.1");
    assert!(reveal["actor"].as_str().unwrap_or("").starts_with("owner@example.com (token rhone_"), "{reveal}");

    // filters and pages
    let (_, only) = app.get("/teams/acme/audit?action=deploy").await;
    assert_eq!(only.as_array().expect("entries").len(), 1, "{only}");
    let (_, first) = app.get("/teams/acme/audit?limit=3").await;
    let last = first[2]["id"].as_i64().expect("id");
    let (_, next) = app.get(&format!("/teams/acme/audit?limit=3&before={last}")).await;
    assert!(next[0]["id"].as_i64().expect("id") < last);
    let (_, by_member) = app.get(&format!("/teams/acme/audit?user={member}")).await;
    assert!(by_member.as_array().expect("entries").iter().all(|e| e["user_id"] == member), "{by_member}");
    assert!(!by_member.as_array().expect("entries").is_empty(), "the member's join is theirs");
    app.stop().await;
}

#[tokio::test]
async fn the_invitation_page_form_makes_the_account_and_signs_in_or_joins_the_signed_in_user() {
    use crate::web::{own, session_from, with_cookie};
    let app = spawn().await;
    team(&app, "acme").await;
    let (_, link) = invite(&app, "acme", "fresh@example.com", "member").await;
    let res = own(&app, Method::POST, "/auth/accept").form(&[("token", link.as_str()), ("password", "short")]).send().await.expect("accept");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap_or("").to_string();
    assert!(to.starts_with(&format!("/invite/{link}?error=")), "a bad password goes back to the page with the reason: {to}");
    let res = own(&app, Method::POST, "/auth/accept").form(&[("token", link.as_str()), ("password", PASSWORD)]).send().await.expect("accept");
    assert_eq!(res.headers()["location"], "/t/acme");
    let session = session_from(&res).expect("signed in");
    let res = with_cookie(&app, Method::GET, "/api/v1/teams/acme", &session, None).send().await.expect("team");
    assert_eq!(res.status(), StatusCode::OK);

    // someone signed in joins with their own account, whatever address the link was sent to
    let (_, other) = invite(&app, "acme", "alias@example.com", "viewer").await;
    let (_, link2) = invite(&app, "acme", "another@example.com", "viewer").await;
    let res = own(&app, Method::POST, "/auth/accept").form(&[("token", other.as_str()), ("password", PASSWORD)]).send().await.expect("accept");
    let second = session_from(&res).expect("signed in");
    let res = with_cookie(&app, Method::POST, "/auth/accept", &second, Some(&app.base)).form(&[("token", link2.as_str())]).send().await.expect("join");
    assert_eq!(res.headers()["location"], "/t/acme");
    assert!(session_from(&res).is_none(), "no new session for someone signed in");
    let (_, members) = app.get("/teams/acme/members").await;
    assert_eq!(members.as_array().expect("members").len(), 3, "{members}");
    let res = own(&app, Method::POST, "/auth/accept").form(&[("token", "nonsense"), ("password", PASSWORD)]).send().await.expect("accept");
    assert!(res.headers()["location"].to_str().unwrap_or("").starts_with("/invite/nonsense?error="));
    app.stop().await;
}
