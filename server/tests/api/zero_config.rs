//! Zero-config builds of real layouts: each test commits a repository shaped like what the framework or
//! tool generates, deploys it with no build or start command, and asks the live app through the proxy.
//! Dependencies and tools come from the package registries (PyPI, npm); the tools Rhone installs are
//! kept in one directory shared by these tests (and by later runs), as on a real installation.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Repo, TestApp};

/// Where the tests keep the build tools Rhone provisions: outside any private directory, so app users
/// reach it.
fn tools_dir() -> String {
    std::env::var("RHONE_TEST_TOOLS_DIR").unwrap_or_else(|_| "/var/tmp/rhone-test-tools".into())
}

async fn rhone() -> TestApp {
    let tools = tools_dir();
    std::fs::create_dir_all(&tools).expect("tools dir");
    spawn_app_with(&[("RHONE_TOOLS_DIR", tools.as_str()), ("RHONE_HEALTH_TIMEOUT_SECS", "60")]).await
}

/// Deploys `slug` and waits (installs from the registries take a while) until it is final.
async fn deploy(app: &TestApp, slug: &str) -> Value {
    let id = app.deploy(slug).await;
    app.wait_final_within(id, Duration::from_secs(360)).await
}

/// Creates the app from `files`, deploys it and expects it live; returns the deployment's build log.
async fn deploy_live(app: &TestApp, name: &str, files: &[(&str, &str)]) -> String {
    let repo = Repo::new(files);
    let created = app.create_app(name, &repo.path(), json!({})).await;
    let slug = created["slug"].as_str().expect("slug").to_string();
    let d = deploy(app, &slug).await;
    let log = app.build_log(d["id"].as_i64().expect("id")).await;
    assert_eq!(d["status"], "live", "{d}\n{log}");
    log
}

const STDLIB_SERVER: &str = r#"import os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = BODY().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"#;

/// A stdlib-only Python server whose answer is the expression `body` (Python source).
fn py_server(prelude: &str, body: &str) -> String {
    format!("{prelude}\ndef BODY():\n    return {body}\n{STDLIB_SERVER}")
}

#[tokio::test]
async fn a_flask_app_installs_its_requirements_and_is_served_by_flask() {
    let app = rhone().await;
    let app_py = "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/')\ndef hello():\n    return 'hello from flask'\n";
    let log = deploy_live(&app, "flasky", &[("requirements.txt", "flask==3.0.3\n"), ("app.py", app_py)]).await;
    assert!(log.contains("Flask is a dependency"), "the log says why: {log}");
    assert_eq!(app.via_proxy("flasky", "/").await, (StatusCode::OK, "hello from flask".into()));
    app.stop().await;
}

#[tokio::test]
async fn a_poetry_app_gets_its_dependencies_not_itself_built_as_a_package() {
    let app = rhone().await;
    // no `packages` and no package directory named like the project: `pip install .` or a plain
    // `poetry install` would fail trying to build the app itself
    let toml = "[tool.poetry]\nname = \"shop\"\nversion = \"0.1.0\"\ndescription = \"\"\nauthors = [\"t <t@example.com>\"]\n\n\
                [tool.poetry.dependencies]\npython = \">=3.9\"\nsix = \"1.16.0\"\n\n\
                [build-system]\nrequires = [\"poetry-core\"]\nbuild-backend = \"poetry.core.masonry.api\"\n";
    let main = py_server("import six", "'poetry six ' + six.__version__ + ' ' + sys.executable");
    let log = deploy_live(&app, "poetic", &[("pyproject.toml", toml), ("main.py", &main)]).await;
    assert!(log.contains("poetry install --only main --no-interaction --no-root"), "{log}");
    let (status, body) = app.via_proxy("poetic", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("poetry six 1.16.0 "), "{body}");
    assert!(body.contains("/.venv/bin/python"), "the app runs from its own venv: {body}");
    app.stop().await;
}

#[tokio::test]
async fn a_uv_app_runs_with_its_own_venv_first_on_path() {
    let app = rhone().await;
    let toml = "[project]\nname = \"uv-app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\ndependencies = []\n";
    let lock = "version = 1\nrequires-python = \">=3.9\"\n\n[[package]]\nname = \"uv-app\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n";
    let main = py_server("import shutil", "os.environ['PATH'].split(':')[0] + ' ' + shutil.which('python3')");
    let log = deploy_live(&app, "uvapp", &[("pyproject.toml", toml), ("uv.lock", lock), ("main.py", &main)]).await;
    assert!(log.contains("uv sync --frozen"), "{log}");
    let (status, body) = app.via_proxy("uvapp", "/").await;
    assert_eq!(status, StatusCode::OK);
    let (first, python) = body.split_once(' ').expect("two words");
    assert!(first.ends_with("/.venv/bin"), "PATH starts with the app's venv: {body}");
    assert!(python.starts_with(first), "python3 is the venv's: {body}");
    app.stop().await;
}

#[tokio::test]
async fn yarn_and_pnpm_are_provided_when_the_host_lacks_them() {
    let app = rhone().await;
    let server = "require('http').createServer((q, s) => s.end('pm ' + process.env.npm_config_user_agent.split(' ')[0])).listen(+process.env.PORT, '127.0.0.1');\n";
    let yarn_pkg = r#"{"name":"y","version":"1.0.0","scripts":{"start":"node server.js"}}"#;
    let log = deploy_live(&app, "yarny", &[("package.json", yarn_pkg), ("yarn.lock", "# yarn lockfile v1\n\n\n"), ("server.js", server)]).await;
    // (not a bare "127": the log's timestamps and ports may hold those digits)
    assert!(!log.contains("exit code 127") && !log.contains("command not found"), "{log}");
    let (status, body) = app.via_proxy("yarny", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("pm yarn/1."), "{body}");

    let pnpm_pkg = r#"{"name":"p","version":"1.0.0","packageManager":"pnpm@9.15.0","scripts":{"start":"node server.js"}}"#;
    let log = deploy_live(&app, "pnpmy", &[("package.json", pnpm_pkg), ("server.js", server)]).await;
    assert!(log.contains("pnpm 9.15.0"), "{log}");
    assert_eq!(app.via_proxy("pnpmy", "/").await, (StatusCode::OK, "pm pnpm/9.15.0".into()));
    app.stop().await;
}

#[tokio::test]
async fn a_vite_spa_is_built_and_served_with_a_fallback_to_index_html() {
    let app = rhone().await;
    let pkg = r#"{"name":"spa","private":true,"type":"module","scripts":{"dev":"vite","build":"vite build","preview":"vite preview"},"devDependencies":{"vite":"5.4.11"}}"#;
    let index = "<!doctype html><html><body><div id=\"app\">vite spa shell</div><script type=\"module\" src=\"/src/main.js\"></script></body></html>\n";
    let main = "document.getElementById('app').textContent = 'routed ' + location.pathname;\n";
    let log = deploy_live(&app, "spa", &[("package.json", pkg), ("index.html", index), ("src/main.js", main)]).await;
    assert!(log.contains("Vite: the build's dist/ is served by Rhone"), "{log}");
    let (status, home) = app.via_proxy("spa", "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("vite spa shell") && home.contains("/assets/"), "the built index: {home}");
    let (status, deep) = app.via_proxy("spa", "/users/42/settings").await;
    assert_eq!((status, deep.as_str()), (StatusCode::OK, home.as_str()), "a client-side route gets the app");
    assert_eq!(app.via_proxy("spa", "/assets/missing.js").await.0, StatusCode::NOT_FOUND, "a missing file stays 404");
    assert_eq!(app.via_proxy("spa", "/.env").await.0, StatusCode::NOT_FOUND, "hidden paths never fall back");
    app.stop().await;
}

#[tokio::test]
async fn a_staticfile_site_and_a_start_script_deploy() {
    let app = rhone().await;
    deploy_live(&app, "handbook", &[("Staticfile", "root: public\npushstate: enabled\n"), ("public/index.html", "<p>docs</p>"), ("README.md", "not served")])
        .await;
    assert_eq!(app.via_proxy("handbook", "/guide/intro").await, (StatusCode::OK, "<p>docs</p>".into()));
    assert_eq!(app.via_proxy("handbook", "/README.md").await.0, StatusCode::NOT_FOUND, "only the root is served");

    let script = "#!/bin/sh\nmkdir -p www && echo 'from start.sh' > www/index.html\nexec python3 -m http.server \"$PORT\" --bind 127.0.0.1 --directory www\n";
    let log = deploy_live(&app, "shelly", &[("start.sh", script)]).await;
    assert!(log.contains("start.sh: a shell script"), "{log}");
    assert_eq!(app.via_proxy("shelly", "/").await, (StatusCode::OK, "from start.sh\n".into()));
    app.stop().await;
}

#[tokio::test]
async fn a_go_module_builds_with_the_hosts_go() {
    let app = rhone().await;
    let main = "package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n\t\"os\"\n)\n\nfunc main() {\n\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, \"hello from go\") })\n\thttp.ListenAndServe(\"127.0.0.1:\"+os.Getenv(\"PORT\"), nil)\n}\n";
    deploy_live(&app, "gopher", &[("go.mod", "module example.com/web\n\ngo 1.19\n"), ("cmd/web/main.go", main)]).await;
    assert_eq!(app.via_proxy("gopher", "/").await, (StatusCode::OK, "hello from go".into()));
    app.stop().await;
}

#[tokio::test]
async fn a_toolchain_the_host_cannot_provide_fails_at_detection_with_the_ways_out() {
    let app = rhone().await;
    // Go newer than the host's: named with the version, the file that asks for it, and the docker way out
    let repo = Repo::new(&[("go.mod", "module example.com/new\n\ngo 1.99\n"), ("main.go", "package main\nfunc main() {}\n")]);
    app.create_app("future-go", &repo.path(), json!({})).await;
    let d = deploy(&app, "future-go").await;
    let err = d["error"].as_str().unwrap_or_default();
    assert_eq!(d["status"], "failed", "{d}");
    assert!(err.contains("Go 1.99 (go.mod (`go 1.99`))") && err.contains("runtime to `docker`"), "{err}");
    assert!(!err.contains("127"), "{err}");

    // a program nobody can install from a registry here
    let repo = Repo::new(&[("deno.json", "{\"tasks\":{\"start\":\"deno run main.ts\"}}"), ("main.ts", "")]);
    app.create_app("dino", &repo.path(), json!({})).await;
    let d = deploy(&app, "dino").await;
    let err = d["error"].as_str().unwrap_or_default();
    assert!(err.contains("needs Deno (deno.json), which is not installed on this host"), "{d}");
    app.stop().await;
}

#[tokio::test]
async fn a_release_step_runs_once_before_the_switch_and_its_failure_keeps_the_old_version() {
    let app = rhone().await;
    let procfile = "web: python3 app.py\nrelease: python3 migrate.py\n";
    let migrate = "import os\nprint('migrating', flush=True)\nopen(os.environ['HOME'] + '/migrations', 'a').write('ran\\n')\n";
    let v1 = py_server("", "'v1 after ' + str(open(os.environ['HOME'] + '/migrations').read().count('ran')) + ' migration(s)'");
    let repo = Repo::new(&[("Procfile", procfile), ("migrate.py", migrate), ("app.py", &v1), ("requirements.txt", "")]);
    app.create_app("migrator", &repo.path(), json!({})).await;
    let d = deploy(&app, "migrator").await;
    assert_eq!(d["status"], "live", "{d}");
    let log = app.build_log(d["id"].as_i64().expect("id")).await;
    assert!(log.contains("release step: $ python3 migrate.py") && log.contains("migrating"), "{log}");
    assert_eq!(app.via_proxy("migrator", "/").await, (StatusCode::OK, "v1 after 1 migration(s)".into()));

    repo.commit(&[("migrate.py", "import sys\nprint('the migration breaks', flush=True)\nsys.exit(4)\n"), ("app.py", &py_server("", "'v2'"))], "broken migration");
    let d = deploy(&app, "migrator").await;
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["error"].as_str().unwrap_or_default().contains("release step"), "{d}");
    assert_eq!(app.via_proxy("migrator", "/").await, (StatusCode::OK, "v1 after 1 migration(s)".into()), "the old version keeps serving");

    // a restart starts the live build again: no release step
    let (status, restart) = app.json(Method::POST, "/apps/migrator/restart", json!({})).await;
    assert!(status.is_success(), "{restart}");
    let restarted = app.wait_final(restart["id"].as_i64().expect("id")).await;
    assert_eq!(restarted["status"], "live", "{restarted}");
    assert_eq!(app.via_proxy("migrator", "/").await, (StatusCode::OK, "v1 after 1 migration(s)".into()));
    app.stop().await;
}

#[tokio::test]
async fn an_npm_workspace_deploys_its_app_from_the_root_or_from_the_package_directory() {
    let app = rhone().await;
    let files: &[(&str, &str)] = &[
        ("package.json", r#"{"name":"mono","private":true,"workspaces":["apps/*","packages/*"]}"#),
        ("packages/greet/package.json", r#"{"name":"@mono/greet","version":"1.0.0","main":"index.js"}"#),
        ("packages/greet/index.js", "module.exports = (who) => 'hello ' + who + ' from a workspace package';\n"),
        (
            "apps/api/package.json",
            r#"{"name":"@mono/api","version":"1.0.0","dependencies":{"@mono/greet":"1.0.0"},"scripts":{"build":"node -e \"require('fs').writeFileSync('built.txt', 'built')\"","start":"node server.js"}}"#,
        ),
        (
            "apps/api/server.js",
            "const greet = require('@mono/greet');\nconst built = require('fs').readFileSync('built.txt', 'utf8');\nrequire('http').createServer((q, s) => s.end(greet(process.cwd().endsWith('apps/api') ? built : 'wrong dir'))).listen(+process.env.PORT, '127.0.0.1');\n",
        ),
    ];
    // the whole repository: the workspace's only app is deployed
    let log = deploy_live(&app, "mono-root", files).await;
    assert!(log.contains("a workspace (monorepo) whose app is apps/api"), "{log}");
    assert_eq!(app.via_proxy("mono-root", "/").await, (StatusCode::OK, "hello built from a workspace package".into()));

    // the root directory points at the package: installed and built from the workspace root all the same
    let repo = Repo::new(files);
    app.create_app("mono-pkg", &repo.path(), json!({"root_dir": "apps/api"})).await;
    let d = deploy(&app, "mono-pkg").await;
    assert_eq!(d["status"], "live", "{d}");
    let log = app.build_log(d["id"].as_i64().expect("id")).await;
    assert!(log.contains("cd ../.. && npm install"), "{log}");
    assert_eq!(app.via_proxy("mono-pkg", "/").await, (StatusCode::OK, "hello built from a workspace package".into()));
    app.stop().await;
}
