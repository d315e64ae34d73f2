//! Per-app runtime settings through the REST API: runtime (and how `auto` is resolved), CPU and
//! memory limits, replicas, drain and stop timeouts, sticky sessions, Dockerfile path.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const SETTINGS: [&str; 8] =
    ["runtime", "cpu_limit", "memory_limit_mb", "replicas", "drain_timeout_secs", "stop_timeout_secs", "sticky_sessions", "dockerfile_path"];

fn settings(app: &Value) -> Value {
    SETTINGS.iter().map(|k| (k.to_string(), app[*k].clone())).collect::<serde_json::Map<_, _>>().into()
}

async fn create(app: &TestApp, name: &str, extra: Value) -> Value {
    app.create_app(name, Path::new("/srv/x"), extra).await
}

#[tokio::test]
async fn settings_are_created_read_back_and_updated_field_by_field() {
    let app = spawn_app().await;
    let plain = create(&app, "plain", json!({})).await;
    assert_eq!(
        settings(&plain),
        json!({"runtime": "process", "cpu_limit": null, "memory_limit_mb": null, "replicas": 1, "drain_timeout_secs": 30,
               "stop_timeout_secs": 10, "sticky_sessions": false, "dockerfile_path": null}),
        "defaults (the test installation's default runtime is process)"
    );
    let full = json!({"runtime": "docker", "cpu_limit": 0.5, "memory_limit_mb": 512, "replicas": 3, "drain_timeout_secs": 45,
                      "stop_timeout_secs": 5, "sticky_sessions": true, "dockerfile_path": "deploy/web.Dockerfile"});
    let boxed = create(&app, "boxed", full.clone()).await;
    assert_eq!(settings(&boxed), full);
    let (status, shown) = app.get("/apps/boxed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(settings(&shown), full);
    let (_, list) = app.get("/apps").await;
    let listed = list.as_array().unwrap().iter().find(|a| a["slug"] == "boxed").cloned().unwrap();
    assert_eq!(settings(&listed), full);

    // a patch changes what it names and nothing else; null clears a limit, "" the Dockerfile path
    let (status, patched) = app.json(Method::PATCH, "/apps/boxed", json!({"replicas": 2, "cpu_limit": null, "dockerfile_path": ""})).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    let mut expect = full.clone();
    expect["replicas"] = json!(2);
    expect["cpu_limit"] = Value::Null;
    expect["dockerfile_path"] = Value::Null;
    assert_eq!(settings(&patched), expect);
    // the runtime of an existing app may change (the next deploy uses it)
    let (status, patched) = app
        .json(Method::PATCH, "/apps/boxed", json!({"runtime": "process", "memory_limit_mb": null, "sticky_sessions": false, "cpu_limit": 64}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    expect["runtime"] = json!("process");
    expect["memory_limit_mb"] = Value::Null;
    expect["sticky_sessions"] = json!(false);
    expect["cpu_limit"] = json!(64.0);
    assert_eq!(settings(&patched), expect);
    assert_eq!(settings(&app.get("/apps/boxed").await.1), expect);
    assert_eq!(settings(&app.get("/apps/plain").await.1), settings(&plain), "the other app is untouched");
    app.stop().await;
}

#[tokio::test]
async fn every_bad_value_is_a_422_naming_its_field_and_changes_nothing() {
    let app = spawn_app().await;
    create(&app, "victim", json!({"replicas": 2, "cpu_limit": 1.5})).await;
    let (_, before) = app.get("/apps/victim").await;
    let cases = [
        ("runtime", json!("podman")),
        ("runtime", json!("Docker")),
        ("runtime", json!(7)),
        ("cpu_limit", json!(-1)),
        ("cpu_limit", json!(0)),
        ("cpu_limit", json!(0.001)),
        ("cpu_limit", json!(65)),
        ("cpu_limit", json!(1e300)),
        ("cpu_limit", json!("half")),
        ("memory_limit_mb", json!(-512)),
        ("memory_limit_mb", json!(0)),
        ("memory_limit_mb", json!(15)),
        ("memory_limit_mb", json!(1_048_577)),
        ("memory_limit_mb", json!(i64::MAX)),
        ("memory_limit_mb", json!(1e30)),
        ("memory_limit_mb", json!(0.5)),
        ("replicas", json!(0)),
        ("replicas", json!(-1)),
        ("replicas", json!(21)),
        ("replicas", json!(4_294_967_297_i64)),
        ("replicas", json!("two")),
        ("drain_timeout_secs", json!(0)),
        ("drain_timeout_secs", json!(-30)),
        ("drain_timeout_secs", json!(3601)),
        ("stop_timeout_secs", json!(0)),
        ("stop_timeout_secs", json!(601)),
        ("sticky_sessions", json!("yes")),
        ("dockerfile_path", json!("../Dockerfile")),
        ("dockerfile_path", json!("app/../../Dockerfile")),
        ("dockerfile_path", json!("/etc/Dockerfile")),
        ("dockerfile_path", json!("Docker\0file")),
        ("dockerfile_path", json!("d/".repeat(128) + "Dockerfile")),
        ("dockerfile_path", json!("docker/")),
    ];
    for (field, value) in cases {
        let body = json!({"name": "bad", "repo_url": "/srv/x", field: value});
        let (status, err) = app.json(Method::POST, "/apps", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "create {body} → {err}");
        assert!(err["error"].as_str().unwrap_or_default().contains(field), "create {body} → {err}");
        let (status, err) = app.json(Method::PATCH, "/apps/victim", json!({field: value})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "patch {field}={value} → {err}");
        assert!(err["error"].as_str().unwrap_or_default().contains(field), "patch {field}={value} → {err}");
    }
    // a valid field next to a bad one is not applied either
    let (status, _) = app.json(Method::PATCH, "/apps/victim", json!({"replicas": 5, "dockerfile_path": "../x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, after) = app.get("/apps/victim").await;
    assert_eq!(after, before, "failed updates changed nothing");
    let (_, list) = app.get("/apps").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "failed creates made nothing: {list}");
    // an app that does not exist (or that this caller cannot see) is 404 whatever the body
    let (status, _) = app.json(Method::PATCH, "/apps/nobody", json!({"replicas": 2})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.json(Method::PATCH, "/apps/nobody", json!({"replicas": 0})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get("/apps/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// A stand-in engine: a unix socket answering `GET /_ping` like dockerd does.
fn fake_engine(path: &Path) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(path).expect("bind fake engine socket");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 256];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nOK").await;
            });
        }
    })
}

#[tokio::test]
async fn auto_means_docker_only_while_an_engine_answers() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("engine.sock");
    let host = format!("unix://{}", sock.display());
    let app = spawn_app_with(&[("RHONE_DEFAULT_RUNTIME", "auto"), ("RHONE_DOCKER_HOST", &host)]).await;
    // no engine yet: process
    assert_eq!(create(&app, "early", json!({})).await["runtime"], "process");
    let engine = fake_engine(&sock);
    assert_eq!(create(&app, "later", json!({})).await["runtime"], "docker");
    assert_eq!(create(&app, "explicit", json!({"runtime": "auto"})).await["runtime"], "docker");
    assert_eq!(create(&app, "pinned", json!({"runtime": "process"})).await["runtime"], "process");
    // "auto" on an existing app resolves again
    let (status, early) = app.json(Method::PATCH, "/apps/early", json!({"runtime": "auto"})).await;
    assert_eq!((status, early["runtime"].as_str()), (StatusCode::OK, Some("docker")), "{early}");
    engine.abort();
    let _ = std::fs::remove_file(&sock);
    let (_, later) = app.json(Method::PATCH, "/apps/later", json!({"runtime": "auto"})).await;
    assert_eq!(later["runtime"], "process", "the engine went away");
    app.stop().await;

    // a fixed installation default is used as it is, engine or not
    let sock2 = dir.path().join("engine2.sock");
    let engine = fake_engine(&sock2);
    let host2 = format!("unix://{}", sock2.display());
    let app = spawn_app_with(&[("RHONE_DEFAULT_RUNTIME", "process"), ("RHONE_DOCKER_HOST", &host2)]).await;
    assert_eq!(create(&app, "fixed", json!({})).await["runtime"], "process");
    assert_eq!(create(&app, "asked", json!({"runtime": "docker"})).await["runtime"], "docker");
    engine.abort();
    app.stop().await;
}
