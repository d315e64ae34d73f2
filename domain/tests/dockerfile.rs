//! Generated Dockerfiles.
//!
//! Snapshots: the Dockerfile of every detect fixture (and of a custom plan) must match
//! `tests/snapshots/dockerfile/<fixture>.Dockerfile`; run with `UPDATE_SNAPSHOTS=1` to rewrite them.
//!
//! Build and run: generated Dockerfiles are built and started on the test engine (the address in
//! `RHONE_TEST_DOCKER_HOST`, else whatever `server/tests/docker.sh` starts; no engine is a failure),
//! with the local base image `rhone-test/busybox:1`, host networking, and answer HTTP on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use domain::detect::{detect, dockerfile, BaseImages, BuildPlan, DirView, ImageRef, MemView, Overrides, Provider};

const TEST_IMAGE: &str = "rhone-test/busybox:1";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture directories that detect to a plan, with the overrides of the extra `custom` case.
fn cases() -> Vec<(String, PathBuf, Overrides)> {
    let root = manifest_dir().join("tests/fixtures/detect");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    let mut cases: Vec<(String, PathBuf, Overrides)> = dirs
        .into_iter()
        .filter(|dir| detect(&DirView::new(dir), &Overrides::default()).is_ok())
        .map(|dir| (dir.file_name().unwrap_or_default().to_string_lossy().into_owned(), dir, Overrides::default()))
        .collect();
    let custom = Overrides { build_command: Some("make release".into()), start_command: Some("./serve --port $PORT".into()), package: None, commands_at_root: false };
    cases.push(("custom".into(), root.join("empty"), custom));
    cases
}

#[test]
fn every_provider_matches_its_dockerfile_snapshot() {
    let update = std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    let snapshots = manifest_dir().join("tests/snapshots/dockerfile");
    let mut failures = Vec::new();
    let cases = cases();
    for (name, dir, overrides) in &cases {
        let repo = DirView::new(dir);
        let plan = detect(&repo, overrides).unwrap_or_else(|e| panic!("{name}: {e}"));
        let actual = dockerfile(&plan, &repo, &BaseImages::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = snapshots.join(format!("{name}.Dockerfile"));
        if update {
            std::fs::create_dir_all(&snapshots).expect("snapshot dir");
            std::fs::write(&path, &actual).expect("write snapshot");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!("{name}: snapshot mismatch\nexpected:\n{expected}\nactual:\n{actual}")),
            Err(_) => failures.push(format!("{name}: missing {} (run with UPDATE_SNAPSHOTS=1)\nactual:\n{actual}", path.display())),
        }
    }
    assert!(failures.is_empty(), "{} of {} snapshots failed:\n\n{}", failures.len(), cases.len(), failures.join("\n"));
    let names: Vec<&str> = cases.iter().map(|(n, _, _)| n.as_str()).collect();
    for required in ["go", "rust", "node-npm", "node-pnpm", "python-gunicorn", "static", "procfile-node", "custom"] {
        assert!(names.contains(&required), "snapshot case {required} is missing");
    }
}

/// The test engine's address; panics (the test fails) when there is none.
fn engine() -> String {
    if let Some(host) = std::env::var("RHONE_TEST_DOCKER_HOST").ok().filter(|h| !h.trim().is_empty()) {
        return host.trim().to_string();
    }
    let script = manifest_dir().join("../server/tests/docker.sh");
    let out = Command::new("bash").arg(&script).output().unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let host = stdout.lines().last().unwrap_or("").trim().to_string();
    assert!(
        out.status.success() && !host.is_empty(),
        "no Docker engine for the tests: {} failed ({}):\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    host
}

/// `docker` against the test engine (legacy builder: what the engine's API builds with).
fn docker(host: &str, args: &[&str]) -> Output {
    Command::new("docker")
        .env("DOCKER_HOST", host)
        .env("DOCKER_BUILDKIT", "0")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running docker {args:?}: {e}"))
}

fn docker_ok(host: &str, args: &[&str]) -> String {
    let out = docker(host, args);
    assert!(
        out.status.success(),
        "docker {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the test's container and image however the test ends.
struct Cleanup<'a> {
    host: &'a str,
    container: String,
    images: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        docker(self.host, &["rm", "-f", &self.container]);
        for image in &self.images {
            docker(self.host, &["rmi", "-f", image]);
        }
    }
}

/// `GET path` on 127.0.0.1:port: the status code and body, or `None` if nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// A port nothing listens on right now (the container binds it; a taken port is retried by the caller).
fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Builds `text` with `context` as the build context, runs the image with host networking and
/// `PORT`/`HOST` set, and returns the port it answers `GET /` with 200 on (plus the cleanup guard).
/// Each of `stages` is built and tagged first, so the cleanup also removes its (otherwise untagged) image.
fn build_and_run<'a>(host: &'a str, name: &str, context: &Path, text: &str, stages: &[&str]) -> (u16, Cleanup<'a>) {
    let tag = format!("rhone-test/{name}:{}", std::process::id());
    let container = format!("rhone-test-{name}-{}", std::process::id());
    let stage_tags: Vec<(String, String)> = stages.iter().map(|s| (s.to_string(), format!("{tag}-{s}"))).collect();
    let mut images: Vec<String> = stage_tags.iter().map(|(_, t)| t.clone()).collect();
    images.push(tag.clone());
    let guard = Cleanup { host, container: container.clone(), images };
    let file = tempfile::NamedTempFile::new().expect("temp Dockerfile");
    std::fs::write(file.path(), text).expect("write Dockerfile");
    let path = file.path().to_string_lossy().into_owned();
    let context = context.to_string_lossy().into_owned();
    for (stage, stage_tag) in &stage_tags {
        docker_ok(host, &["build", "-q", "--target", stage, "-t", stage_tag, "-f", &path, &context]);
    }
    docker_ok(host, &["build", "-q", "--label", "rhone.test=1", "-t", &tag, "-f", &path, &context]);
    for _attempt in 0..3 {
        let port = unused_port();
        docker(host, &["rm", "-f", &container]);
        let env_port = format!("PORT={port}");
        docker_ok(host, &[
            "run", "-d", "--name", &container, "--label", "rhone.test=1", "--network", "host",
            "-e", &env_port, "-e", "HOST=127.0.0.1", &tag,
        ]);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some((200, _)) = get(port, "/") {
                return (port, guard);
            }
            let running = docker_ok(host, &["inspect", "-f", "{{.State.Running}}", &container]);
            if running != "true" {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let logs = docker(host, &["logs", &container]);
        eprintln!("{name} did not answer on port {port}:\n{}", String::from_utf8_lossy(&logs.stderr));
    }
    panic!("the image built from this Dockerfile never answered GET / with 200:\n{text}");
}

fn test_bases() -> BaseImages {
    let image = ImageRef::parse("image", TEST_IMAGE).expect("image name");
    BaseImages {
        go: image.clone(),
        node: image.clone(),
        python: image.clone(),
        rust: image.clone(),
        static_: image.clone(),
        runtime: image.clone(),
        deno: image,
    }
}

#[test]
fn a_generated_static_site_image_builds_runs_unprivileged_and_serves_on_port() {
    let host = engine();
    let repo = tempfile::tempdir().expect("temp dir");
    std::fs::write(repo.path().join("index.html"), "<h1>hello from a generated image</h1>\n").expect("index.html");
    // a build step with quotes, a backslash and a newline: it must run exactly as written
    let step = "printf '%s\\n' \"it's \\\"quoted\\\" \\\\ back\" > quoted.txt\nid -u > uid.txt";
    let overrides = Overrides { build_command: Some(step.into()), start_command: None, package: None, commands_at_root: false };
    let plan = detect(&DirView::new(repo.path()), &overrides).expect("plan");
    assert_eq!((&plan.provider, plan.static_root.as_deref()), (&Provider::Static, Some(".")));
    let text = dockerfile(&plan, &DirView::new(repo.path()), &test_bases()).expect("Dockerfile");

    let (port, guard) = build_and_run(&host, "generated-static", repo.path(), &text, &[]);
    assert_eq!(get(port, "/").map(|(_, body)| body), Some("<h1>hello from a generated image</h1>\n".into()));
    assert_eq!(get(port, "/quoted.txt"), Some((200, "it's \"quoted\" \\ back\n".into())));
    assert_eq!(get(port, "/uid.txt"), Some((200, "10001\n".into())), "build steps run as uid 10001");
    let user = docker_ok(&host, &["inspect", "-f", "{{.Config.User}}", &guard.container]);
    assert_eq!(user, "10001:10001");
}

#[test]
fn a_generated_two_stage_image_runs_its_start_command_from_the_run_stage() {
    let host = engine();
    let repo = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(repo.path().join("public")).expect("public");
    std::fs::write(repo.path().join("public/index.html"), "two stages\n").expect("index.html");
    // A Go-shaped plan (toolchain stage, then run stage) whose "compiler" is a shell script.
    let plan = BuildPlan::new(
        Provider::Go,
        vec!["mkdir -p .rhone && printf '#!/bin/sh\\nexec httpd -f -p \"$HOST:$PORT\" -h /app/public\\n' > .rhone/app && chmod +x .rhone/app".into()],
        Some("./.rhone/app".into()),
        None,
    );
    let text = dockerfile(&plan, &MemView::new(), &test_bases()).expect("Dockerfile");
    assert_eq!(text.matches("\nFROM ").count(), 2, "{text}");

    let (port, guard) = build_and_run(&host, "generated-two-stage", repo.path(), &text, &["build"]);
    assert_eq!(get(port, "/"), Some((200, "two stages\n".into())));
    let user = docker_ok(&host, &["inspect", "-f", "{{.Config.User}}", &guard.container]);
    assert_eq!(user, "10001:10001");
    let env = docker_ok(&host, &["inspect", "-f", "{{json .Config.Env}}", &guard.container]);
    assert!(env.contains(&format!("PORT={port}")) && env.contains("HOST=127.0.0.1"), "{env}");
}
