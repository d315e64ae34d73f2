//! The authorization matrix: every REST route, as declared in `rhone::http::api::ROUTES`, asked by
//! each of {anonymous, revoked token, owner of another team, viewer, read-scoped token, member,
//! admin, owner} of the team that owns the resource, with the status each must get. A route missing
//! from the matrix fails the test, so a new endpoint cannot skip it.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{invitation_token, split, spawn_app_with, Repo, TestApp};

const ACTORS: [&str; 8] = ["anonymous", "revoked token", "owner of another team", "viewer", "read token", "member", "admin", "owner"];
pub(crate) const TEAM: &str = "acme";

/// Reads of the app and what hangs off it: any member.
const VIEWER: fn(u16) -> [u16; 8] = |ok| [401, 401, 404, ok, ok, ok, ok, ok];
/// Env keys, credentials: members and up (the owner's read token may read).
const MEMBER_READ: fn(u16) -> [u16; 8] = |ok| [401, 401, 404, 403, ok, ok, ok, ok];
/// Deploy, roll back, cancel.
const MEMBER: fn(u16) -> [u16; 8] = |ok| [401, 401, 404, 403, 403, ok, ok, ok];
/// App settings, env values, members, invitations.
const ADMIN: fn(u16) -> [u16; 8] = |ok| [401, 401, 404, 403, 403, 403, ok, ok];
/// The audit log: admins, and the owner's read token (reading changes nothing).
const ADMIN_READ: fn(u16) -> [u16; 8] = |ok| [401, 401, 404, 403, ok, 403, ok, ok];
const OWNER: fn(u16) -> [u16; 8] = |ok| [401, 401, 404, 403, 403, 403, 403, ok];
/// Not about one team: any signed-in user.
const ANY_USER: fn(u16) -> [u16; 8] = |ok| [401, 401, ok, ok, ok, ok, ok, ok];
/// The instance admin's: everyone else (however high in a team) is refused.
const INSTANCE_ADMIN: fn(u16) -> [u16; 8] = |ok| [401, 401, 403, 403, 403, 403, 403, ok];
/// Needs a session or an unlimited write token.
const UNLIMITED: fn(u16) -> [u16; 8] = |ok| [401, 401, ok, ok, 403, ok, ok, ok];

/// What a case's request is aimed at: a fixed path, or (for the actors expected to succeed at a
/// destructive action) a thing made fresh for them, so each success has something to act on.
#[derive(Clone, Copy)]
enum Fresh {
    No,
    App,
    /// An app of its own to stop (a stopped app refuses deploys: the shared one must stay in service).
    AppToStop,
    Deployment,
    Team,
    Member,
    Invitation,
    OwnToken,
    ClubInvitation,
}

struct Case {
    method: Method,
    route: &'static str,
    path: String,
    fresh: Fresh,
    /// JSON body; `{n}` is replaced by a number unique to the request.
    body: Option<&'static str>,
    expect: [u16; 8],
}

pub(crate) struct Fixture {
    pub app: TestApp,
    pub repo: Repo,
    /// Per actor: the API token it sends (`None`: anonymous).
    pub tokens: Vec<Option<String>>,
    n: std::sync::atomic::AtomicUsize,
}

impl Fixture {
    pub fn next(&self) -> usize {
        self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn owner(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, v) = self.app.json(method, path, body).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// The path a fresh target gives actor `who`.
    async fn fresh_path(&self, fresh: Fresh, who: usize) -> String {
        let n = self.next();
        match fresh {
            Fresh::No => unreachable!("fixed paths are not fresh"),
            Fresh::App | Fresh::AppToStop => {
                let body = json!({"name": format!("gone-{n}"), "repo_url": self.repo.path().to_str(), "team": TEAM});
                let app = format!("/apps/{}", self.owner(Method::POST, "/apps", body).await["slug"].as_str().expect("slug"));
                if matches!(fresh, Fresh::AppToStop) { format!("{app}/stop") } else { app }
            }
            Fresh::Deployment => {
                let dep = self.owner(Method::POST, "/apps/acme-app/deployments", json!({})).await;
                format!("/deployments/{}/cancel", dep["id"])
            }
            Fresh::Team => {
                let team = self.owner(Method::POST, "/teams", json!({"name": format!("Doomed {n}")})).await;
                format!("/teams/{}", team["slug"].as_str().expect("slug"))
            }
            Fresh::Member => {
                let (id, _) = self.app.join_as(TEAM, &format!("pawn{n}@example.com"), "member").await;
                format!("/teams/{TEAM}/members/{id}")
            }
            Fresh::Invitation => {
                let inv = self.owner(Method::POST, &format!("/teams/{TEAM}/invitations"), json!({"email": format!("guest{n}@example.com"), "role": "viewer"})).await;
                format!("/teams/{TEAM}/invitations/{}", inv["id"])
            }
            Fresh::OwnToken => {
                let token = self.tokens[who].as_deref().expect("a signed-in actor");
                let res = self.app.as_token(token, Method::POST, "/tokens").json(&json!({"name": format!("spare {n}")})).send().await.expect("request");
                let (status, made) = split(res).await;
                assert_eq!(status, StatusCode::CREATED, "{made}");
                format!("/tokens/{}", made["id"])
            }
            Fresh::ClubInvitation => {
                let inv = self.owner(Method::POST, "/teams/club/invitations", json!({"email": format!("club{n}@example.com"), "role": "viewer"})).await;
                format!("/invitations/{}/accept", invitation_token(&inv))
            }
        }
    }
}

pub(crate) async fn fixture() -> Fixture {
    // several users: local repositories must be allowed explicitly
    let app = spawn_app_with(&[("RHONE_ALLOW_LOCAL_REPOS", "true"), ("RHONE_GITHUB_WEBHOOK_SECRET", "authz-webhook-secret")]).await;
    let repo = Repo::new(&[("app.py", "print('hi')\n")]);
    let (status, team) = app.json(Method::POST, "/teams", json!({"name": "Acme", "slug": TEAM})).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, _) = app.json(Method::POST, "/teams", json!({"name": "Club", "slug": "club"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, lobby) = app.json(Method::POST, "/teams", json!({"name": "Lobby"})).await;
    assert_eq!(status, StatusCode::CREATED);
    // builds that take long: deployments stay cancellable, and each new one supersedes the last
    let body = json!({"name": "acme-app", "repo_url": repo.path().to_str(), "team": TEAM, "build_command": "sleep 30", "start_command": "true"});
    let (status, created) = app.json(Method::POST, "/apps", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    let (_, viewer) = app.join_as(TEAM, "viewer@example.com", "viewer").await;
    let (_, member) = app.join_as(TEAM, "member@example.com", "member").await;
    let (_, admin) = app.join_as(TEAM, "admin@example.com", "admin").await;
    // the outsider belongs to another team of the owner's, never to acme
    let (_, outsider) = app.join_as(lobby["slug"].as_str().expect("slug"), "outsider@example.com", "owner").await;
    let (status, read) = app.json(Method::POST, "/tokens", json!({"name": "read", "scope": "read"})).await;
    assert_eq!(status, StatusCode::CREATED, "{read}");
    let revoked = app.token_for("member@example.com", crate::helpers::PASSWORD).await;
    let id: i64 = split(app.as_token(&revoked, Method::GET, "/tokens").send().await.expect("list")).await.1[0]["id"].as_i64().expect("id");
    let res = app.as_token(&revoked, Method::DELETE, &format!("/tokens/{id}")).send().await.expect("revoke");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let tokens = vec![None, Some(revoked), Some(outsider), Some(viewer), Some(read["token"].as_str().expect("token").to_string()), Some(member), Some(admin), Some(app.token.clone())];
    Fixture { app, repo, tokens, n: Default::default() }
}

fn case(method: Method, route: &'static str, path: impl Into<String>, body: Option<&'static str>, expect: [u16; 8]) -> Case {
    Case { method, route, path: path.into(), fresh: Fresh::No, body, expect }
}

fn fresh(method: Method, route: &'static str, path: impl Into<String>, fresh: Fresh, expect: [u16; 8]) -> Case {
    Case { method, route, path: path.into(), fresh, body: None, expect }
}

async fn cases(fx: &Fixture) -> Vec<Case> {
    use Method as M;
    // stable targets for the refusals
    let dep = fx.owner(M::POST, "/apps/acme-app/deployments", json!({})).await["id"].as_i64().expect("id");
    let cancelled = fx.owner(M::POST, "/apps/acme-app/deployments", json!({})).await["id"].as_i64().expect("id");
    fx.owner(M::POST, &format!("/deployments/{cancelled}/cancel"), json!({})).await;
    let (pawn, _) = fx.app.join_as(TEAM, "pawn@example.com", "member").await;
    let inv = fx.owner(M::POST, &format!("/teams/{TEAM}/invitations"), json!({"email": "stays@example.com", "role": "viewer"})).await["id"].clone();
    let owner_token = fx.owner(M::GET, "/tokens", json!(null)).await[0]["id"].clone();
    vec![
        case(M::POST, "/auth/token", "/auth/token", Some(r#"{"email": "nobody{n}@example.com", "password": "wrong-password"}"#), [401; 8]),
        case(M::POST, "/account/password", "/account/password", Some(r#"{"current": "not-my-password", "new": "another-long-password"}"#), [401, 401, 422, 422, 403, 422, 422, 422]),
        // only the installation's first account (the owner here), never through a read token
        case(M::GET, "/admin/users", "/admin/users", None, INSTANCE_ADMIN(200)),
        case(M::POST, "/admin/users/{id}/disable", format!("/admin/users/{pawn}/disable"), None, INSTANCE_ADMIN(204)),
        case(M::POST, "/admin/users/{id}/enable", format!("/admin/users/{pawn}/enable"), None, INSTANCE_ADMIN(204)),
        case(M::DELETE, "/admin/users/{id}/sessions", format!("/admin/users/{pawn}/sessions"), None, INSTANCE_ADMIN(200)),
        case(M::GET, "/tokens", "/tokens", None, ANY_USER(200)),
        case(M::POST, "/tokens", "/tokens", Some(r#"{"name": "t{n}"}"#), UNLIMITED(201)),
        Case { method: M::DELETE, route: "/tokens/{id}", path: format!("/tokens/{owner_token}"), fresh: Fresh::OwnToken, body: None, expect: [401, 401, 204, 204, 403, 204, 204, 204] },
        case(M::GET, "/teams", "/teams", None, ANY_USER(200)),
        case(M::POST, "/teams", "/teams", Some(r#"{"name": "Team {n}"}"#), UNLIMITED(201)),
        case(M::GET, "/teams/{team}", format!("/teams/{TEAM}"), None, VIEWER(200)),
        case(M::PATCH, "/teams/{team}", format!("/teams/{TEAM}"), Some(r#"{"name": "Acme {n}"}"#), ADMIN(200)),
        fresh(M::DELETE, "/teams/{team}", format!("/teams/{TEAM}"), Fresh::Team, OWNER(204)),
        case(M::GET, "/teams/{team}/members", format!("/teams/{TEAM}/members"), None, VIEWER(200)),
        case(M::PATCH, "/teams/{team}/members/{user}", format!("/teams/{TEAM}/members/{pawn}"), Some(r#"{"role": "member"}"#), ADMIN(200)),
        fresh(M::DELETE, "/teams/{team}/members/{user}", format!("/teams/{TEAM}/members/{pawn}"), Fresh::Member, ADMIN(204)),
        case(M::GET, "/teams/{team}/invitations", format!("/teams/{TEAM}/invitations"), None, ADMIN(200)),
        case(M::POST, "/teams/{team}/invitations", format!("/teams/{TEAM}/invitations"), Some(r#"{"email": "new{n}@example.com", "role": "member"}"#), ADMIN(201)),
        case(M::GET, "/teams/{team}/invitations/{id}", format!("/teams/{TEAM}/invitations/{inv}"), None, ADMIN(200)),
        fresh(M::DELETE, "/teams/{team}/invitations/{id}", format!("/teams/{TEAM}/invitations/{inv}"), Fresh::Invitation, ADMIN(204)),
        case(M::GET, "/teams/{team}/audit", format!("/teams/{TEAM}/audit"), None, ADMIN_READ(200)),
        // billing is off here: members see "unlimited"; owners (who may buy) are told it is not configured
        case(M::GET, "/teams/{team}/billing", format!("/teams/{TEAM}/billing"), None, VIEWER(200)),
        case(M::POST, "/teams/{team}/billing/checkout", format!("/teams/{TEAM}/billing/checkout"), Some(r#"{"plan": "starter"}"#), OWNER(404)),
        case(M::GET, "/teams/{team}/billing/usage", format!("/teams/{TEAM}/billing/usage?from=0"), None, VIEWER(200)),
        case(M::POST, "/teams/{team}/billing/portal", format!("/teams/{TEAM}/billing/portal"), None, OWNER(404)),
        case(M::GET, "/teams/{team}/billing/invoices", format!("/teams/{TEAM}/billing/invoices"), None, OWNER(404)),
        case(M::PUT, "/teams/{team}/billing/cap", format!("/teams/{TEAM}/billing/cap"), Some(r#"{"cap_cents": 5000}"#), OWNER(404)),
        // no GitHub App on this installation: admins are told so (409)
        case(M::GET, "/teams/{team}/github/install", format!("/teams/{TEAM}/github/install"), None, ADMIN(409)),
        case(M::GET, "/teams/{team}/github/repositories", format!("/teams/{TEAM}/github/repositories"), None, ADMIN(200)),
        case(M::GET, "/teams/{team}/github/branches", format!("/teams/{TEAM}/github/branches?repo=o/r"), None, ADMIN(404)),
        // a browser coming back from GitHub: to the login page, or to the new-app page with the refusal
        case(M::GET, "/github/callback", "/github/callback", None, [303, 401, 303, 303, 303, 303, 303, 303]),
        // sign in with GitHub (not configured here: back to the login page, saying so) and linking it
        case(M::GET, "/auth/github", "/auth/github", None, [303; 8]),
        case(M::GET, "/account/github/link", "/account/github/link", None, [401, 401, 303, 303, 303, 303, 303, 303]),
        // single sign-on (not configured here): the same, for the OpenID Connect provider
        case(M::GET, "/oidc/callback", "/oidc/callback", None, [303, 401, 303, 303, 303, 303, 303, 303]),
        case(M::GET, "/auth/oidc", "/auth/oidc", None, [303; 8]),
        case(M::GET, "/account/oidc/link", "/account/oidc/link", None, [401, 401, 303, 303, 303, 303, 303, 303]),
        Case {
            method: M::POST,
            route: "/invitations/{token}/accept",
            path: String::new(),
            fresh: Fresh::ClubInvitation,
            body: Some("{}"),
            // anonymous without a password: told to log in or choose one
            expect: [422, 401, 200, 200, 403, 200, 200, 200],
        },
        case(M::GET, "/apps", "/apps", None, ANY_USER(200)),
        case(M::POST, "/apps", "/apps", Some(r#"{"name": "made-{n}", "repo_url": "REPO", "team": "acme"}"#), ADMIN(201)),
        case(M::GET, "/apps/{slug}", "/apps/acme-app", None, VIEWER(200)),
        case(M::PATCH, "/apps/{slug}", "/apps/acme-app", Some(r#"{"name": "Acme app {n}"}"#), ADMIN(200)),
        fresh(M::DELETE, "/apps/{slug}", "/apps/acme-app", Fresh::App, ADMIN(204)),
        // never deployed: nothing to restart or start (allowed callers are told so), but it can be stopped
        case(M::POST, "/apps/{slug}/restart", "/apps/acme-app/restart", None, MEMBER(409)),
        fresh(M::POST, "/apps/{slug}/stop", "/apps/acme-app/stop", Fresh::AppToStop, MEMBER(200)),
        case(M::POST, "/apps/{slug}/start", "/apps/acme-app/start", None, MEMBER(409)),
        case(M::GET, "/apps/{slug}/env", "/apps/acme-app/env", None, MEMBER_READ(200)),
        case(M::GET, "/apps/{slug}/env", "/apps/acme-app/env?reveal=1", None, ADMIN(200)),
        case(M::PUT, "/apps/{slug}/env", "/apps/acme-app/env", Some(r#"{"A": "{n}"}"#), ADMIN(200)),
        case(M::PATCH, "/apps/{slug}/env", "/apps/acme-app/env", Some(r#"{"B": "{n}"}"#), ADMIN(200)),
        case(M::GET, "/apps/{slug}/credentials", "/apps/acme-app/credentials", None, MEMBER_READ(200)),
        case(M::DELETE, "/apps/{slug}/credentials", "/apps/acme-app/credentials", None, ADMIN(204)),
        case(M::PUT, "/apps/{slug}/credentials/token", "/apps/acme-app/credentials/token", Some(r#"{"token": "secret-{n}"}"#), ADMIN(204)),
        case(M::POST, "/apps/{slug}/credentials/deploy-key", "/apps/acme-app/credentials/deploy-key", None, ADMIN(201)),
        case(M::GET, "/apps/{slug}/deployments", "/apps/acme-app/deployments", None, VIEWER(200)),
        case(M::POST, "/apps/{slug}/deployments", "/apps/acme-app/deployments", None, MEMBER(202)),
        case(M::GET, "/apps/{slug}/logs", "/apps/acme-app/logs?before=1", None, VIEWER(200)),
        case(M::GET, "/builds", "/builds", None, ANY_USER(200)),

        case(M::GET, "/deployments/{id}", format!("/deployments/{dep}"), None, VIEWER(200)),
        fresh(M::POST, "/deployments/{id}/cancel", format!("/deployments/{cancelled}/cancel"), Fresh::Deployment, MEMBER(200)),
        // a cancelled deployment has no build to roll back to: allowed callers are told so (409)
        case(M::POST, "/deployments/{id}/rollback", format!("/deployments/{cancelled}/rollback"), None, MEMBER(409)),
        case(M::GET, "/deployments/{id}/logs", format!("/deployments/{dep}/logs?before=1"), None, VIEWER(200)),
        // authenticated by GitHub's signature alone: no session or token stands in for it
        case(M::POST, "/webhooks/github", "/webhooks/github", Some(r#"{"zen": "unsigned"}"#), [401; 8]),
        // Stripe's: its signature alone, and off while billing is
        case(M::POST, "/webhooks/stripe", "/webhooks/stripe", Some(r#"{"id": "evt_1"}"#), [404; 8]),
        case(M::POST, "/webhooks/gitlab/{slug}", "/webhooks/gitlab/acme-app", Some("{}"), [401; 8]),
        case(M::POST, "/webhooks/gitea/{slug}", "/webhooks/gitea/acme-app", Some("{}"), [401; 8]),
        case(M::GET, "/apps/{slug}/webhook-secret", "/apps/acme-app/webhook-secret", None, VIEWER(200)),
        case(M::POST, "/apps/{slug}/webhook-secret", "/apps/acme-app/webhook-secret", None, ADMIN(201)),
        case(M::GET, "/apps/{slug}/domains", "/apps/acme-app/domains", None, VIEWER(200)),
        case(M::GET, "/apps/{slug}/https", "/apps/acme-app/https", None, VIEWER(200)),
        case(M::PATCH, "/apps/{slug}/https", "/apps/acme-app/https", Some(r#"{"hsts": false}"#), ADMIN(200)),
        case(M::POST, "/apps/{slug}/domains", "/apps/acme-app/domains", Some(r#"{"domain": "d{n}.example.com"}"#), ADMIN(201)),
        // no such domain: app admins learn so; below them the app's rights refuse first
        case(M::GET, "/apps/{slug}/domains/{domain}", "/apps/acme-app/domains/none.example.com", None, VIEWER(404)),
        case(M::DELETE, "/apps/{slug}/domains/{domain}", "/apps/acme-app/domains/none.example.com", None, ADMIN(404)),
        case(M::PATCH, "/apps/{slug}/domains/{domain}", "/apps/acme-app/domains/none.example.com", Some(r#"{"redirect_to": null}"#), ADMIN(404)),
        case(M::POST, "/apps/{slug}/domains/{domain}/verify", "/apps/acme-app/domains/none.example.com/verify", None, ADMIN(404)),
    ]
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_the_policy_says() {
    let fx = fixture().await;
    let cases = cases(&fx).await;

    let declared: BTreeSet<(String, &str)> = rhone::http::api::ROUTES.iter().map(|(m, p)| (m.to_uppercase(), *p)).collect();
    let covered: BTreeSet<(String, &str)> = cases.iter().map(|c| (c.method.to_string(), c.route)).collect();
    let missing: Vec<_> = declared.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without an authorization expectation: {missing:?}");
    let unknown: Vec<_> = covered.difference(&declared).collect();
    assert!(unknown.is_empty(), "matrix rows for routes that do not exist: {unknown:?}");

    let mut wrong = Vec::new();
    for c in &cases {
        for (who, expected) in c.expect.iter().enumerate() {
            let path = match c.fresh {
                Fresh::ClubInvitation => fx.fresh_path(c.fresh, who).await,
                Fresh::No => c.path.clone(),
                f if (200..300).contains(expected) => fx.fresh_path(f, who).await,
                _ => c.path.clone(),
            };
            let mut req = fx.app.anon(c.method.clone(), &format!("/api/v1{path}"));
            if let Some(t) = &fx.tokens[who] {
                req = req.bearer_auth(t);
            }
            if let Some(body) = c.body {
                let body = body.replace("{n}", &fx.next().to_string()).replace("REPO", fx.repo.path().to_str().expect("utf-8"));
                req = req.header("content-type", "application/json").body(body);
            }
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            if status != *expected {
                let text = res.text().await.unwrap_or_default();
                wrong.push(format!("{} {path} as {}: {status}, expected {expected} ({text})", c.method, ACTORS[who]));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));

    // the outsider's app list holds nothing of acme's
    let res = fx.app.as_token(fx.tokens[2].as_deref().expect("token"), Method::GET, "/apps").send().await.expect("list");
    let (_, list) = split(res).await;
    assert!(!list.to_string().contains("acme-app"), "{list}");
    fx.app.stop().await;
}
