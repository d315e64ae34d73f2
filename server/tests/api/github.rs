//! GitHub push webhooks: signatures checked before anything is read, each delivery handled once,
//! a push to an app's branch deploys exactly the pushed commit, everything else deploys nothing and
//! says why. Replays GitHub's own example payloads (`tests/fixtures/github/`) signed as GitHub signs.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::github_stub::{GitHubStub, WEBHOOK_SECRET as SECRET};
use crate::helpers::{files, python_app, spawn_app_with, Repo, TestApp};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn rhone() -> TestApp {
    spawn_app_with(&[("RHONE_GITHUB_WEBHOOK_SECRET", SECRET)]).await
}

/// Posts a delivery; `signature: None` leaves the header out.
async fn deliver(app: &TestApp, event: &str, delivery: &str, body: &[u8], signature: Option<String>) -> (StatusCode, Value) {
    let mut req = app
        .anon(Method::POST, "/api/v1/webhooks/github")
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery)
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    let res = req.send().await.expect("webhook request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn signed(app: &TestApp, event: &str, delivery: &str, body: &[u8]) -> (StatusCode, Value) {
    deliver(app, event, delivery, body, Some(domain::github::sign(SECRET.as_bytes(), body))).await
}

async fn deployments(app: &TestApp, slug: &str) -> Vec<Value> {
    let (status, list) = app.get(&format!("/apps/{slug}/deployments")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn unsigned_forged_and_malformed_deliveries_are_refused_and_change_nothing() {
    let app = rhone().await;
    app.create_app("hello", std::path::Path::new("/nonexistent"), json!({"repo_url": "https://github.com/Codertocat/Hello-World.git", "branch": "master"})).await;
    let body = fixture("push.with-new-branch.json");
    assert_eq!(deliver(&app, "push", "d-1", &body, None).await.0, StatusCode::UNAUTHORIZED);
    let forged = domain::github::sign(b"not the secret", &body);
    assert_eq!(deliver(&app, "push", "d-1", &body, Some(forged)).await.0, StatusCode::UNAUTHORIZED);
    // a valid signature of other bytes
    let other = domain::github::sign(SECRET.as_bytes(), b"{}");
    assert_eq!(deliver(&app, "push", "d-1", &body, Some(other)).await.0, StatusCode::UNAUTHORIZED);
    assert!(deployments(&app, "hello").await.is_empty(), "nothing was deployed");

    // signed, but not a push payload: 400, and the delivery can still come again with a good body
    assert_eq!(signed(&app, "push", "d-2", b"{not json").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(signed(&app, "push", "d-3", br#"{"ref": "refs/heads/master"}"#).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(signed(&app, "push", "../../etc", &body).await.0, StatusCode::BAD_REQUEST, "a delivery id is an id");
    // too large for any delivery Rhone accepts
    let huge = vec![b' '; 3 * 1024 * 1024];
    assert_eq!(signed(&app, "push", "d-4", &huge).await.0, StatusCode::PAYLOAD_TOO_LARGE);

    let (status, pong) = signed(&app, "ping", "d-5", &fixture("ping.json")).await;
    assert_eq!((status, pong["result"].as_str()), (StatusCode::OK, Some("pong")));
    let (status, ignored) = signed(&app, "issues", "d-6", b"{}").await;
    assert_eq!((status, ignored["result"].as_str()), (StatusCode::ACCEPTED, Some("ignored")), "{ignored}");
    assert!(deployments(&app, "hello").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn githubs_example_pushes_deploy_the_pushed_commit_once_and_tag_deletions_nothing() {
    let app = rhone().await;
    app.create_app("hello", std::path::Path::new("/nonexistent"), json!({"repo_url": "git@github.com:Codertocat/Hello-World.git"})).await;
    app.create_app("other", std::path::Path::new("/nonexistent"), json!({"repo_url": "https://github.com/Codertocat/Another.git"})).await;

    // tag deletions (GitHub's own examples, a user's and an organization's repository)
    for (i, name) in ["push.json", "push.with-organization.json"].into_iter().enumerate() {
        let (status, reply) = signed(&app, "push", &format!("72d3162e-cc78-11e3-81ab-4c9367dc095{i}"), &fixture(name)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(reply["reason"].as_str().unwrap_or_default().contains("not a branch push"), "{name}: {reply}");
    }
    assert!(deployments(&app, "hello").await.is_empty());

    // a push to master (the repository's default branch; the app names none): exactly its `after`
    let body = fixture("push.with-new-branch.json");
    let (status, reply) = signed(&app, "push", "push-1", &body).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["apps"].as_array().map(Vec::len), Some(1), "only the app of that repository: {reply}");
    let deps = deployments(&app, "hello").await;
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["git_ref"], "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    assert!(deployments(&app, "other").await.is_empty());

    // GitHub redelivers it: nothing new
    let (status, again) = signed(&app, "push", "push-1", &body).await;
    assert_eq!((status, again["result"].as_str()), (StatusCode::OK, Some("duplicate")));
    assert_eq!(deployments(&app, "hello").await.len(), 1);

    // the same repository name with another id (deleted and re-created): refused
    let mut impostor: Value = serde_json::from_slice(&body).unwrap();
    impostor["repository"]["id"] = json!(999);
    let (_, reply) = signed(&app, "push", "push-2", impostor.to_string().as_bytes()).await;
    assert!(reply["apps"][0]["skipped"].as_str().unwrap_or_default().contains("repository id 186853002"), "{reply}");
    // another branch
    let mut feature: Value = serde_json::from_slice(&body).unwrap();
    feature["ref"] = json!("refs/heads/feature");
    let (_, reply) = signed(&app, "push", "push-3", feature.to_string().as_bytes()).await;
    assert!(reply["apps"][0]["skipped"].as_str().unwrap_or_default().contains("a push to feature; the app deploys master"), "{reply}");
    assert_eq!(deployments(&app, "hello").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_burst_of_pushes_ends_with_the_newest_commit_live() {
    let app = rhone().await;
    let repo = Repo::new(&files(&python_app("v1")));
    let mut shas = Vec::new();
    for v in ["v2", "v3", "v4"] {
        repo.commit(&files(&python_app(v)), v);
        shas.push(repo.head());
    }
    let path = repo.path().to_string_lossy().into_owned();
    app.create_app("bursty", &repo.path(), json!({"branch": "main"})).await;
    // GitHub's example push, aimed at this repository and these commits
    let template: Value = serde_json::from_slice(&fixture("push.with-new-branch.json")).unwrap();
    for (i, sha) in shas.iter().enumerate() {
        let mut push = template.clone();
        push["ref"] = json!("refs/heads/main");
        push["after"] = json!(sha);
        push["repository"]["clone_url"] = json!(path);
        let (status, reply) = signed(&app, "push", &format!("burst-{i}"), push.to_string().as_bytes()).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert!(reply["apps"][0]["deployment_id"].is_i64(), "{reply}");
    }
    let deps = deployments(&app, "bursty").await;
    let newest = deps.iter().find(|d| d["git_ref"] == json!(shas[2])).expect("the newest push's deployment").clone();
    let done = app.wait_final(newest["id"].as_i64().unwrap()).await;
    assert_eq!(done["status"], "live", "{done}");
    assert_eq!(done["commit_sha"], json!(shas[2]), "exactly the pushed commit");
    assert_eq!(app.via_proxy("bursty", "/").await, (StatusCode::OK, "v4".to_string()));
    for d in deployments(&app, "bursty").await {
        if d["id"] != newest["id"] {
            assert!(matches!(d["status"].as_str(), Some("superseded" | "cancelled")), "older pushes are superseded: {d}");
        }
    }
    // a push of an older commit deploys exactly that commit, not the branch head
    let mut push = template.clone();
    push["ref"] = json!("refs/heads/main");
    push["after"] = json!(shas[0]);
    push["repository"]["clone_url"] = json!(path);
    let (_, reply) = signed(&app, "push", "older", push.to_string().as_bytes()).await;
    let d = app.wait_final(reply["apps"][0]["deployment_id"].as_i64().unwrap()).await;
    assert_eq!((d["status"].as_str(), d["commit_sha"].as_str()), (Some("live"), Some(shas[0].as_str())), "{d}");
    assert_eq!(app.via_proxy("bursty", "/").await.1, "v2");
    app.stop().await;
}

#[tokio::test]
async fn an_app_in_a_subdirectory_deploys_only_pushes_that_touch_it() {
    let app = rhone().await;
    app.create_app("web", std::path::Path::new("/nonexistent"), json!({"repo_url": "https://github.com/Codertocat/Hello-World", "root_dir": "apps/web"})).await;
    let mut push: Value = serde_json::from_slice(&fixture("push.with-new-branch.json")).unwrap();
    let commit = |paths: &[&str]| json!({"id": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "added": [], "removed": [], "modified": paths});
    push["commits"] = json!([commit(&["README.md", "apps/api/main.go"])]);
    let (_, reply) = signed(&app, "push", "watch-1", push.to_string().as_bytes()).await;
    assert!(reply["apps"][0]["skipped"].as_str().unwrap_or_default().contains("no file under the app's root directory apps/web changed"), "{reply}");
    assert!(deployments(&app, "web").await.is_empty());
    push["commits"] = json!([commit(&["README.md"]), commit(&["apps/web/index.html"])]);
    // a committer without a GitHub username (a commit made elsewhere) is a push like any other
    for who in ["author", "committer"] {
        push["head_commit"][who].as_object_mut().unwrap().remove("username");
    }
    let (_, reply) = signed(&app, "push", "watch-2", push.to_string().as_bytes()).await;
    assert!(reply["apps"][0]["deployment_id"].is_i64(), "{reply}");

    // the watch turned off: a push elsewhere in the repository deploys too
    let (status, body) = app.json(Method::PATCH, "/apps/web", json!({"watch_root_dir": false})).await;
    assert_eq!((status, body["watch_root_dir"].as_bool(), body["auto_deploy"].as_bool()), (StatusCode::OK, Some(false), Some(true)), "{body}");
    push["commits"] = json!([commit(&["README.md"])]);
    let (_, reply) = signed(&app, "push", "watch-3", push.to_string().as_bytes()).await;
    assert!(reply["apps"][0]["deployment_id"].is_i64(), "{reply}");
    // auto-deploy off: a push deploys nothing and says so
    let (status, body) = app.json(Method::PATCH, "/apps/web", json!({"auto_deploy": false})).await;
    assert_eq!((status, body["auto_deploy"].as_bool()), (StatusCode::OK, Some(false)), "{body}");
    let before = deployments(&app, "web").await.len();
    let (_, reply) = signed(&app, "push", "watch-4", push.to_string().as_bytes()).await;
    assert_eq!(reply["apps"][0]["skipped"].as_str(), Some("auto-deploy is off for this app"), "{reply}");
    assert_eq!(deployments(&app, "web").await.len(), before);
    let (status, body) = app.json(Method::PATCH, "/apps/web", json!({"auto_deploy": "yes"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a setting is a boolean: {body}");
    app.stop().await;
}

/// GitHub's example push of an organization's repository (its tag deletion, made a branch push),
/// from the GitHub App's installation 77, of `sha` to main of the local `repo` (named
/// `octo-org/statused` on GitHub).
fn app_push(repo: &Repo, sha: &str) -> Vec<u8> {
    let mut push: Value = serde_json::from_slice(&fixture("push.with-organization.json")).unwrap();
    assert!(push["organization"].is_object(), "the organization's example");
    push["ref"] = json!("refs/heads/main");
    push["after"] = json!(sha);
    push["deleted"] = json!(false);
    push["repository"]["clone_url"] = json!(repo.path().to_string_lossy());
    push["repository"]["full_name"] = json!("octo-org/statused");
    push["installation"] = json!({"id": 77, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc="});
    push.to_string().into_bytes()
}

#[tokio::test]
async fn deployments_of_a_github_app_repository_report_their_state_on_the_commit() {
    let gh = GitHubStub::start().await;
    // GitHub is down for the first two posts: they are retried with backoff
    gh.fail_statuses(2);
    let env = gh.env();
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.push(("RHONE_GITHUB_WEBHOOK_SECRET", SECRET));
    let app = spawn_app_with(&extra).await;
    let repo = Repo::new(&files(&python_app("v1")));
    app.create_app("statused", &repo.path(), json!({"branch": "main"})).await;
    let sha = repo.head();

    let (status, reply) = signed(&app, "push", "status-1", &app_push(&repo, &sha)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let id = reply["apps"][0]["deployment_id"].as_i64().expect("a deployment");
    assert_eq!(app.wait_final(id).await["status"], "live", "GitHub being down never holds a deploy back");
    let posted = gh.wait_statuses("the success status", |s| s.last().is_some_and(|p| p.body["state"] == "success")).await;
    for p in &posted {
        assert_eq!((p.repo.as_str(), p.sha.as_str(), p.body["context"].as_str()), ("octo-org/statused", sha.as_str(), Some("rhone/statused")), "{p:?}");
    }
    assert_eq!(posted[0].body["state"], "pending", "pending first: {posted:#?}");
    assert!(posted[0].body["target_url"].as_str().unwrap_or_default().contains(&format!("/apps/statused/deployments?deployment={id}")), "{posted:#?}");
    let success = posted.last().unwrap();
    assert_eq!(success.body["target_url"], json!(format!("http://statused.localhost:{}", app.proxy_port)), "the live app's URL");
    {
        let rec = gh.recorded.lock().unwrap();
        assert!(rec.refused.is_empty(), "every JWT and token was good: {:?}", rec.refused);
        assert_eq!(rec.minted.len(), 1, "one installation token, cached for every post: {:?}", rec.minted.iter().map(|m| m.0).collect::<Vec<_>>());
        assert_eq!(rec.minted[0].0, 77, "the installation the push came through");
    }
    let dep = app.get(&format!("/deployments/{id}")).await.1;
    assert_eq!(dep["github_status"], json!({"state": "success", "error": null}), "{dep}");

    // a failing deploy: failure, with a link to its log
    repo.commit(&[("requirements.txt", ""), ("app.py", "raise SystemExit(3)\n")], "broken");
    let broken = repo.head();
    let (_, reply) = signed(&app, "push", "status-2", &app_push(&repo, &broken)).await;
    let failed_id = reply["apps"][0]["deployment_id"].as_i64().expect("a deployment");
    assert_eq!(app.wait_final(failed_id).await["status"], "failed");
    let posted = gh.wait_statuses("the failure status", |s| s.iter().any(|p| p.sha == broken && p.body["state"] == "failure")).await;
    let failure = posted.iter().rev().find(|p| p.sha == broken).unwrap();
    assert_eq!(failure.body["state"], "failure", "the last word on the broken commit: {posted:#?}");
    assert!(failure.body["target_url"].as_str().unwrap_or_default().contains(&format!("deployment={failed_id}")), "{failure:?}");
    assert!(failure.body["description"].as_str().unwrap_or_default().starts_with("Deploy failed"), "{failure:?}");
    assert_eq!(app.via_proxy("statused", "/").await.1, "v1", "the failed deploy changed nothing live");

    // GitHub refusing every post: the deploy goes live all the same, and the deployment says why
    gh.fail_statuses(u32::MAX);
    repo.commit(&files(&python_app("v3")), "v3");
    let v3 = repo.head();
    let (_, reply) = signed(&app, "push", "status-3", &app_push(&repo, &v3)).await;
    let v3_id = reply["apps"][0]["deployment_id"].as_i64().expect("a deployment");
    assert_eq!(app.wait_final(v3_id).await["status"], "live");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let dep = loop {
        let dep = app.get(&format!("/deployments/{v3_id}")).await.1;
        if dep["github_status"]["error"].is_string() || std::time::Instant::now() > deadline {
            break dep;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let error = dep["github_status"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("GitHub answered 502"), "{dep}");
    assert!(!error.contains("ghs_"), "no token in what users see: {error}");
    app.stop().await;
}
