//! Rule 5: Node.js.

use super::*;

const DEPS: &str = r#""dependencies": {"express": "^4"}, "scripts": {"start": "node server.js"}"#;

fn node(pm: PackageManager) -> Provider {
    Provider::Node { package_manager: pm }
}

#[test]
fn pnpm_lockfile_selects_pnpm() {
    let plan = plan(&MemView::new().file("package.json", &package_json(DEPS)).file("pnpm-lock.yaml", ""));
    assert_eq!(plan.provider, node(PackageManager::Pnpm));
    assert_eq!(plan.build, cmds(&["pnpm install --frozen-lockfile"]));
    assert_eq!(plan.start.as_deref(), Some("pnpm start"));
}

#[test]
fn yarn_lockfile_selects_yarn() {
    let plan = plan(&MemView::new().file("package.json", &package_json(DEPS)).file("yarn.lock", ""));
    assert_eq!(plan.provider, node(PackageManager::Yarn));
    assert_eq!(plan.build, cmds(&["yarn install --frozen-lockfile"]));
    assert_eq!(plan.start.as_deref(), Some("yarn start"));
}

#[test]
fn either_bun_lockfile_selects_bun() {
    for lockfile in ["bun.lockb", "bun.lock"] {
        let plan = plan(&MemView::new().file("package.json", &package_json(DEPS)).file(lockfile, ""));
        assert_eq!(plan.provider, node(PackageManager::Bun));
        assert_eq!(plan.build, cmds(&["bun install"]));
        assert_eq!(plan.start.as_deref(), Some("bun run start"));
    }
}

#[test]
fn npm_lockfile_installs_with_npm_ci() {
    let plan = plan(&MemView::new().file("package.json", &package_json(DEPS)).file("package-lock.json", "{}"));
    assert_eq!(plan.provider, node(PackageManager::Npm));
    assert_eq!(plan.build, cmds(&["npm ci"]));
    assert_eq!(plan.start.as_deref(), Some("npm start"));
}

#[test]
fn no_lockfile_installs_with_npm_install() {
    let plan = plan(&MemView::new().file("package.json", &package_json(DEPS)));
    assert_eq!(plan.provider, node(PackageManager::Npm));
    assert_eq!(plan.build, cmds(&["npm install"]));
}

#[test]
fn app_without_dependencies_skips_the_install_step() {
    for fields in [
        r#""scripts": {"start": "node s.js"}"#,
        r#""dependencies": {}, "devDependencies": {}, "scripts": {"start": "x"}"#,
    ] {
        let plan = plan(&MemView::new().file("package.json", &package_json(fields)).file("package-lock.json", "{}"));
        assert!(plan.build.is_empty(), "{fields}: {:?}", plan.build);
    }
}

#[test]
fn dev_dependencies_alone_still_install() {
    let repo = MemView::new()
        .file("package.json", &package_json(r#""devDependencies": {"vite": "5"}, "main": "s.js""#))
        .file("s.js", "");
    assert_eq!(plan(&repo).build, cmds(&["npm install"]));
}

#[test]
fn build_script_runs_after_the_install() {
    let fields = r#""devDependencies": {"vite": "5"}, "scripts": {"build": "vite build", "start": "vite preview"}"#;
    let plan = plan(&MemView::new().file("package.json", &package_json(fields)).file("yarn.lock", ""));
    assert_eq!(plan.build, cmds(&["yarn install --frozen-lockfile", "yarn run build"]));
}

#[test]
fn build_script_without_dependencies_runs_alone() {
    let plan = plan(
        &MemView::new()
            .file("package.json", &package_json(r#""scripts": {"build": "node gen.js", "start": "node out.js"}"#)),
    );
    assert_eq!(plan.build, cmds(&["npm run build"]));
}

#[test]
fn existing_main_file_is_started_with_node() {
    let repo = MemView::new()
        .file("package.json", &package_json(r#""main": "./src/app.js""#))
        .file("src/app.js", "")
        .file("index.js", "");
    assert_eq!(plan(&repo).start.as_deref(), Some("node src/app.js"));
}

#[test]
fn main_with_shell_characters_is_quoted() {
    let repo = MemView::new().file("package.json", &package_json(r#""main": "my app.js""#)).file("my app.js", "");
    assert_eq!(plan(&repo).start.as_deref(), Some("node 'my app.js'"));
}

#[test]
fn missing_main_falls_back_to_server_js_then_index_js() {
    let json = package_json(r#""main": "gone.js""#);
    let repo = MemView::new().file("package.json", &json).file("server.js", "").file("index.js", "");
    assert_eq!(plan(&repo).start.as_deref(), Some("node server.js"));
    let repo = MemView::new().file("package.json", &json).file("index.js", "");
    assert_eq!(plan(&repo).start.as_deref(), Some("node index.js"));
}

#[test]
fn blank_start_script_is_ignored() {
    let repo = MemView::new().file("package.json", &package_json(r#""scripts": {"start": " "}"#)).file("index.js", "");
    assert_eq!(plan(&repo).start.as_deref(), Some("node index.js"));
}

#[test]
fn node_app_without_a_way_to_start_is_a_clear_error() {
    let err = error(&MemView::new().file("package.json", &package_json(r#""scripts": {"build": "tsc"}"#)));
    assert_eq!(err, DetectError::NoStartCommand { provider: "Node.js".into() });
    let message = err.to_string();
    assert!(
        message.contains("\"start\" script") && message.contains("server.js") && message.contains("start command"),
        "{message}"
    );
}

#[test]
fn malformed_package_json_names_the_file() {
    let err = error(&MemView::new().file("package.json", "{\"name\": "));
    assert!(matches!(&err, DetectError::InvalidFile { file, .. } if file == "package.json"), "{err:?}");
    assert!(err.to_string().contains("package.json") && err.to_string().contains("not valid JSON"));
}

#[test]
fn package_json_must_be_an_object() {
    assert!(matches!(error(&MemView::new().file("package.json", "[1]")), DetectError::InvalidFile { .. }));
}

#[test]
fn package_json_with_a_byte_order_mark_parses() {
    let repo = MemView::new().file("package.json", &format!("\u{feff}{}", package_json(DEPS)));
    assert_eq!(plan(&repo).start.as_deref(), Some("npm start"));
}

fn monorepo() -> MemView {
    MemView::new()
        .file("package.json", r#"{"name":"m","private":true,"workspaces":["apps/*","packages/*"]}"#)
        .file("yarn.lock", "# yarn lockfile v1\n")
        .file("apps/api/package.json", r#"{"name":"@m/api","scripts":{"build":"tsc","start":"node dist/main.js"},"dependencies":{"express":"4"}}"#)
        .file("apps/web/package.json", r#"{"name":"@m/web","scripts":{"start":"node s.js"}}"#)
        .file("packages/lib/package.json", r#"{"name":"@m/lib","scripts":{"build":"tsc"}}"#)
        .file("tools/script.js", "")
}

#[test]
fn a_root_directory_inside_a_workspace_is_found_only_when_the_workspace_lists_it() {
    let repo = monorepo();
    assert_eq!(workspace_of(&repo, "apps/api"), Some((String::new(), "apps/api".into())));
    assert_eq!(workspace_of(&repo, "./apps/web/"), Some((String::new(), "apps/web".into())));
    assert_eq!(workspace_of(&repo, "tools"), None, "not a package of the workspace");
    assert_eq!(workspace_of(&repo, "."), None);
    let nested = MemView::new()
        .file("frontend/pnpm-workspace.yaml", "packages:\n  - 'apps/*'\n")
        .file("frontend/apps/shop/package.json", r#"{"name":"shop","scripts":{"start":"node ."}}"#);
    assert_eq!(workspace_of(&nested, "frontend/apps/shop"), Some(("frontend".into(), "apps/shop".into())));
}

#[test]
fn a_workspace_package_installs_and_builds_from_the_root_and_runs_in_the_package() {
    let repo = monorepo();
    let plan = detect(&repo, &Overrides { package: Some("apps/api".into()), ..Overrides::default() }).expect("plan");
    assert_eq!(plan.build, cmds(&["cd ../.. && yarn install --frozen-lockfile", "cd ../.. && yarn workspace @m/api run build"]));
    assert_eq!(plan.start.as_deref(), Some("yarn start"));
    assert_eq!(plan.path, cmds(&["node_modules/.bin", "../../node_modules/.bin"]));
}

#[test]
fn a_workspace_package_built_into_an_image_runs_everything_from_the_root() {
    let overrides = Overrides { package: Some("apps/api".into()), commands_at_root: true, ..Overrides::default() };
    let plan = detect(&monorepo(), &overrides).expect("plan");
    assert_eq!(plan.build, cmds(&["yarn install --frozen-lockfile", "yarn workspace @m/api run build"]));
    assert_eq!(plan.start.as_deref(), Some("cd apps/api && yarn start"));
}

#[test]
fn a_workspace_root_deploys_its_app_package_and_says_which() {
    let plan = plan(&monorepo());
    // two apps: `web` is the usual name; the library is never chosen
    assert_eq!(plan.start.as_deref(), Some("cd apps/web && yarn start"));
    assert!(plan.reasons.iter().any(|r| r.contains("several apps (apps/web, apps/api)") && r.contains("root directory")), "{:?}", plan.reasons);
    // a root with its own start script is the app itself
    let root_app = monorepo().file("package.json", r#"{"name":"m","workspaces":["apps/*"],"scripts":{"start":"node root.js"}}"#);
    assert_eq!(plan_of(&root_app).start.as_deref(), Some("yarn start"));
}

fn plan_of(repo: &MemView) -> BuildPlan {
    super::plan(repo)
}
