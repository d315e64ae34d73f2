//! GitLab and Gitea/Forgejo push webhooks with a per-app secret: GitLab's `X-Gitlab-Token` and
//! Gitea's HMAC `X-Gitea-Signature`, checked before anything is read; a push to the app's branch
//! deploys exactly its `after`; tags, deletions, other branches and redeliveries deploy nothing.
//! Payloads follow the forges' documented push events.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{files, python_app, spawn_app, Repo, TestApp};

/// A push event as GitLab documents it (`object_kind: push`, `project`, `commits` with file lists).
fn gitlab_push(git_ref: &str, after: &str) -> Value {
    json!({
        "object_kind": "push", "event_name": "push",
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22", "after": after, "ref": git_ref, "checkout_sha": after,
        "user_id": 4, "user_name": "John Smith", "user_username": "jsmith",
        "project_id": 15,
        "project": {"id": 15, "name": "Diaspora", "git_http_url": "http://example.com/mike/diaspora.git", "path_with_namespace": "mike/diaspora", "default_branch": "main"},
        "commits": [{"id": after, "message": "Update app", "added": [], "modified": ["app.py"], "removed": []}],
        "total_commits_count": 1,
        "repository": {"name": "Diaspora", "url": "git@example.com:mike/diaspora.git", "git_http_url": "http://example.com/mike/diaspora.git"}
    })
}

/// A push event as Gitea documents it (GitHub's shape).
fn gitea_push(git_ref: &str, after: &str) -> Value {
    json!({
        "ref": git_ref, "before": "28e1879d029cb852e4844d9c718537df08844e03", "after": after,
        "compare_url": "http://localhost:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...".to_string() + after,
        "commits": [{"id": after, "message": "Update app", "added": [], "removed": [], "modified": ["app.py"]}],
        "repository": {"id": 140, "name": "webhooks", "full_name": "gitea/webhooks", "clone_url": "http://localhost:3000/gitea/webhooks.git", "default_branch": "main"},
        "pusher": {"id": 1, "login": "gitea"}, "sender": {"id": 1, "login": "gitea"}
    })
}

async fn gitlab(app: &TestApp, slug: &str, token: Option<&str>, uuid: &str, body: &Value) -> (StatusCode, Value) {
    let mut req = app.anon(Method::POST, &format!("/api/v1/webhooks/gitlab/{slug}")).header("X-Gitlab-Event", "Push Hook").header("X-Gitlab-Event-UUID", uuid).body(body.to_string());
    if let Some(t) = token {
        req = req.header("X-Gitlab-Token", t);
    }
    let res = req.send().await.expect("gitlab delivery");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn gitea(app: &TestApp, slug: &str, secret: &str, delivery: &str, body: &Value) -> (StatusCode, Value) {
    let bytes = body.to_string().into_bytes();
    let sig = domain::github::sign(secret.as_bytes(), &bytes).trim_start_matches("sha256=").to_string();
    let res = app
        .anon(Method::POST, &format!("/api/v1/webhooks/gitea/{slug}"))
        .header("X-Gitea-Event", "push")
        .header("X-Gitea-Delivery", delivery)
        .header("X-Gitea-Signature", sig)
        .body(bytes)
        .send()
        .await
        .expect("gitea delivery");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn secret_of(app: &TestApp, slug: &str) -> String {
    let (status, made) = app.json(Method::POST, &format!("/apps/{slug}/webhook-secret"), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["gitlab_url"], json!(format!("/api/v1/webhooks/gitlab/{slug}")));
    let (_, shown) = app.get(&format!("/apps/{slug}/webhook-secret")).await;
    assert!(shown["made_at"].is_i64() && shown.get("secret").is_none(), "shown once: {shown}");
    made["secret"].as_str().expect("secret").to_string()
}

#[tokio::test]
async fn gitlab_and_gitea_pushes_deploy_with_the_apps_own_secret_only() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&python_app("v1")));
    app.create_app("labbed", &repo.path(), json!({"branch": "main"})).await;
    app.create_app("tea", &repo.path(), json!({"branch": "main"})).await;
    let sha = repo.head();

    // no secret made yet: refused like a wrong one
    assert_eq!(gitlab(&app, "labbed", Some("anything"), "u-0", &gitlab_push("refs/heads/main", &sha)).await.0, StatusCode::UNAUTHORIZED);
    let lab = secret_of(&app, "labbed").await;
    let tea = secret_of(&app, "tea").await;
    assert_ne!(lab, tea);
    for (token, why) in [(None, "no token"), (Some("wrong"), "a wrong token"), (Some(tea.as_str()), "another app's secret")] {
        let (status, _) = gitlab(&app, "labbed", token, "u-1", &gitlab_push("refs/heads/main", &sha)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}");
    }
    assert_eq!(gitlab(&app, "no-such-app", Some(&lab), "u-1", &gitlab_push("refs/heads/main", &sha)).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = gitea(&app, "tea", &lab, "d-1", &gitea_push("refs/heads/main", &sha)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed with another app's secret");
    let (_, deps) = app.get("/apps/labbed/deployments").await;
    assert_eq!(deps, json!([]));

    // GitLab: a tag, a deletion and another branch deploy nothing; the branch deploys `after`
    let (_, reply) = gitlab(&app, "labbed", Some(&lab), "u-2", &gitlab_push("refs/tags/v1", &sha)).await;
    assert!(reply["reason"].as_str().unwrap_or_default().contains("not a branch push"), "{reply}");
    let (_, reply) = gitlab(&app, "labbed", Some(&lab), "u-3", &gitlab_push("refs/heads/main", &"0".repeat(40))).await;
    assert!(reply["reason"].as_str().unwrap_or_default().contains("deleted"), "{reply}");
    let (_, reply) = gitlab(&app, "labbed", Some(&lab), "u-4", &gitlab_push("refs/heads/feature", &sha)).await;
    assert!(reply["apps"][0]["skipped"].as_str().unwrap_or_default().contains("the app deploys main"), "{reply}");
    let (status, reply) = gitlab(&app, "labbed", Some(&lab), "u-5", &gitlab_push("refs/heads/main", &sha)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let d = app.wait_final(reply["apps"][0]["deployment_id"].as_i64().expect("a deployment")).await;
    assert_eq!((d["status"].as_str(), d["commit_sha"].as_str()), (Some("live"), Some(sha.as_str())), "{d}");
    let (_, again) = gitlab(&app, "labbed", Some(&lab), "u-5", &gitlab_push("refs/heads/main", &sha)).await;
    assert_eq!(again["result"], "duplicate", "a redelivery deploys nothing");
    let (status, _) = app
        .anon(Method::POST, "/api/v1/webhooks/gitlab/labbed")
        .header("X-Gitlab-Event", "Push Hook")
        .header("X-Gitlab-Event-UUID", "u-6")
        .header("X-Gitlab-Token", &lab)
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Gitea: its HMAC, then the same rules
    repo.commit(&files(&python_app("v2")), "v2");
    let v2 = repo.head();
    let (status, reply) = gitea(&app, "tea", &tea, "d-2", &gitea_push("refs/heads/main", &v2)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let d = app.wait_final(reply["apps"][0]["deployment_id"].as_i64().expect("a deployment")).await;
    assert_eq!((d["status"].as_str(), d["commit_sha"].as_str()), (Some("live"), Some(v2.as_str())), "{d}");
    assert_eq!(app.via_proxy("tea", "/").await.1, "v2");
    // a tampered body with the old signature
    let body = gitea_push("refs/heads/main", &v2);
    let sig = domain::github::sign(tea.as_bytes(), body.to_string().as_bytes()).trim_start_matches("sha256=").to_string();
    let mut tampered = body.clone();
    tampered["after"] = json!(sha);
    let res = app
        .anon(Method::POST, "/api/v1/webhooks/gitea/tea")
        .header("X-Gitea-Event", "push")
        .header("X-Gitea-Delivery", "d-3")
        .header("X-Gitea-Signature", sig)
        .body(tampered.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // a new secret replaces the old one
    let renewed = secret_of(&app, "tea").await;
    assert_eq!(gitea(&app, "tea", &tea, "d-4", &gitea_push("refs/heads/main", &v2)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(gitea(&app, "tea", &renewed, "d-4", &gitea_push("refs/tags/x", &v2)).await.0, StatusCode::OK);
    app.stop().await;
}

/// Runs `sql` on Rhone's SQLite file (as a crash would have left it; Rhone reads these rows only
/// when it starts).
async fn write_db(app: &TestApp, sql: &str, binds: &[&str]) {
    let url = format!("sqlite://{}", app.data_dir().join("rhone.db").display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn deliveries_a_crash_interrupted_are_handled_once_at_the_next_start() {
    let app = spawn_app().await;
    let repo = Repo::new(&files(&python_app("v1")));
    app.create_app("labbed", &repo.path(), json!({"branch": "main"})).await;
    let lab = secret_of(&app, "labbed").await;
    let sha = repo.head();
    let (_, reply) = gitlab(&app, "labbed", Some(&lab), "u-1", &gitlab_push("refs/heads/main", &sha)).await;
    let first = reply["apps"][0]["deployment_id"].as_i64().expect("a deployment");
    app.wait_final(first).await;
    // as a SIGKILL mid-handling leaves them: u-1 made its deployment but was not recorded as handled;
    // u-2 was claimed (with its payload, as stored since migration 0019) and made nothing yet; u-3
    // was claimed by a version that kept no payload
    let stored = json!({"source": "gitlab", "event": "Push Hook", "slug": "labbed", "body": gitlab_push("refs/heads/main", &sha).to_string()}).to_string();
    write_db(&app, "UPDATE webhook_deliveries SET outcome = NULL, payload = $1 WHERE delivery_id = 'gitlab-u-1'", &[&stored]).await;
    write_db(&app, "INSERT INTO webhook_deliveries (delivery_id, event, received_at, outcome, payload) VALUES ('gitlab-u-2', 'push', 1, NULL, $1)", &[&stored]).await;
    write_db(&app, "INSERT INTO webhook_deliveries (delivery_id, event, received_at, outcome, payload) VALUES ('gitlab-u-3', 'push', 1, NULL, NULL)", &[]).await;

    let app = app.restart(&[]).await;
    let (_, deps) = app.get("/apps/labbed/deployments").await;
    let ids: Vec<i64> = deps.as_array().unwrap().iter().filter_map(|d| d["id"].as_i64()).collect();
    assert_eq!(ids.len(), 2, "u-1 kept its one deployment, u-2 made one: {deps}");
    assert!(ids.contains(&first), "{deps}");
    // both are handled for good now; u-3's claim was given up, so its redelivery is handled
    for uuid in ["u-1", "u-2"] {
        let (_, again) = gitlab(&app, "labbed", Some(&lab), uuid, &gitlab_push("refs/heads/main", &sha)).await;
        assert_eq!(again["result"], "duplicate", "{uuid}: {again}");
    }
    let (status, reply) = gitlab(&app, "labbed", Some(&lab), "u-3", &gitlab_push("refs/heads/main", &sha)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(reply["apps"][0]["deployment_id"].as_i64().is_some(), "{reply}");
    let (_, deps) = app.get("/apps/labbed/deployments").await;
    assert_eq!(deps.as_array().map(Vec::len), Some(3), "{deps}");
    app.stop().await;
}
