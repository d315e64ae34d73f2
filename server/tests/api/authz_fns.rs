//! The authorization matrix of the dashboard's server functions: each registered server function,
//! called with the session cookie of {anonymous, ended session, owner of another team, viewer,
//! member, admin, owner} of the team that owns the app, must answer as the policy says. A server
//! function missing from the matrix fails the test.

use std::collections::BTreeSet;

use leptos::server_fn::ServerFn;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::authz::{fixture, Fixture, TEAM};
use crate::helpers::{invitation_token, TestApp, PASSWORD};
use crate::web::{own, session_from, with_cookie};

const ACTORS: [&str; 7] = ["anonymous", "ended session", "owner of another team", "viewer", "member", "admin", "owner"];
const VIEWER: [u16; 7] = [401, 401, 404, 200, 200, 200, 200];
const MEMBER_READ: [u16; 7] = [401, 401, 404, 403, 200, 200, 200];
const MEMBER: [u16; 7] = [401, 401, 404, 403, 200, 200, 200];
const ADMIN: [u16; 7] = [401, 401, 404, 403, 403, 200, 200];
const ANY_USER: [u16; 7] = [401, 401, 200, 200, 200, 200, 200];
const ANYONE: [u16; 7] = [200; 7];
/// Owners only, told billing is not configured here (404).
const OWNER_BILLING_OFF: [u16; 7] = [401, 401, 404, 403, 403, 403, 404];
/// The installation's first account only.
const INSTANCE_ADMIN: [u16; 7] = [401, 401, 403, 403, 403, 403, 200];

/// A server function's arguments, in its input encoding; `{n}` becomes a unique number, `{slug}`,
/// `{dep}`, `{token}` the case's target.
enum Args {
    Form(&'static [(&'static str, &'static str)]),
    Json(&'static str),
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    App,
    /// A fresh app of the team for each actor expected to succeed (it gets deleted).
    FreshApp,
    /// A deployment in progress, fresh for each actor expected to succeed.
    FreshDeployment,
    /// A cancelled deployment (nothing to roll back to).
    Cancelled,
    /// A token of the caller's own, made for the call.
    OwnToken,
    /// A member of the team (`{user}`), fresh for each actor expected to succeed (who removes them).
    Member,
    /// A pending invitation of the team (`{inv}`), fresh for each actor expected to succeed.
    Invitation,
    /// A fresh invitation into another team (`{invtoken}`), for each caller.
    ClubInvitation,
}

struct Case {
    path: &'static str,
    args: Args,
    target: Target,
    expect: [u16; 7],
}

fn path<T: ServerFn>() -> &'static str {
    T::PATH
}

fn cases() -> Vec<Case> {
    use app::api::{admin, apps, billing, builds, credentials, deployments, domains, env, github, session, teams, tokens, two_factor};
    use Args::{Form, Json};
    use Target::*;
    let c = |path, args, target, expect| Case { path, args, target, expect };
    vec![
        c(path::<apps::ListApps>(), Form(&[("team", "")]), App, ANY_USER),
        c(path::<apps::ListApps>(), Form(&[("team", "acme")]), App, VIEWER),
        c(path::<apps::GetAppStatus>(), Form(&[("slug", "{slug}")]), App, VIEWER),
        c(path::<apps::GetApp>(), Form(&[("slug", "{slug}")]), App, VIEWER),
        // the dashboard creates apps in the caller's personal team
        c(path::<apps::CreateApp>(), Form(&[("team", ""), ("fields[name]", "made {n}"), ("fields[repo_url]", "REPO")]), App, ANY_USER),
        c(path::<apps::CreateApp>(), Form(&[("team", "acme"), ("fields[name]", "made {n}"), ("fields[repo_url]", "REPO")]), App, ADMIN),
        c(path::<apps::UpdateApp>(), Form(&[("slug", "{slug}"), ("fields[name]", "Acme app {n}"), ("fields[repo_url]", "REPO")]), App, ADMIN),
        c(path::<apps::DeleteApp>(), Form(&[("slug", "{slug}")]), FreshApp, ADMIN),
        // never deployed: nothing to restart or start (allowed callers are told so); a fresh app to stop
        c(path::<apps::RestartApp>(), Form(&[("slug", "{slug}")]), App, [401, 401, 404, 403, 409, 409, 409]),
        c(path::<apps::StopApp>(), Form(&[("slug", "{slug}")]), FreshApp, MEMBER),
        c(path::<apps::StartApp>(), Form(&[("slug", "{slug}")]), App, [401, 401, 404, 403, 409, 409, 409]),
        c(path::<builds::ListBuilds>(), Form(&[]), App, ANY_USER),
        c(path::<tokens::ListTokens>(), Form(&[]), App, ANY_USER),
        c(path::<tokens::CreateToken>(), Form(&[("name", "t{n}")]), App, ANY_USER),
        c(path::<tokens::RevokeToken>(), Form(&[("id", "{token}")]), OwnToken, ANY_USER),
        c(path::<credentials::GetCredential>(), Form(&[("slug", "{slug}")]), App, MEMBER_READ),
        c(path::<credentials::SetAccessToken>(), Json(r#"{"slug": "{slug}", "token": "secret-{n}", "username": ""}"#), App, ADMIN),
        c(path::<credentials::GenerateDeployKey>(), Form(&[("slug", "{slug}")]), App, ADMIN),
        c(path::<credentials::RemoveCredential>(), Form(&[("slug", "{slug}")]), App, ADMIN),
        c(path::<deployments::ListDeployments>(), Form(&[("slug", "{slug}")]), App, VIEWER),
        c(path::<deployments::Deploy>(), Form(&[("slug", "{slug}"), ("git_ref", "")]), App, MEMBER),
        c(path::<deployments::CancelDeployment>(), Form(&[("id", "{dep}")]), FreshDeployment, MEMBER),
        c(path::<deployments::Rollback>(), Form(&[("id", "{dep}")]), Cancelled, [401, 401, 404, 403, 409, 409, 409]),
        c(path::<env::GetEnv>(), Form(&[("slug", "{slug}"), ("reveal", "false")]), App, MEMBER_READ),
        c(path::<env::GetEnv>(), Form(&[("slug", "{slug}"), ("reveal", "true")]), App, ADMIN),
        c(path::<env::SaveEnv>(), Json(r#"{"slug": "{slug}", "vars": {"K": "{n}"}}"#), App, ADMIN),
        c(path::<session::CurrentUser>(), Form(&[]), App, ANYONE),
        c(path::<session::NeedsSetup>(), Form(&[]), App, ANYONE),
        c(path::<github::GithubSignInEnabled>(), Form(&[]), App, ANYONE),
        c(path::<github::GithubAccount>(), Form(&[]), App, ANY_USER),
        c(path::<session::OidcSignIn>(), Form(&[]), App, ANYONE),
        c(path::<domains::AppDomains>(), Form(&[("slug", "{slug}")]), App, VIEWER),
        c(path::<domains::AppHttps>(), Form(&[("slug", "{slug}")]), App, VIEWER),
        c(path::<domains::SetAppHttps>(), Form(&[("slug", "{slug}"), ("redirect", "on")]), App, ADMIN),
        c(path::<domains::AddDomain>(), Form(&[("slug", "{slug}"), ("domain", "fn{n}.example.com")]), App, ADMIN),
        // no such domain: app admins learn so, below them the app's rights refuse first
        c(path::<domains::CheckDomain>(), Form(&[("slug", "{slug}"), ("domain", "none.example.com")]), App, [401, 401, 404, 403, 403, 404, 404]),
        c(path::<domains::AppHostCertificate>(), Form(&[("slug", "{slug}")]), App, VIEWER),
        c(path::<domains::SetDomainRedirect>(), Form(&[("slug", "{slug}"), ("domain", "none.example.com"), ("redirect_to", "")]), App, [401, 401, 404, 403, 403, 404, 404]),
        c(path::<domains::RemoveDomain>(), Form(&[("slug", "{slug}"), ("domain", "none.example.com")]), App, [401, 401, 404, 403, 403, 404, 404]),
        c(path::<session::OidcAccount>(), Form(&[]), App, ANY_USER),
        c(path::<github::MakeWebhookSecret>(), Form(&[("slug", "{slug}")]), App, ADMIN),
        c(path::<session::GetSiteInfo>(), Form(&[]), App, ANY_USER),
        c(path::<teams::ListMyTeams>(), Form(&[]), App, ANY_USER),
        c(path::<teams::CreateTeam>(), Form(&[("name", "Team {n}")]), App, ANY_USER),
        c(path::<teams::GetTeam>(), Form(&[("team", "acme")]), App, VIEWER),
        c(path::<billing::GetBilling>(), Form(&[("team", "acme")]), App, VIEWER),
        c(path::<billing::ListInvoices>(), Form(&[("team", "acme")]), App, OWNER_BILLING_OFF),
        c(path::<billing::BillingCheckout>(), Form(&[("team", "acme"), ("plan", "starter")]), App, OWNER_BILLING_OFF),
        c(path::<billing::BillingPortal>(), Form(&[("team", "acme")]), App, OWNER_BILLING_OFF),
        c(path::<billing::SetSpendCap>(), Form(&[("team", "acme"), ("cap", "50")]), App, OWNER_BILLING_OFF),
        c(path::<teams::ListMembers>(), Form(&[("team", "acme")]), App, VIEWER),
        c(path::<teams::ChangeMemberRole>(), Form(&[("team", "acme"), ("user_id", "{user}"), ("role", "member")]), App, ADMIN),
        c(path::<teams::RemoveMember>(), Form(&[("team", "acme"), ("user_id", "{user}")]), Member, ADMIN),
        c(path::<teams::InviteMember>(), Form(&[("team", "acme"), ("email", "fn{n}@example.com"), ("role", "viewer")]), App, ADMIN),
        c(path::<teams::ListInvitations>(), Form(&[("team", "acme")]), App, ADMIN),
        c(path::<teams::RevokeInvitation>(), Form(&[("team", "acme"), ("id", "{inv}")]), Invitation, ADMIN),
        // the link's token is the secret: anyone holding it may see what it offers
        c(path::<teams::GetInvitation>(), Form(&[("token", "{invtoken}")]), ClubInvitation, ANYONE),
        c(path::<teams::AuditLog>(), Form(&[("team", "acme"), ("action", "")]), App, ADMIN),
        c(path::<github::GithubPicker>(), Form(&[("team", "acme")]), App, ADMIN),
        // no GitHub App here: no repository has branches to list
        c(path::<github::GithubBranches>(), Form(&[("team", "acme"), ("repo", "o/r")]), App, [401, 401, 404, 403, 403, 404, 404]),
        c(path::<admin::ListAccounts>(), Form(&[]), App, INSTANCE_ADMIN),
        c(path::<admin::SetAccountDisabled>(), Form(&[("id", "{user}"), ("disabled", "false")]), App, INSTANCE_ADMIN),
        c(path::<admin::ResetAccountSessions>(), Form(&[("id", "{user}")]), App, INSTANCE_ADMIN),
        c(path::<two_factor::TwoFactorStatus>(), Form(&[]), App, ANY_USER),
        c(path::<two_factor::BeginTwoFactor>(), Form(&[]), App, ANY_USER),
        // each caller's own account: a wrong code or password is the only refusal
        c(path::<two_factor::ConfirmTwoFactor>(), Form(&[("code", "000000")]), App, [401, 401, 422, 422, 422, 422, 422]),
        c(path::<two_factor::NewRecoveryCodes>(), Form(&[("code", "000000")]), App, [401, 401, 422, 422, 422, 422, 422]),
        c(path::<two_factor::DisableTwoFactor>(), Form(&[("password", "not-my-password")]), App, [401, 401, 422, 422, 422, 422, 422]),
        c(path::<two_factor::SetTeamTwoFactor>(), Form(&[("team", "acme"), ("required", "false")]), App, ADMIN),
        c(path::<session::ChangePassword>(), Form(&[("current", "not-my-password"), ("new", "another-long-password")]), App, [401, 401, 422, 422, 422, 422, 422]),
    ]
}

async fn login(app: &TestApp, email: &str) -> String {
    let res = own(app, Method::POST, "/auth/login").form(&[("email", email), ("password", PASSWORD)]).send().await.expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{email} logs in");
    session_from(&res).expect("session cookie")
}

/// What the server function answered: success (or a redirect) is 200; an `AppError` comes with the
/// status its REST counterpart has, and its body must say the same.
async fn outcome(res: reqwest::Response) -> (u16, String) {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if status.is_success() || status.is_redirection() {
        return (200, text);
    }
    let said = match serde_json::from_str::<Value>(&text) {
        Ok(Value::String(s)) if s == "Unauthorized" => 401,
        Ok(Value::Object(o)) if o.contains_key("Forbidden") => 403,
        Ok(Value::Object(o)) if o.contains_key("NotFound") => 404,
        Ok(Value::Object(o)) if o.contains_key("Conflict") => 409,
        Ok(Value::Object(o)) if o.contains_key("Invalid") => 422,
        Ok(Value::Object(o)) if o.contains_key("RateLimited") => 429,
        _ => 500,
    };
    assert_eq!(status.as_u16(), said, "the HTTP status matches the error: {text}");
    (status.as_u16(), text)
}

/// What `{slug}`, `{dep}`, `{token}`, `{user}`, `{inv}` and `{invtoken}` stand for in a call.
#[derive(Default)]
struct Subst {
    slug: String,
    dep: String,
    token: String,
    user: String,
    inv: String,
    invtoken: String,
}

struct Stable {
    cancelled: i64,
    pawn: i64,
    inv: i64,
}

async fn target(fx: &Fixture, t: Target, cookie: Option<&str>, succeeds: bool, stable: &Stable) -> Subst {
    let n = fx.next();
    let mut s = Subst { slug: "acme-app".into(), dep: stable.cancelled.to_string(), token: "1".into(), user: stable.pawn.to_string(), inv: stable.inv.to_string(), ..Subst::default() };
    match t {
        Target::FreshApp if succeeds => {
            let body = json!({"name": format!("fn-gone-{n}"), "repo_url": fx.repo.path().to_str(), "team": TEAM});
            s.slug = fx.owner(Method::POST, "/apps", body).await["slug"].as_str().expect("slug").to_string();
        }
        Target::FreshDeployment if succeeds => {
            s.dep = fx.owner(Method::POST, "/apps/acme-app/deployments", json!({})).await["id"].to_string();
        }
        Target::OwnToken if succeeds => {
            let path = <app::api::tokens::CreateToken as ServerFn>::PATH;
            let res = with_cookie(&fx.app, Method::POST, path, cookie.expect("signed in"), Some(&fx.app.base)).form(&[("name", format!("spare {n}"))]).send().await.expect("create token");
            let made: Value = res.json().await.expect("json");
            s.token = made["token"]["id"].to_string();
        }
        Target::Member if succeeds => {
            s.user = fx.app.join_as(TEAM, &format!("fnpawn{n}@example.com"), "member").await.0.to_string();
        }
        Target::Invitation if succeeds => {
            let inv = fx.owner(Method::POST, &format!("/teams/{TEAM}/invitations"), json!({"email": format!("fninv{n}@example.com"), "role": "viewer"})).await;
            s.inv = inv["id"].to_string();
        }
        Target::ClubInvitation => {
            let inv = fx.owner(Method::POST, "/teams/club/invitations", json!({"email": format!("fnclub{n}@example.com"), "role": "viewer"})).await;
            s.invtoken = invitation_token(&inv);
        }
        _ => {}
    }
    s
}

#[tokio::test]
async fn every_server_function_answers_each_kind_of_caller_as_the_policy_says() {
    let fx = fixture().await;
    let cases = cases();
    let registered: BTreeSet<&str> = leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p).collect();
    let covered: BTreeSet<&str> = cases.iter().map(|c| c.path).collect();
    let missing: Vec<_> = registered.difference(&covered).collect();
    assert!(missing.is_empty(), "server functions without an authorization expectation: {missing:?}");
    assert!(covered.is_subset(&registered), "{covered:?} vs {registered:?}");

    let ended = login(&fx.app, "member@example.com").await;
    let res = with_cookie(&fx.app, Method::POST, "/auth/logout", &ended, Some(&fx.app.base)).send().await.expect("logout");
    assert!(res.status().is_redirection() || res.status().is_success(), "{}", res.status());
    let mut cookies = vec![None, Some(ended)];
    for email in ["outsider@example.com", "viewer@example.com", "member@example.com", "admin@example.com", "owner@example.com"] {
        cookies.push(Some(login(&fx.app, email).await));
    }
    let cancelled = fx.owner(Method::POST, "/apps/acme-app/deployments", json!({})).await["id"].as_i64().expect("id");
    fx.owner(Method::POST, &format!("/deployments/{cancelled}/cancel"), json!({})).await;
    let pawn = fx.app.join_as(TEAM, "fnpawn@example.com", "member").await.0;
    let inv = fx.owner(Method::POST, &format!("/teams/{TEAM}/invitations"), json!({"email": "fnstays@example.com", "role": "viewer"})).await["id"].as_i64().expect("id");
    let stable = Stable { cancelled, pawn, inv };

    let mut wrong = Vec::new();
    for c in &cases {
        for (who, expected) in c.expect.iter().enumerate() {
            let cookie = cookies[who].as_deref();
            let sub = target(&fx, c.target, cookie, *expected == 200, &stable).await;
            let n = fx.next().to_string();
            let fill = |v: &str| {
                v.replace("{slug}", &sub.slug)
                    .replace("{dep}", &sub.dep)
                    .replace("{token}", &sub.token)
                    .replace("{user}", &sub.user)
                    .replace("{invtoken}", &sub.invtoken)
                    .replace("{inv}", &sub.inv)
                    .replace("{n}", &n)
                    .replace("REPO", fx.repo.path().to_str().expect("utf-8"))
            };
            let mut req = fx.app.anon(Method::POST, c.path).header("Origin", &fx.app.base);
            if let Some(cookie) = cookie {
                req = req.header("Cookie", cookie);
            }
            req = match &c.args {
                Args::Form(pairs) => req.form(&pairs.iter().map(|(k, v)| (*k, fill(v))).collect::<Vec<_>>()),
                Args::Json(body) => req.header("content-type", "application/json").body(fill(body)),
            };
            let (got, text) = outcome(req.send().await.expect("request")).await;
            if got != *expected {
                wrong.push(format!("{} as {}: {got}, expected {expected} ({text})", c.path, ACTORS[who]));
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers:\n{}", wrong.len(), wrong.join("\n"));
    fx.app.stop().await;
}
