//! Preview deployments per pull request, from GitHub's own `pull_request` examples aimed at a local
//! repository: opened → `pr-{n}-{slug}` live with the head commit and the app's variables plus
//! `RHONE_PREVIEW=1`; pushed to → the new head; from a fork → none of the app's variables; closed →
//! gone (route, versions, records); previews off or another base branch → nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::github_stub::{deliver, fixture, WEBHOOK_SECRET as SECRET};
use crate::helpers::{files, python_app, spawn_app_with, Repo, TestApp};

/// GitHub's `pull_request` example (`action`) for pull request `number` of the local `repo`, its head
/// at `sha` — from a fork when `fork`.
fn event(action: &str, number: i64, repo: &Repo, sha: &str, fork: bool) -> Value {
    let mut ev = fixture(&format!("pull_request.{action}.json"));
    ev["number"] = json!(number);
    ev["pull_request"]["number"] = json!(number);
    ev["pull_request"]["head"]["sha"] = json!(sha);
    ev["pull_request"]["base"]["ref"] = json!("main");
    ev["repository"]["clone_url"] = json!(repo.path().to_string_lossy());
    if fork {
        ev["pull_request"]["head"]["repo"]["id"] = json!(424242);
    }
    ev
}

async fn env_keys(app: &TestApp, slug: &str) -> Vec<String> {
    let (status, env) = app.get(&format!("/apps/{slug}/env")).await;
    assert_eq!(status, StatusCode::OK, "{env}");
    env.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn a_pull_request_gets_a_preview_that_follows_its_head_and_goes_when_it_closes() {
    let app = spawn_app_with(&[("RHONE_GITHUB_WEBHOOK_SECRET", SECRET)]).await;
    let repo = Repo::new(&files(&python_app("main v1")));
    app.create_app("web", &repo.path(), json!({"branch": "main"})).await;
    let (status, _) = app.json(Method::PUT, "/apps/web/env", json!({"API_SECRET": "s3cret"})).await;
    assert!(status.is_success());
    assert_eq!(app.deploy_and_wait("web").await["status"], "live");

    // previews are opt-in
    repo.commit(&files(&python_app("preview v1")), "preview v1");
    let v1 = repo.head();
    let (status, reply) = deliver(&app, "pull_request", "pr-0", &event("opened", 7, &repo, &v1, false)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["apps"][0]["skipped"], "previews are off for this app", "{reply}");
    let (status, body) = app.json(Method::PATCH, "/apps/web", json!({"previews": true})).await;
    assert_eq!((status, body["previews"].as_bool()), (StatusCode::OK, Some(true)), "{body}");

    let (status, reply) = deliver(&app, "pull_request", "pr-1", &event("opened", 7, &repo, &v1, false)).await;
    assert_eq!((status, reply["apps"][0]["app"].as_str()), (StatusCode::OK, Some("pr-7-web")), "{reply}");
    let d = app.wait_final(reply["apps"][0]["deployment_id"].as_i64().expect("a deployment")).await;
    assert_eq!((d["status"].as_str(), d["commit_sha"].as_str()), (Some("live"), Some(v1.as_str())), "{d}");
    assert_eq!(app.via_proxy("pr-7-web", "/").await, (StatusCode::OK, "preview v1".to_string()));
    assert_eq!(app.via_proxy("web", "/").await.1, "main v1", "the app itself is untouched");
    let keys = env_keys(&app, "pr-7-web").await;
    assert!(keys.contains(&"API_SECRET".to_string()) && keys.contains(&"RHONE_PREVIEW".to_string()), "{keys:?}");
    let (_, preview) = app.get("/apps/pr-7-web").await;
    assert_eq!((preview["preview_of"].as_i64().is_some(), preview["pr_number"].as_i64()), (true, Some(7)), "{preview}");
    // GitHub redelivers: nothing new
    assert_eq!(deliver(&app, "pull_request", "pr-1", &event("opened", 7, &repo, &v1, false)).await.1["result"], "duplicate");

    // a push to the pull request: its new head
    repo.commit(&files(&python_app("preview v2")), "preview v2");
    let v2 = repo.head();
    let (_, reply) = deliver(&app, "pull_request", "pr-2", &event("synchronize", 7, &repo, &v2, false)).await;
    let d = app.wait_final(reply["apps"][0]["deployment_id"].as_i64().expect("a deployment")).await;
    assert_eq!(d["status"], "live", "{d}");
    assert_eq!(app.via_proxy("pr-7-web", "/").await.1, "preview v2");

    // a fork's pull request: none of the app's variables
    let (_, reply) = deliver(&app, "pull_request", "pr-3", &event("opened", 8, &repo, &v1, true)).await;
    let d = app.wait_final(reply["apps"][0]["deployment_id"].as_i64().expect("a deployment")).await;
    assert_eq!(d["status"], "live", "{d}");
    let keys = env_keys(&app, "pr-8-web").await;
    assert!(!keys.contains(&"API_SECRET".to_string()) && keys.contains(&"RHONE_PREVIEW".to_string()), "a fork gets no secrets: {keys:?}");

    // into another branch: no preview
    let mut other = event("opened", 9, &repo, &v1, false);
    other["pull_request"]["base"]["ref"] = json!("release");
    let (_, reply) = deliver(&app, "pull_request", "pr-4", &other).await;
    assert!(reply["apps"][0]["skipped"].as_str().unwrap_or_default().contains("into release"), "{reply}");

    // closed: the preview goes, its route with it
    let (_, reply) = deliver(&app, "pull_request", "pr-5", &event("closed", 7, &repo, &v2, false)).await;
    assert!(reply["apps"][0]["skipped"].as_str().unwrap_or_default().contains("removed"), "{reply}");
    assert_eq!(app.get("/apps/pr-7-web").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.via_proxy("pr-7-web", "/").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.via_proxy("web", "/").await.1, "main v1");
    assert!(!app.apps_dir().join("pr-7-web").exists(), "its builds are gone");

    // deleting the app takes its remaining previews with it
    let res = app.api(Method::DELETE, "/apps/web").send().await.unwrap();
    assert!(res.status().is_success());
    assert_eq!(app.get("/apps/pr-8-web").await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}
