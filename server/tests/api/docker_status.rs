//! The runtime state and disk usage of a docker app (see `runtime_status.rs` for the process
//! runtime): a container that crashes is restarted with backoff, then reported crashed with its last
//! log lines; disk usage is the size of the app's kept images as the engine reports them.

use serde_json::json;

use crate::docker::{docker, spawn_docker, Installation};
use crate::helpers::Repo;
use crate::runtime_status::{crash_until_given_up, CRASHY};

const PYTHON: &str = "rhone-test/python:3";

fn crashy() -> String {
    format!("FROM {PYTHON}\nCOPY app.py /app.py\nCMD [\"python3\", \"/app.py\"]\n")
}

#[tokio::test]
async fn a_crash_looping_container_is_restarted_then_crashed_with_its_last_lines() {
    let app = spawn_docker(&[("RHONE_CRASH_BACKOFF_MS", "100")]).await;
    let inst = Installation::of(&app);
    let repo = Repo::new(&[("Dockerfile", &crashy()), ("app.py", CRASHY)]);
    app.create_app("dockloop", &repo.path(), json!({})).await;
    let d = app.deploy_and_wait("dockloop").await;
    assert_eq!(d["status"], "live", "{d}");
    crash_until_given_up(&app, "dockloop").await;
    assert!(inst.containers("dockloop", false).is_empty(), "no container of the crashed app runs");
    app.stop().await;
}

#[tokio::test]
async fn disk_usage_of_a_docker_app_is_the_size_of_its_kept_images() {
    let app = spawn_docker(&[]).await;
    let _inst = Installation::of(&app);
    let repo = Repo::new(&[("Dockerfile", &crashy()), ("app.py", CRASHY)]);
    app.create_app("dockdisk", &repo.path(), json!({})).await;
    let first = app.deploy_and_wait("dockdisk").await;
    assert_eq!(first["status"], "live", "{first}");
    let size = |id: &serde_json::Value| -> u64 {
        docker(&["image", "inspect", "--format", "{{.Size}}", &format!("rhone/dockdisk:{id}")]).parse().expect("image size")
    };
    let (_, one) = app.get("/apps/dockdisk").await;
    assert_eq!(one["runtime_status"]["state"], "running", "{one}");
    assert_eq!(one["disk_usage"], json!({"bytes": size(&first["id"]), "builds": 1}), "{one}");

    repo.commit(&[("app.py", &format!("{CRASHY}\n# v2\n"))], "v2");
    let second = app.deploy_and_wait("dockdisk").await;
    assert_eq!(second["status"], "live", "{second}");
    let (_, two) = app.get("/apps/dockdisk").await;
    assert_eq!(two["disk_usage"], json!({"bytes": size(&first["id"]) + size(&second["id"]), "builds": 2}), "{two}");
    app.stop().await;
}
