//! Rule order, Dockerfile, Procfile, Go, Rust, static, and overrides.

use super::*;

#[test]
fn dockerfile_without_override_is_a_clear_error() {
    let repo = MemView::new().file("Dockerfile", "FROM scratch").file("go.mod", "module x");
    assert_eq!(error(&repo), DetectError::Dockerfile);
    let message = DetectError::Dockerfile.to_string();
    assert!(message.contains("Dockerfile") && message.contains("runtime to `docker`"), "{message}");
    assert!(message.contains("remove or rename") && message.contains("start command"), "{message}");
}

#[test]
fn dockerfile_with_only_a_build_override_is_still_an_error() {
    let repo = MemView::new().file("Dockerfile", "FROM scratch");
    assert_eq!(detect(&repo, &overrides(Some("make"), None)), Err(DetectError::Dockerfile));
}

#[test]
fn start_override_skips_the_dockerfile_and_keeps_detecting() {
    let repo = MemView::new().file("Dockerfile", "FROM scratch").file("go.mod", "module x");
    let plan = detect(&repo, &overrides(None, Some("./.rhone/app --serve"))).expect("plan");
    assert_eq!(plan.provider, Provider::Go);
    assert_eq!(plan.build, cmds(&["GOTOOLCHAIN=local go build -o .rhone/app ."]));
    assert_eq!(plan.start.as_deref(), Some("./.rhone/app --serve"));
}

#[test]
fn procfile_web_line_is_the_start_command() {
    let repo = MemView::new().file("Procfile", "worker: ./work\r\nweb:   ./serve --port $PORT  \r\n");
    let plan = plan(&repo);
    assert_eq!(plan.provider, Provider::Procfile);
    assert_eq!(plan.start.as_deref(), Some("./serve --port $PORT"));
    assert!(plan.build.is_empty());
    assert_eq!(plan.static_root, None);
}

#[test]
fn procfile_node_app_keeps_the_node_build_steps() {
    let repo = MemView::new()
        .file("Procfile", "web: node dist/server.js")
        .file("package.json", &package_json(r#""dependencies": {"x": "1"}, "scripts": {"build": "tsc"}"#))
        .file("package-lock.json", "{}");
    let plan = plan(&repo);
    assert_eq!(plan.provider, Provider::Procfile);
    assert_eq!(plan.build, cmds(&["npm ci", "npm run build"]));
    assert_eq!(plan.start.as_deref(), Some("node dist/server.js"));
}

#[test]
fn procfile_without_web_line_falls_through_to_the_language() {
    let repo = MemView::new().file("Procfile", "worker: ./work").file("go.mod", "module x");
    assert_eq!(plan(&repo).provider, Provider::Go);
}

#[test]
fn procfile_with_an_empty_web_command_names_the_file() {
    let repo = MemView::new().file("Procfile", "web:   \n").file("go.mod", "module x");
    let err = error(&repo);
    assert!(matches!(&err, DetectError::InvalidFile { file, .. } if file == "Procfile"), "{err:?}");
    assert!(err.to_string().contains("Procfile"));
}

#[test]
fn unreadable_procfile_names_the_file() {
    let repo = MemView::new().unreadable("Procfile");
    assert!(matches!(error(&repo), DetectError::InvalidFile { file, .. } if file == "Procfile"));
}

#[test]
fn procfile_supplies_the_start_a_language_could_not_find() {
    let repo = MemView::new().file("Procfile", "web: node app.mjs").file("package.json", &package_json(""));
    let plan = plan(&repo);
    assert_eq!(plan.provider, Provider::Procfile);
    assert!(plan.build.is_empty());
    assert_eq!(plan.start.as_deref(), Some("node app.mjs"));
}

#[test]
fn start_override_replaces_the_procfile() {
    let repo = MemView::new().file("Procfile", "web: ./old").file("go.mod", "module x");
    let plan = detect(&repo, &overrides(None, Some("./new"))).expect("plan");
    assert_eq!((plan.provider, plan.start.as_deref()), (Provider::Go, Some("./new")));
}

#[test]
fn go_mod_builds_into_the_rhone_directory() {
    let plan = plan(&MemView::new().file("go.mod", "module example.com/app\n"));
    assert_eq!(plan.provider, Provider::Go);
    assert_eq!(plan.build, cmds(&["GOTOOLCHAIN=local go build -o .rhone/app ."]));
    assert_eq!(plan.start.as_deref(), Some("./.rhone/app"));
}

#[test]
fn go_wins_over_node_and_python() {
    let repo = MemView::new().file("go.mod", "module x").file("package.json", "{}").file("requirements.txt", "");
    assert_eq!(plan(&repo).provider, Provider::Go);
}

#[test]
fn cargo_package_name_is_the_release_binary() {
    let plan = plan(&MemView::new().file("Cargo.toml", "[package]\nname = \"hello-web\"\nversion = \"0.1.0\"\n"));
    assert_eq!(plan.provider, Provider::Rust);
    assert_eq!(plan.build, cmds(&["cargo build --release"]));
    assert_eq!(plan.start.as_deref(), Some("./target/release/hello-web"));
}

#[test]
fn cargo_bin_name_wins_over_the_package_name() {
    let repo = MemView::new().file("Cargo.toml", "[package]\nname = \"pkg\"\n[[bin]]\nname = \"web\"\n");
    assert_eq!(plan(&repo).start.as_deref(), Some("./target/release/web"));
}

#[test]
fn cargo_workspace_without_a_name_has_no_start_command() {
    let repo = MemView::new().file("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n");
    let err = error(&repo);
    assert_eq!(err, DetectError::NoStartCommand { provider: "Rust".into() });
    assert!(err.to_string().contains("workspace") && err.to_string().contains("start command"));
}

#[test]
fn index_html_is_served_by_rhone() {
    let plan = plan(&MemView::new().file("index.html", "<h1>hi</h1>"));
    assert_eq!(
        plan,
        BuildPlan {
            reasons: vec!["index.html at the top: a static site".into()],
            ..BuildPlan::new(Provider::Static, vec![], None, Some(".".into()))
        }
    );
}

#[test]
fn nothing_detected_lists_the_files_rhone_looks_for() {
    let err = error(&MemView::new().file("README.md", "# hi"));
    assert_eq!(err, DetectError::NothingDetected);
    let message = err.to_string();
    for file in ["Procfile", "go.mod", "Cargo.toml", "package.json", "requirements.txt", "pyproject.toml", "index.html"]
    {
        assert!(message.contains(file), "{file} missing from: {message}");
    }
    assert!(message.contains("build and start command"));
}

#[test]
fn build_override_replaces_the_whole_build() {
    let repo = MemView::new().file("go.mod", "module x");
    let plan = detect(&repo, &overrides(Some("make release"), None)).expect("plan");
    assert_eq!(plan.build, cmds(&["make release"]));
    assert_eq!(plan.start.as_deref(), Some("./.rhone/app"));
}

#[test]
fn start_override_wins_over_detection() {
    let repo = MemView::new().file("Cargo.toml", "[package]\nname = \"a\"\n");
    let plan = detect(&repo, &overrides(None, Some("./target/release/a --prod"))).expect("plan");
    assert_eq!(plan.provider, Provider::Rust);
    assert_eq!(plan.build, cmds(&["cargo build --release"]));
    assert_eq!(plan.start.as_deref(), Some("./target/release/a --prod"));
}

#[test]
fn start_override_turns_a_static_site_into_a_process() {
    let repo = MemView::new().file("index.html", "");
    let plan = detect(&repo, &overrides(None, Some("python3 -m http.server $PORT"))).expect("plan");
    assert_eq!(plan.provider, Provider::Static);
    assert_eq!((plan.start.as_deref(), plan.static_root), (Some("python3 -m http.server $PORT"), None));
}

#[test]
fn start_override_fixes_a_missing_start_command() {
    let repo = MemView::new().file("Cargo.toml", "[workspace]\n");
    let plan = detect(&repo, &overrides(None, Some("./target/release/web"))).expect("plan");
    assert_eq!((plan.provider, plan.start.as_deref()), (Provider::Rust, Some("./target/release/web")));
}

#[test]
fn start_override_with_nothing_detected_is_custom() {
    let repo = MemView::new().file("run.sh", "");
    let plan = detect(&repo, &overrides(Some("make"), Some("./run.sh"))).expect("plan");
    assert_eq!(
        plan,
        BuildPlan {
            reasons: vec!["the app's settings set the build command".into(), "the app's settings set the start command".into()],
            ..BuildPlan::new(Provider::Custom, cmds(&["make"]), Some("./run.sh".into()), None)
        }
    );
    let plan = detect(&repo, &overrides(None, Some("./run.sh"))).expect("plan");
    assert!(plan.build.is_empty());
}

#[test]
fn build_override_alone_does_not_make_an_app_startable() {
    assert_eq!(detect(&MemView::new(), &overrides(Some("make"), None)), Err(DetectError::NothingDetected));
}

#[test]
fn blank_overrides_are_ignored() {
    let repo = MemView::new().file("Dockerfile", "");
    assert_eq!(detect(&repo, &overrides(Some("  "), Some(""))), Err(DetectError::Dockerfile));
    let plan = detect(&MemView::new().file("go.mod", ""), &overrides(Some(" "), Some(" \t"))).expect("plan");
    assert_eq!(plan.start.as_deref(), Some("./.rhone/app"));
}

#[test]
fn both_overrides_make_a_malformed_manifest_irrelevant() {
    let repo = MemView::new().file("package.json", "{ not json");
    assert!(matches!(error(&repo), DetectError::InvalidFile { .. }));
    let plan = detect(&repo, &overrides(Some("make"), Some("./serve"))).expect("plan");
    assert_eq!(plan.provider, Provider::Custom);
}

#[test]
fn plan_round_trips_through_json_with_a_kind_tag() {
    let plan = BuildPlan {
        path: vec!["node_modules/.bin".into()],
        tools: vec![ToolReq::version(Tool::Pnpm, "9.1.0", "package.json")],
        release: Some("node migrate.js".into()),
        reasons: vec!["because".into()],
        ..BuildPlan::new(
            Provider::Node { package_manager: PackageManager::Pnpm },
            cmds(&["pnpm install --frozen-lockfile"]),
            Some("pnpm start".into()),
            None,
        )
    };
    let json = serde_json::to_value(&plan).expect("serialize");
    assert_eq!(json["provider"], serde_json::json!({"kind": "node", "package_manager": "pnpm"}));
    assert_eq!(serde_json::from_value::<BuildPlan>(json).expect("deserialize"), plan);
    for provider in [
        Provider::Dockerfile,
        Provider::Procfile,
        Provider::Go,
        Provider::Rust,
        Provider::Python,
        Provider::Static,
        Provider::Deno,
        Provider::Shell,
        Provider::Custom,
    ] {
        let json = serde_json::to_string(&provider).expect("serialize");
        assert_eq!(serde_json::from_str::<Provider>(&json).expect("deserialize"), provider);
    }
}
