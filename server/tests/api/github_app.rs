//! The GitHub App end to end against a local GitHub (`github_stub.rs`): installation webhooks keep
//! the installation's repositories; the install link and callback connect an installation to a team
//! only when GitHub confirms, with the installing user's OAuth code, that the user can access it; a
//! connected team's apps clone their private repository with installation tokens, which never show;
//! another team, a removed repository or a deleted installation gets nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::github_stub::{deliver, fixture, GitHubStub, StubInstallation, APP_SLUG, WEBHOOK_SECRET as SECRET};
use crate::helpers::{files, python_app, spawn_app_with, Repo, TestApp};
use crate::web::location;

/// GitHub's `installation.created` example, for installation `id` of `login` on `repos`.
fn installation_created(id: i64, login: &str, repos: &[(i64, &str)]) -> Value {
    let mut ev = fixture("installation.created.json");
    ev["installation"]["id"] = json!(id);
    ev["installation"]["account"]["login"] = json!(login);
    ev["repositories"] = repos.iter().map(|(rid, name)| json!({"id": rid, "name": name.split('/').nth(1), "full_name": name, "private": true})).collect();
    ev
}

/// The install link of `team` for the caller `token`: GitHub's page, with the state to come back with.
async fn install_state(app: &TestApp, gh: &GitHubStub, token: &str, team: &str) -> String {
    let res = app.as_token(token, Method::GET, &format!("/teams/{team}/github/install")).send().await.expect("install link");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let prefix = format!("{}/apps/{APP_SLUG}/installations/new?state=", gh.url);
    assert!(to.starts_with(&prefix), "{to}");
    to[prefix.len()..].to_string()
}

/// GitHub sends the browser back; returns where Rhone sends it next.
async fn come_back(app: &TestApp, token: &str, installation: i64, code: &str, state: &str) -> String {
    let path = format!("/github/callback?installation_id={installation}&setup_action=install&code={code}&state={state}");
    let res = app.as_token(token, Method::GET, &path).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    location(&res)
}

#[tokio::test]
async fn a_connected_installation_lets_its_team_deploy_a_private_repository_and_nobody_else() {
    let gh = GitHubStub::start().await;
    let source = Repo::new(&files(&python_app("private v1")));
    gh.install(StubInstallation { id: 77, login: "octo-org".into(), repos: vec![(501, "octo-org/private".into())] }, &source.path());
    gh.install(StubInstallation { id: 88, login: "someone-else".into(), repos: vec![(601, "someone-else/theirs".into())] }, &source.path());
    let env = gh.env();
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.push(("RHONE_GITHUB_WEBHOOK_SECRET", SECRET));
    let app = spawn_app_with(&extra).await;
    let owner = app.token.clone();
    let team = app.get("/teams").await.1[0]["slug"].as_str().expect("personal team").to_string();

    // GitHub announces the installation (signed; an unsigned copy changes nothing)
    let created = installation_created(77, "octo-org", &[(501, "octo-org/private")]);
    let unsigned = app.anon(Method::POST, "/api/v1/webhooks/github").header("X-GitHub-Event", "installation").header("X-GitHub-Delivery", "i-0").body(created.to_string()).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let (status, reply) = deliver(&app, "installation", "i-1", &created).await;
    assert_eq!((status, reply["result"].as_str(), reply["repositories"].as_u64()), (StatusCode::OK, Some("installation"), Some(1)), "{reply}");
    // not connected to any team yet: nothing to pick, nothing to clone with
    assert_eq!(app.get(&format!("/teams/{team}/github/repositories")).await.1, json!([]));

    // the install link, and GitHub coming back — attacks first
    gh.code_for("code-owner", &[77]);
    gh.code_for("code-owner-2", &[77]);
    gh.code_for("code-wrong-user", &[88]);
    let state = install_state(&app, &gh, &owner, &team).await;
    let to = come_back(&app, &owner, 77, "not-a-code", &state).await;
    assert!(to.starts_with("/apps/new?github_error=") && to.contains("refused"), "a code GitHub never gave: {to}");
    let to = come_back(&app, &owner, 77, "code-owner", &state).await;
    assert!(to.contains("expired"), "a state works once: {to}");
    let state = install_state(&app, &gh, &owner, &team).await;
    let to = come_back(&app, &owner, 77, "code-wrong-user", &state).await;
    assert!(to.contains("does+not+list"), "an installation id typed into the URL proves nothing: {to}");
    // another signed-in user replaying the owner's link
    let (status, other) = app.json(Method::POST, "/teams", json!({"name": "Other team"})).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other = other["slug"].as_str().unwrap().to_string();
    let (_, stranger) = app.join_as(&other, "stranger@example.com", "viewer").await;
    let state = install_state(&app, &gh, &owner, &team).await;
    let to = come_back(&app, &stranger, 77, "code-owner", &state).await;
    assert!(to.contains("another+user"), "{to}");
    let res = app.as_token(&stranger, Method::GET, &format!("/teams/{other}/github/install")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "only team admins connect GitHub");
    // the owner, as GitHub confirms
    let state = install_state(&app, &gh, &owner, &team).await;
    let to = come_back(&app, &owner, 77, "code-owner-2", &state).await;
    assert_eq!(to, format!("/t/{team}/apps/new?github=connected"));
    let (_, repos) = app.get(&format!("/teams/{team}/github/repositories")).await;
    assert_eq!(repos, json!([{"installation_id": 77, "repo_id": 501, "full_name": "octo-org/private", "private": true}]));
    let (status, branches) = app.get(&format!("/teams/{team}/github/branches?repo=octo-org/private")).await;
    assert_eq!((status, branches), (StatusCode::OK, json!(["main"])));
    let (status, _) = app.get(&format!("/teams/{team}/github/branches?repo=someone-else/theirs")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a repository of this team");

    // deploy the private repository: cloned with an installation token that never shows
    let url = format!("{}/octo-org/private.git", gh.url);
    // the repository is checked at creation with the installation's token (a wrong branch is named)
    let (status, body) = app.json(Method::POST, "/apps", json!({"name": "p2", "repo_url": url, "branch": "nope", "check_repo": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().starts_with("branch: is not in the repository"), "read with the token, the branch is what is missing: {body}");
    app.create_app("private", std::path::Path::new("/nonexistent"), json!({"repo_url": url, "branch": "main", "check_repo": true})).await;
    let dep = app.deploy_and_wait("private").await;
    assert_eq!(dep["status"], "live", "{dep}");
    assert_eq!(dep["commit_sha"], json!(source.head()));
    assert_eq!(app.via_proxy("private", "/").await.1, "private v1");
    let fetches = gh.git_fetches();
    assert!(!fetches.is_empty() && fetches.iter().all(|(repo, inst)| repo == "octo-org/private" && *inst == 77), "{fetches:?}");
    let (_, log) = app.get(&format!("/deployments/{}/logs?before=999999999&limit=2000", dep["id"])).await;
    assert!(!log.to_string().contains("ghs_"), "no token in the build log");
    let (_, shown) = app.get("/apps/private").await;
    assert!(!shown.to_string().contains("ghs_") && !shown.to_string().contains("x-access-token"), "{shown}");

    // another team with the same URL has no installation: git is refused
    app.create_app("intruder", std::path::Path::new("/nonexistent"), json!({"repo_url": url, "branch": "main", "team": other})).await;
    let dep = app.deploy_and_wait("intruder").await;
    assert_eq!(dep["status"], "failed", "{dep}");
    assert!(dep["error"].as_str().unwrap_or_default().contains("could not fetch"), "git was refused: {dep}");
    assert_eq!(app.get(&format!("/teams/{other}/github/repositories")).await.1, json!([]));
    // the installation cannot be taken over by the other team
    let state = install_state(&app, &gh, &owner, &other).await;
    gh.code_for("code-owner-3", &[77]);
    let to = come_back(&app, &owner, 77, "code-owner-3", &state).await;
    assert!(to.contains("another+team"), "{to}");

    // the repository taken out of the installation: no token for it any more
    let mut removed = fixture("installation_repositories.removed.json");
    removed["installation"]["id"] = json!(77);
    removed["installation"]["account"]["login"] = json!("octo-org");
    removed["repositories_removed"] = json!([{"id": 501, "full_name": "octo-org/private", "private": true}]);
    let (status, reply) = deliver(&app, "installation_repositories", "i-2", &removed).await;
    assert_eq!((status, reply["repositories"].as_u64()), (StatusCode::OK, Some(0)), "{reply}");
    assert_eq!(deliver(&app, "installation_repositories", "i-2", &removed).await.1["result"], "duplicate");
    let fetches = gh.git_fetches().len();
    let dep = app.deploy_and_wait("private").await;
    assert_eq!(dep["status"], "failed", "{dep}");
    assert!(dep["error"].as_str().unwrap_or_default().contains("could not fetch"), "{dep}");
    assert_eq!(gh.git_fetches().len(), fetches, "no token was offered");
    assert_eq!(app.via_proxy("private", "/").await.1, "private v1", "the live version stays");

    // the App uninstalled
    let mut deleted = fixture("installation.deleted.json");
    deleted["installation"]["id"] = json!(77);
    let (status, _) = deliver(&app, "installation", "i-3", &deleted).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&format!("/teams/{team}/github/repositories")).await.1, json!([]));
    app.stop().await;
}
