//! The docker runtime against a real Docker engine (started by `server/tests/docker.sh`; test
//! containers use host networking on 127.0.0.1): deploy, redeploy, rollback, limits, a never-healthy
//! image, re-adoption after a restart, strays removed, and cleanup that leaves foreign images and
//! containers alone.

use std::process::Command;
use std::sync::OnceLock;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Repo, TestApp};

/// The engine's address: `RHONE_TEST_DOCKER_HOST` (set by `make test`), else the script starts one.
/// A test that cannot get an engine fails; it never skips.
pub fn docker_host() -> String {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        if let Ok(h) = std::env::var("RHONE_TEST_DOCKER_HOST") {
            if !h.trim().is_empty() {
                return h.trim().to_string();
            }
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/docker.sh");
        let out = Command::new("bash").arg(script).output().expect("run tests/docker.sh");
        assert!(out.status.success(), "no Docker engine for the tests: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().last().expect("docker.sh prints the address").trim().to_string()
    })
    .clone()
}

/// Polls `cond` for up to 15 s (pipeline tails such as drain, stop and prune run after a deployment
/// reports its final status).
async fn eventually(cond: impl Fn() -> bool) -> bool {
    for _ in 0..150 {
        if cond() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    cond()
}

pub const BASE: &str = "rhone-test/busybox:1";

pub(crate) fn docker(args: &[&str]) -> String {
    let host = docker_host();
    let out = Command::new("docker").env("DOCKER_HOST", &host).args(args).output().expect("docker CLI runs");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn docker_ok(args: &[&str]) -> bool {
    Command::new("docker").env("DOCKER_HOST", docker_host()).args(args).output().map(|o| o.status.success()).unwrap_or(false)
}

/// This test's Rhone installation on the engine: queries are scoped to its label, and whatever it
/// left (a failed test included) is removed when the test ends, so runs never see each other's.
pub(crate) struct Installation(String);

impl Installation {
    pub(crate) fn of(app: &TestApp) -> Installation {
        Installation(domain::Settings::new(app.data_dir(), "localhost").installation_id())
    }

    fn label(&self) -> String {
        format!("label=rhone.installation={}", self.0)
    }

    /// Container ids (running or not, with `all`) of app `slug`.
    pub(crate) fn containers(&self, slug: &str, all: bool) -> Vec<String> {
        let flag = if all { "-aq" } else { "-q" };
        docker(&["ps", flag, "--no-trunc", "--filter", &self.label(), "--filter", &format!("label=rhone.app={slug}")])
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Installation {
    /// The app's containers once only one is left (the previous version's is drained and removed
    /// right after a switch), or what is there after 10 s.
    async fn single(&self, slug: &str) -> Vec<String> {
        let mut all = self.containers(slug, true);
        for _ in 0..100 {
            if all.len() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            all = self.containers(slug, true);
        }
        all
    }
}

impl Drop for Installation {
    fn drop(&mut self) {
        let label = self.label();
        let ids = docker(&["ps", "-aq", "--filter", &label]);
        for id in ids.lines() {
            let _ = docker_ok(&["rm", "-f", id]);
        }
        let images = docker(&["images", "-q", "--filter", &label]);
        for id in images.lines() {
            let _ = docker_ok(&["rmi", "-f", id]);
        }
    }
}

pub async fn spawn_docker(extra: &[(&str, &str)]) -> TestApp {
    let host = docker_host();
    let mut all: Vec<(&str, &str)> = vec![
        ("RHONE_DOCKER_HOST", host.as_str()),
        ("RHONE_DOCKER_NETWORK", "host"),
        ("RHONE_DEFAULT_RUNTIME", "docker"),
        ("RHONE_HEALTH_TIMEOUT_SECS", "10"),
    ];
    all.extend_from_slice(extra);
    spawn_app_with(&all).await
}

/// A repository with a Dockerfile: busybox httpd serving `body` on 127.0.0.1:$PORT.
fn site(body: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "Dockerfile",
            format!(
                "FROM {BASE}\nCOPY www /www\nCMD [\"sh\", \"-c\", \"echo serving deployment $RHONE_DEPLOYMENT_ID; exec httpd -f -p 127.0.0.1:$PORT -h /www\"]\n"
            ),
        ),
        ("www/index.html", body.to_string()),
    ]
}

fn files<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}

async fn app_json(app: &TestApp, slug: &str) -> Value {
    let (status, v) = app.get(&format!("/apps/{slug}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn deploy_redeploy_rollback_with_limits_on_docker() {
    let app = spawn_docker(&[]).await;
    let inst = Installation::of(&app);
    let repo = Repo::new(&files(&site("version one")));
    let created = app.create_app("dock", &repo.path(), json!({"cpu_limit": 0.5, "memory_limit_mb": 96})).await;
    assert_eq!(created["runtime"], "docker", "the installation default applies: {created}");
    let first = app.deploy_and_wait("dock").await;
    assert_eq!(first["status"], "live", "{first}");
    assert_eq!(app.via_proxy("dock", "/").await, (StatusCode::OK, "version one".to_string()));

    // the running container: labelled, limited, host network, our image
    let ids = inst.containers("dock", false);
    assert_eq!(ids.len(), 1, "one container runs the app: {ids:?}");
    let inspect = docker(&["inspect", "--format", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.NetworkMode}} {{.Config.Image}} {{index .Config.Labels \"rhone.deployment\"}}", &ids[0]]);
    let first_id = first["id"].as_i64().unwrap();
    assert_eq!(inspect, format!("500000000 {} host rhone/dock:{first_id} {first_id}", 96 * 1024 * 1024));
    // env vars reach the app through the API, never a file: the deployment id is in its output
    let logs = docker(&["logs", &ids[0]]);
    assert!(logs.contains(&format!("serving deployment {first_id}")), "{logs}");

    repo.commit(&files(&site("version two")), "v2");
    let second = app.deploy_and_wait("dock").await;
    assert_eq!(second["status"], "live", "{second}");
    assert_eq!(app.via_proxy("dock", "/").await, (StatusCode::OK, "version two".to_string()));
    // the old container is drained, stopped and removed right after the switch
    let running = inst.single("dock").await;
    assert_eq!(running.len(), 1, "the old container was stopped and removed: {running:?}");
    assert_eq!(inst.containers("dock", true).len(), 1, "no stopped container is left behind");
    // both images are kept for rollback
    assert!(docker_ok(&["image", "inspect", &format!("rhone/dock:{first_id}")]));

    let (status, rb) = app.json(Method::POST, &format!("/deployments/{first_id}/rollback"), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{rb}");
    let rb = app.wait_final(rb["id"].as_i64().unwrap()).await;
    assert_eq!(rb["status"], "live", "{rb}");
    assert_eq!(app.via_proxy("dock", "/").await, (StatusCode::OK, "version one".to_string()));
    let image = docker(&["inspect", "--format", "{{.Config.Image}}", &inst.single("dock").await.join(" ")]);
    assert_eq!(image, format!("rhone/dock:{first_id}"), "the rollback reuses the first image (no rebuild)");

    let shown = app_json(&app, "dock").await;
    assert_eq!(shown["runtime"], "docker");
    app.stop().await;
    assert!(inst.containers("dock", true).is_empty(), "stopping Rhone with stop_apps removes its containers");
}

#[tokio::test]
async fn a_never_healthy_image_fails_and_leaves_nothing_running() {
    let app = spawn_docker(&[("RHONE_HEALTH_TIMEOUT_SECS", "3")]).await;
    let inst = Installation::of(&app);
    let repo = Repo::new(&[("Dockerfile", &format!("FROM {BASE}\nCMD [\"sleep\", \"600\"]\n"))]);
    app.create_app("sleepy", &repo.path(), json!({})).await;
    let d = app.deploy_and_wait("sleepy").await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap_or_default().contains("did not become healthy"), "{d}");
    assert!(inst.containers("sleepy", true).is_empty(), "the unhealthy container is removed");
    let id = d["id"].as_i64().unwrap();
    let tag = format!("rhone/sleepy:{id}");
    assert!(eventually(|| !docker_ok(&["image", "inspect", &tag])).await, "the image of a failed deploy is removed");
    app.stop().await;
}

#[tokio::test]
async fn a_broken_dockerfile_fails_with_the_engines_message() {
    let app = spawn_docker(&[]).await;
    let _inst = Installation::of(&app);
    let repo = Repo::new(&[("Dockerfile", &format!("FROM {BASE}\nRUN exit 7\n"))]);
    app.create_app("broken", &repo.path(), json!({})).await;
    let d = app.deploy_and_wait("broken").await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap_or_default().contains("image build failed"), "{d}");
    app.stop().await;
}

#[tokio::test]
async fn containers_are_readopted_after_a_restart_and_strays_removed() {
    let app = spawn_docker(&[("RHONE_STOP_APPS", "false")]).await;
    let inst = Installation::of(&app);
    let repo = Repo::new(&files(&site("kept")));
    app.create_app("keep", &repo.path(), json!({})).await;
    let d = app.deploy_and_wait("keep").await;
    assert_eq!(d["status"], "live", "{d}");
    let before = inst.containers("keep", false);
    assert_eq!(before.len(), 1);
    // a stray: a container of this installation that no live version owns (as if a crash lost it)
    let stray = docker(&[
        "create", "--label", &format!("rhone.installation={}", inst.0), "--label", "rhone.app=keep", "--label", "rhone.deployment=999",
        BASE, "sleep", "60",
    ]);
    // a foreign container and image: never touched
    let foreign = docker(&["create", "--label", "owner=someone-else", BASE, "sleep", "60"]);
    docker(&["tag", BASE, "foreign/keepme:1"]);

    let app = app.restart(&[]).await;
    let after = inst.containers("keep", false);
    assert_eq!(after, before, "the same container serves after the restart (re-adopted, not restarted)");
    assert_eq!(app.via_proxy("keep", "/").await, (StatusCode::OK, "kept".to_string()));
    assert!(!docker_ok(&["inspect", &stray]), "the stray container was removed");
    assert!(docker_ok(&["inspect", &foreign]), "a foreign container is left alone");
    assert!(docker_ok(&["image", "inspect", "foreign/keepme:1"]), "a foreign image is left alone");
    docker(&["rm", "-f", &foreign]);
    docker(&["rmi", "foreign/keepme:1"]);

    // once stopped with stop_apps, nothing of the app is left running
    let app = app.restart(&[("RHONE_STOP_APPS", "true")]).await;
    app.stop().await;
    assert!(inst.containers("keep", true).is_empty());
}

#[tokio::test]
async fn old_images_beyond_retention_are_removed_and_foreign_ones_kept() {
    let app = spawn_docker(&[]).await;
    let inst = Installation::of(&app);
    docker(&["tag", BASE, "foreign/other:2"]);
    let repo = Repo::new(&files(&site("r0")));
    app.create_app("retain", &repo.path(), json!({})).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        repo.commit(&files(&site(&format!("r{i}"))), &format!("c{i}"));
        let d = app.deploy_and_wait("retain").await;
        assert_eq!(d["status"], "live", "{d}");
        ids.push(d["id"].as_i64().unwrap());
    }
    // the last deployment prunes once it has drained and stopped the previous version
    let list = || docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", &inst.label(), "--filter", "label=rhone.app=retain"]);
    eventually(|| list().lines().count() == 5).await;
    let images = list();
    let mut kept: Vec<&str> = images.lines().collect();
    kept.sort();
    let mut expected: Vec<String> = ids[ids.len() - 5..].iter().map(|id| format!("rhone/retain:{id}")).collect();
    expected.sort();
    let detail = docker(&["images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.CreatedAt}}", "--filter", &inst.label()]);
    assert_eq!(kept, expected, "the last 5 successful images stay, older ones go: {detail}");
    assert!(docker_ok(&["image", "inspect", "foreign/other:2"]), "cleanup never touches a foreign image");
    docker(&["rmi", "foreign/other:2"]);
    app.stop().await;
}

#[tokio::test]
async fn a_release_step_runs_once_in_a_container_of_the_new_image_and_its_failure_keeps_the_old_version() {
    let app = spawn_docker(&[("RHONE_DOCKER_BASE_RUNTIME", BASE)]).await;
    let inst = Installation::of(&app);
    let procfile = |release: &str| format!("web: exec httpd -f -p 127.0.0.1:$PORT -h /app/www\nrelease: {release}\n");
    // no language: the generated Dockerfile is built on the runtime image
    let repo = Repo::new(&[("Procfile", &procfile("echo migrating $RHONE_APP as $(id -u)")), ("www/index.html", "v1")]);
    app.create_app("releaser", &repo.path(), json!({})).await;
    let d = app.deploy_and_wait("releaser").await;
    assert_eq!(d["status"], "live", "{d}");
    let log = app.build_log(d["id"].as_i64().unwrap()).await;
    assert!(log.contains("release step: $ echo migrating") && log.contains("migrating releaser as 10001"), "{log}");
    assert_eq!(app.via_proxy("releaser", "/").await, (StatusCode::OK, "v1".to_string()));

    repo.commit(&[("Procfile", &procfile("echo the migration breaks; exit 3")), ("www/index.html", "v2")], "broken release");
    let d = app.deploy_and_wait("releaser").await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap_or_default().contains("release step failed with exit code 3"), "{d}");
    assert_eq!(app.via_proxy("releaser", "/").await, (StatusCode::OK, "v1".to_string()), "the old version keeps serving");
    assert!(eventually(|| inst.containers("releaser", true).len() == 1).await, "no release container is left behind");
    let tag = format!("rhone/releaser:{}", d["id"]);
    assert!(eventually(|| !docker_ok(&["image", "inspect", &tag])).await, "the failed version's image is removed");
    app.stop().await;
}
