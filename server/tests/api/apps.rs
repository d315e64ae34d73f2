use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app, Repo};

#[tokio::test]
async fn app_crud_round_trip() {
    let app = spawn_app().await;
    let (status, created) = app.json(Method::POST, "/apps", json!({"name": "My Shop", "repo_url": "https://example.com/shop.git"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["slug"], "my-shop");
    assert_eq!(created["health_check_path"], "/");
    let (status, dup) = app.json(Method::POST, "/apps", json!({"name": "my shop", "repo_url": "/srv/x"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    let (status, patched) = app.json(Method::PATCH, "/apps/my-shop", json!({"start_command": "./run", "branch": "prod"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["start_command"], "./run");
    assert_eq!(patched["branch"], "prod");
    let (_, list) = app.get("/apps").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0]["newest"].is_null() && list[0]["live"].is_null(), "never deployed: {list}");
    assert_eq!(list[0]["state"], "not_deployed", "{list}");
    let res = app.api(Method::DELETE, "/apps/my-shop").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.get("/apps/my-shop").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "app not found");
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_on_every_endpoint() {
    let app = spawn_app().await;
    let cases = [
        (json!({"name": "x", "repo_url": "not a url"}), "repo_url"),
        (json!({"name": "x", "slug": "Bad_Slug", "repo_url": "/srv/x"}), "slug"),
        (json!({"name": "", "repo_url": "/srv/x"}), "name"),
        (json!({"name": "x", "repo_url": "/srv/x", "health_check_path": "health"}), "health_check_path"),
        (json!({"name": "x", "repo_url": "/srv/x", "branch": "--upload-pack=evil"}), "branch"),
        (json!({"name": "x", "repo_url": "/srv/x", "root_dir": "../etc"}), "root_dir"),
        (json!({"repo_url": "/srv/x"}), "name"),
        (json!({"name": "x", "repo_url": "/srv/x", "colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let (status, err) = app.json(Method::POST, "/apps", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert!(err["error"].as_str().unwrap().contains(field), "{body} → {err}");
    }
    let res = app.api(Method::POST, "/apps").header("content-type", "application/json").body("{oops").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    app.create_app("ok", std::path::Path::new("/srv/x"), json!({})).await;
    let (status, _) = app.json(Method::PUT, "/apps/ok/env", json!({"1BAD": "v"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.json(Method::PUT, "/apps/ok/env", json!({"PORT": "1"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.json(Method::POST, "/apps/ok/deployments", json!({"ref": "$(reboot)"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.json(Method::POST, "/apps/missing/deployments", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.json(Method::POST, "/deployments/999/rollback", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.json(Method::POST, "/deployments/999/cancel", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, err) = app.get("/deployments/abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"].as_str().unwrap().contains("number"), "{err}");
    let (status, _) = app.get("/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn env_values_are_masked_revealed_merged_and_deleted() {
    let app = spawn_app().await;
    app.create_app("envy", std::path::Path::new("/srv/x"), json!({})).await;
    let (status, put) = app.json(Method::PUT, "/apps/envy/env", json!({"DATABASE_URL": "postgres://u:pw@h/db", "MODE": "prod"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(put["DATABASE_URL"], "********");
    let (_, revealed) = app.get("/apps/envy/env?reveal=1").await;
    assert_eq!(revealed["DATABASE_URL"], "postgres://u:pw@h/db");
    let (status, _) = app.json(Method::PATCH, "/apps/envy/env", json!({"MODE": null, "NEW": "1"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = app.get("/apps/envy/env?reveal=1").await;
    assert_eq!(after, json!({"DATABASE_URL": "postgres://u:pw@h/db", "NEW": "1"}));
    let mut db = std::fs::read(app.data_dir().join("rhone.db")).unwrap();
    db.extend(std::fs::read(app.data_dir().join("rhone.db-wal")).unwrap_or_default());
    assert!(!db.windows(7).any(|w| w == b"u:pw@h/"), "env values are encrypted at rest");
    app.stop().await;
}

#[tokio::test]
async fn slugs_are_transliterated_reserved_ones_refused_and_the_repository_is_asked_first() {
    let app = spawn_app().await;
    let repo = Repo::new(&[("app.py", "print('hi')")]);
    let repo_url = repo.path().to_str().expect("utf-8 path").to_string();
    let refused = |body: serde_json::Value, field: &'static str, says: &'static str| {
        let app = &app;
        async move {
            let (status, err) = app.json(Method::POST, "/apps", body.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
            let msg = err["error"].as_str().unwrap_or_default().to_string();
            assert!(msg.starts_with(field) && msg.contains(says), "{body} → {msg}");
        }
    };
    // a name that derives a reserved slug, and reserved slugs given outright
    refused(json!({"name": "New", "repo_url": repo_url}), "slug", "reserved").await;
    for slug in ["api", "www", "admin", "login", "setup"] {
        refused(json!({"name": "x", "slug": slug, "repo_url": repo_url}), "slug", "reserved").await;
    }
    refused(json!({"name": "   ", "repo_url": repo_url}), "name", "is required").await;
    refused(json!({"name": "日本語", "repo_url": repo_url}), "slug", "is required").await;

    let (status, made) = app.json(Method::POST, "/apps", json!({"name": "Ünïcödé Äpp", "repo_url": repo_url, "check_repo": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!((made["slug"].as_str(), made["name"].as_str()), (Some("unicode-app"), Some("Ünïcödé Äpp")));

    // asked first: a missing branch, a path that is no repository, a server that never answers
    refused(json!({"name": "b", "repo_url": repo_url, "branch": "nope", "check_repo": true}), "branch", "is not in the repository").await;
    refused(json!({"name": "c", "repo_url": "/srv/no-such-repository", "check_repo": true}), "repo_url", "could not be read").await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let port = silent.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn); // accepted, never answered
        }
    });
    refused(json!({"name": "d", "repo_url": format!("http://127.0.0.1:{port}/r.git"), "check_repo": true}), "repo_url", "did not answer within 10 seconds").await;
    hold.abort();
    // not asked (the REST default, or "create anyway" in the dashboard): created as given
    let (status, _) = app.json(Method::POST, "/apps", json!({"name": "e", "repo_url": repo_url, "branch": "nope"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app.json(Method::POST, "/apps", json!({"name": "f", "repo_url": repo_url, "branch": "main", "check_repo": true})).await;
    assert_eq!(status, StatusCode::CREATED, "an existing branch passes");
    app.stop().await;
}
