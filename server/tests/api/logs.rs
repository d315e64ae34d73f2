//! Log streams: capped history with older pages on request, and a cap on streams per user.

use std::time::Duration;

use domain::logs::app_channel;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Repo, TestApp};

/// Creates an app and writes `count` runtime lines (`line 1`…) straight into its log.
async fn app_with_lines(app: &TestApp, slug: &str, count: usize) {
    let repo = Repo::new(&[("index.html", "x")]);
    let created = app.create_app(slug, &repo.path(), json!({})).await;
    let services = &app.running.as_ref().expect("running").services;
    let sink = services.logs.open(&app_channel(created["id"].as_i64().expect("app id")), vec![]).await;
    for i in 1..=count {
        sink.line("stdout", &format!("line {i}"));
    }
    services.logs.flush().await;
}

#[tokio::test]
async fn a_log_stream_starts_with_the_newest_lines_and_older_ones_come_by_page() {
    let app = spawn_app().await;
    app_with_lines(&app, "pager", 1_500).await;
    let stream = app.sse_until("/apps/pager/logs", "\"line 1500\"").await;
    assert_eq!(stream.matches("event: line").count(), 1_000, "history is capped");
    assert!(stream.contains("event: older\ndata: 501\n"), "{}", &stream[..200.min(stream.len())]);
    assert!(stream.contains("\"line 501\"") && !stream.contains("\"line 500\""));

    let (status, page) = app.get("/apps/pager/logs?before=501&limit=300").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let lines = page["lines"].as_array().expect("lines");
    assert_eq!((lines.len(), lines[0]["line"].as_str(), lines[299]["seq"].as_i64()), (300, Some("line 201"), Some(500)));
    assert_eq!(page["older"], true);
    let (_, first_page) = app.get("/apps/pager/logs?before=201").await;
    assert_eq!((first_page["lines"].as_array().map(Vec::len), &first_page["older"]), (Some(200), &Value::Bool(false)));

    for bad in ["before=abc", "before=-1", "before=5&limit=0", "before=5&limit=100000"] {
        let (status, body) = app.get(&format!("/apps/pager/logs?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("before") || e.contains("limit")), "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn log_streams_per_user_are_capped_with_a_clear_429() {
    let app = spawn_app_with(&[("RHONE_LOG_STREAMS_PER_USER", "2")]).await;
    app_with_lines(&app, "watched", 3).await;
    let open = || app.api(Method::GET, "/apps/watched/logs").send();
    let first = open().await.unwrap();
    let second = open().await.unwrap();
    assert_eq!((first.status(), second.status()), (StatusCode::OK, StatusCode::OK));
    let third = open().await.unwrap();
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = third.json().await.unwrap();
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains("too many open log streams") && error.contains("at most 2"), "{body}");

    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        let res = open().await.unwrap();
        if res.status() == StatusCode::OK {
            reopened = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "closing a stream frees its slot");
    drop((second, reopened));
    app.stop().await;
}

#[tokio::test]
async fn a_late_viewer_of_a_long_build_log_still_sees_every_stage() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("index.html", "<p>site</p>")]);
    app.create_app("chatty", &repo.path(), json!({"build_command": "seq 1 3000"})).await;
    let d = app.deploy_and_wait("chatty").await;
    assert_eq!(d["status"], "live", "{d}");
    let stream = app.sse_until(&format!("/deployments/{}/logs", d["id"]), "event: end").await;
    assert!(stream.contains("event: older"), "the history is capped (what this test is about)");
    assert!(!stream.contains("\"line\":\"1\""), "the first build lines are left out");
    for stage in ["cloning ", "$ seq 1 3000", "build finished", "deployment is live"] {
        assert!(stream.contains(stage), "the stage line {stage:?} is missing from a late viewer's log: {}", &stream[stream.len().saturating_sub(3000)..]);
    }
    app.stop().await;
}

#[tokio::test]
async fn each_runtime_log_line_names_the_release_it_came_from() {
    let app = spawn_app().await;
    let repo = Repo::new(&crate::helpers::files(&crate::helpers::node_app("one")));
    app.create_app("labelled", &repo.path(), json!({})).await;
    for n in 1..=2 {
        let d = app.deploy_and_wait("labelled").await;
        assert_eq!((d["status"].as_str(), d["number"].as_i64()), (Some("live"), Some(n)), "{d}");
    }
    app.running.as_ref().expect("running").services.logs.flush().await;
    // stored lines (the page API) and the live stream (SSE) both carry the release
    let (status, page) = app.get("/apps/labelled/logs?before=1000000").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let starts: Vec<Option<i64>> = page["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter(|l| l["line"] == "node app starting")
        .map(|l| l["release"].as_i64())
        .collect();
    assert_eq!(starts, vec![Some(1), Some(2)], "{page}");
    let stream = app.sse_until("/apps/labelled/logs", "node app starting\",\"release\":2").await;
    assert!(stream.contains("\"line\":\"node app starting\",\"release\":1"), "{stream}");
    app.stop().await;
}
