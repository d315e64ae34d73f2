use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

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
    assert!(list[0]["newest_deployment_status"].is_null(), "never deployed: {list}");
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
