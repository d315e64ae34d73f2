//! One user story run against both store backends: SQLite (embedded default) and PostgreSQL.
//! `make test` starts PostgreSQL and sets `RHONE_TEST_POSTGRES_URL` (a server URL without database);
//! each run gets a fresh database.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{files, python_app, spawn_app_with, Repo, TestApp};

async fn story(app: TestApp) {
    let repo = Repo::new(&files(&python_app("story v1")));
    app.create_app("story", &repo.path(), json!({})).await;
    let (status, _) = app.json(Method::PUT, "/apps/story/env", json!({"API_SECRET": "story-secret-value"})).await;
    assert_eq!(status, StatusCode::OK);
    let first = app.deploy_and_wait("story").await;
    assert_eq!(first["status"], "live", "{first}");
    assert_eq!(app.via_proxy("story", "/").await.1, "story v1");
    repo.commit(&files(&python_app("story v2")), "v2");
    assert_eq!(app.deploy_and_wait("story").await["status"], "live");
    assert_eq!(app.via_proxy("story", "/").await.1, "story v2");
    let (status, rb) = app.json(Method::POST, &format!("/deployments/{}/rollback", first["id"]), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{rb}");
    assert_eq!(app.wait_final(rb["id"].as_i64().unwrap()).await["status"], "live");
    assert_eq!(app.via_proxy("story", "/").await.1, "story v1");
    let log = app.build_log(first["id"].as_i64().unwrap()).await;
    assert!(log.contains("health check passed") && !log.contains("story-secret-value"), "{log}");
    let (_, env) = app.get("/apps/story/env?reveal=1").await;
    assert_eq!(env["API_SECRET"], "story-secret-value");
    let app = app.restart(&[]).await;
    assert_eq!(app.via_proxy("story", "/").await.1, "story v1", "the live version survives a restart");
    let res = app.api(Method::DELETE, "/apps/story").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.stop().await;
}

#[tokio::test]
async fn story_on_sqlite() {
    story(spawn_app_with(&[]).await).await;
}

#[tokio::test]
async fn story_on_postgres() {
    let server = std::env::var("RHONE_TEST_POSTGRES_URL")
        .expect("RHONE_TEST_POSTGRES_URL must point at a PostgreSQL server (make test starts one)");
    let db = format!("rhone_test_{}_{}", std::process::id(), domain::store::now_ms());
    create_database(&server, &db).await;
    let url = format!("{}/{db}", server.trim_end_matches('/'));
    story(spawn_app_with(&[("RHONE_DATABASE_URL", &url)]).await).await;
}

async fn create_database(server: &str, name: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&format!("{}/postgres", server.trim_end_matches('/'))).await.expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
}
