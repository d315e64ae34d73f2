//! Builds never starve serving apps: at most `max_concurrent_builds` deployments build at once (the
//! others wait, `pending`, in order, and say so), the queue is visible in the API and the dashboard,
//! and build steps run at a lower CPU priority.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Repo, TestApp};
use crate::web::{owner_login, with_cookie};

/// The time of a deployment's first event with `status`.
fn event_at(d: &Value, status: &str) -> i64 {
    d["events"].as_array().and_then(|e| e.iter().find(|e| e["status"] == status)).and_then(|e| e["at"].as_i64()).unwrap_or_else(|| panic!("no {status} event: {d}"))
}

async fn queue(app: &TestApp) -> Vec<(i64, String, u64, u64)> {
    let (status, q) = app.get("/builds").await;
    assert_eq!(status, StatusCode::OK, "{q}");
    q.as_array()
        .expect("a list")
        .iter()
        .map(|b| {
            let id = b["deployment"]["id"].as_i64().expect("deployment id");
            (id, b["state"].as_str().unwrap_or_default().to_string(), b["position"].as_u64().unwrap_or(99), b["ahead"].as_u64().unwrap_or(99))
        })
        .collect()
}

#[tokio::test]
async fn with_one_build_slot_the_second_build_starts_after_the_first_and_the_queue_shows_both() {
    // two deploy workers, one build slot
    let app = spawn_app_with(&[("RHONE_WORKERS", "2"), ("RHONE_MAX_CONCURRENT_BUILDS", "1")]).await;
    let repo = Repo::new(&[("index.html", "hello")]);
    // the first build waits for a file the test writes into the app's home
    let gated = r#"echo niceness=$(nice); while [ ! -f "$HOME/go" ]; do sleep 0.05; done; echo first built"#;
    app.create_app("first", &repo.path(), json!({"build_command": gated})).await;
    app.create_app("second", &repo.path(), json!({"build_command": "echo niceness=$(nice); echo second built"})).await;

    let first = app.deploy("first").await;
    app.wait_status(first, "building").await;
    let second = app.deploy("second").await;
    let log = app.sse_until(&format!("/deployments/{second}/logs"), "build slot").await;
    assert!(log.contains("waiting for a build slot (1 ahead)"), "{log}");
    let (_, d2) = app.get(&format!("/deployments/{second}")).await;
    assert_eq!(d2["status"], "pending", "the second waits, queued, while the first builds: {d2}");
    assert_eq!(queue(&app).await, vec![(first, "building".into(), 0, 0), (second, "queued".into(), 1, 1)]);

    // the dashboard's /builds page lists both, in order
    let cookie = owner_login(&app).await;
    let page = with_cookie(&app, Method::GET, "/builds", &cookie, None).send().await.expect("builds page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap_or_default();
    let (at1, at2) = (html.find(&format!(r#"data-testid="build-{first}" data-state="building""#)), html.find(&format!(r#"data-testid="build-{second}" data-state="queued""#)));
    assert!(at1.is_some() && at2.is_some() && at1 < at2, "the page lists the building one, then the queued one");

    std::fs::write(app.apps_dir().join("first/home/go"), "").expect("open the gate");
    let d1 = app.wait_final(first).await;
    let d2 = app.wait_final(second).await;
    assert_eq!((d1["status"].as_str(), d2["status"].as_str()), (Some("live"), Some("live")), "{d1}\n{d2}");
    assert!(
        event_at(&d2, "building") >= event_at(&d1, "deploying"),
        "the second build started only once the first had finished building: {d1}\n{d2}"
    );
    let build1 = app.build_log(first).await;
    assert!(build1.contains("niceness=10"), "build steps run at nice 10: {build1}");
    assert!(!build1.contains("build slot"), "the first did not wait: {build1}");
    assert!(queue(&app).await.is_empty(), "nothing is left in the queue");
    app.stop().await;
}

#[tokio::test]
async fn a_queued_deployment_that_is_cancelled_leaves_the_queue_and_the_next_one_builds() {
    let app = spawn_app_with(&[("RHONE_WORKERS", "3")]).await;
    let repo = Repo::new(&[("index.html", "hello")]);
    let gated = r#"while [ ! -f "$HOME/go" ]; do sleep 0.05; done"#;
    app.create_app("one", &repo.path(), json!({"build_command": gated})).await;
    app.create_app("two", &repo.path(), json!({})).await;
    app.create_app("three", &repo.path(), json!({})).await;
    let one = app.deploy("one").await;
    app.wait_status(one, "building").await;
    let two = app.deploy("two").await;
    app.sse_until(&format!("/deployments/{two}/logs"), "build slot").await;
    let three = app.deploy("three").await;
    let log = app.sse_until(&format!("/deployments/{three}/logs"), "build slot").await;
    assert!(log.contains("waiting for a build slot (2 ahead)"), "{log}");
    let (status, _) = app.json(Method::POST, &format!("/deployments/{two}/cancel"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.wait_final(two).await["status"], "cancelled");
    assert_eq!(queue(&app).await, vec![(one, "building".into(), 0, 0), (three, "queued".into(), 1, 1)]);
    std::fs::write(app.apps_dir().join("one/home/go"), "").expect("open the gate");
    assert_eq!(app.wait_final(one).await["status"], "live");
    assert_eq!(app.wait_final(three).await["status"], "live", "the cancelled one's place went to the next");

    let (status, _) = app.anon(Method::GET, "/api/v1/builds").send().await.map(|r| (r.status(), ())).expect("request");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the queue is not public");
    app.stop().await;
}
