//! Node.js apps (`package.json`): the package manager and its version (`packageManager`, else the
//! lockfile), the Node version (`engines.node`, `.nvmrc`, `.node-version`), then how to start: the
//! `start` script, a framework's server entry, `main`, `server.js`/`index.js`, or, for a single-page
//! app or a static export, its build output served by Rhone.

use serde_json::{Map, Value};

use super::{invalid, read_text, sh_quote, DetectError, Detection, PackageManager, Provider, RepoView, Start, SubView, Tool, ToolReq};

/// Detects a Node.js app (see the module docs); `package`: the app is that package of the workspace
/// at the view's root, and the plan's commands run in it.
pub(super) fn detect(repo: &dyn RepoView, package: Option<&str>, at_root: bool) -> Result<Option<Detection>, DetectError> {
    if !repo.is_file("package.json") {
        return Ok(None);
    }
    let text = read_text(repo, "package.json")?;
    let manifest: Value =
        serde_json::from_str(&text).map_err(|e| invalid("package.json", format!("it is not valid JSON ({e})")))?;
    let Value::Object(manifest) = manifest else {
        return Err(invalid("package.json", "it must be a JSON object"));
    };

    let (pm, pm_version, pm_why) = package_manager(repo, &manifest)?;
    if let Some(d) = workspace(repo, &manifest, pm, package, at_root, &pm_why)? {
        return Ok(Some(with_tools(d, repo, &manifest, pm, pm_version, &pm_why)?));
    }
    let provider = Provider::Node { package_manager: pm };
    let mut d = Detection::new(provider.clone(), Vec::new(), Start::Missing(DetectError::NoStartCommand {
        provider: provider.name().to_string(),
    }))
    .because(format!("package.json: a Node.js app; {pm_why}"));
    d = with_tools(d, repo, &manifest, pm, pm_version, &pm_why)?;
    d.path = vec!["node_modules/.bin".to_string()];
    if has_dependencies(&manifest) {
        d.build.push(install_command(repo, pm).to_string());
    }
    let has_build = has_script(&manifest, "build");
    if has_build {
        d.build.push(format!("{} run build", pm.program()));
    }
    let deps = Deps(&manifest);
    match start(repo, &manifest, &deps, pm, has_build) {
        Some((start, why)) => {
            d.start = plug_n_play(repo, pm, start, &mut d.reasons);
            d.reasons.push(why);
        }
        None if deps.has_any(&["vite", "react-scripts", "@angular/core", "astro", "next"]) && !has_build => {
            d.start = Start::Missing(invalid(
                "package.json",
                "it uses a front-end build tool but has no \"build\" script to produce the site",
            ));
        }
        None => {}
    }
    Ok(Some(d))
}

/// Adds Node and the package manager (with the versions the repository asks for) to `d`'s tools.
fn with_tools(mut d: Detection, repo: &dyn RepoView, manifest: &Map<String, Value>, pm: PackageManager, pm_version: Option<String>, pm_why: &str) -> Result<Detection, DetectError> {
    d.tools.push(node_version(repo, manifest)?);
    d.tools.push(match (pm, pm_version) {
        (PackageManager::Npm, _) => ToolReq::any(Tool::Npm, "package.json"),
        (pm, Some(v)) => ToolReq::version(pm_tool(pm), v.clone(), format!("package.json (`packageManager: {}@{v}`)", pm.program())),
        (pm, None) => ToolReq::any(pm_tool(pm), pm_why),
    });
    Ok(d)
}

/// True if the view's root is a Node workspace (monorepo) root.
pub(super) fn is_workspace_root(repo: &dyn RepoView) -> bool {
    repo.is_file("pnpm-workspace.yaml")
        || repo
            .read_to_string("package.json")
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|m| m.get("workspaces").is_some())
}

/// The package directories of the workspace at the view's root (`workspaces` of package.json, or
/// `packages:` of pnpm-workspace.yaml; `dir/*` and `dir/**` patterns), in order, each holding a
/// package.json.
pub(super) fn workspace_members(repo: &dyn RepoView) -> Vec<String> {
    let mut patterns: Vec<String> = Vec::new();
    if let Some(manifest) = repo.read_to_string("package.json").and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
        let list = match manifest.get("workspaces") {
            Some(Value::Array(list)) => Some(list),
            Some(Value::Object(o)) => o.get("packages").and_then(Value::as_array),
            _ => None,
        };
        patterns.extend(list.into_iter().flatten().filter_map(Value::as_str).map(str::to_string));
    }
    if let Some(yaml) = repo.read_to_string("pnpm-workspace.yaml") {
        let mut in_packages = false;
        for line in yaml.lines() {
            if !line.starts_with([' ', '\t', '-']) {
                in_packages = line.trim_end() == "packages:";
                continue;
            }
            if let Some(item) = line.trim().strip_prefix('-').filter(|_| in_packages) {
                patterns.push(item.trim().trim_matches(|c| c == '"' || c == '\'').to_string());
            }
        }
    }
    let mut dirs = Vec::new();
    for pattern in patterns {
        let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
        if pattern.starts_with('!') || pattern.split('/').any(|s| s == ".." || s.starts_with('.')) {
            continue;
        }
        let found: Vec<String> = match pattern.strip_suffix("/**").or_else(|| pattern.strip_suffix("/*")) {
            Some(parent) => repo.list_dir(parent).into_iter().filter(|(_, d)| *d).map(|(n, _)| super::simple::join(parent, &n)).collect(),
            None => vec![pattern.to_string()],
        };
        for dir in found {
            if repo.is_file(&super::simple::join(&dir, "package.json")) && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// True for a start script that runs the `start` of every workspace package (`pnpm -r run start`,
/// `npm start --workspaces`, `turbo start`, `lerna run start`): all of them would bind `$PORT`.
fn starts_every_package(script: &str) -> bool {
    let words: Vec<&str> = script.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    (words.first() == Some(&"pnpm") && (has("-r") || has("--recursive") || has("-w") && has("-r")))
        || has("--workspaces")
        || has("--ws")
        || (has("workspaces") && has("foreach"))
        || matches!(words.first(), Some(&"turbo") | Some(&"lerna"))
        || (words.first() == Some(&"nx") && has("run-many"))
}

/// Frameworks whose presence makes a workspace package an app (with a `build` script).
const APP_FRAMEWORKS: &[&str] =
    &["next", "nuxt", "astro", "@sveltejs/kit", "vite", "react-scripts", "@angular/core", "@vue/cli-service", "@tanstack/react-start"];

/// A workspace root: the app is `package` (the root directory points at it), else the package that
/// looks like an app (a `start` script, or a framework and a `build` script), preferring `apps/`
/// and the usual names. `None` when this is not a workspace or the root itself is the app.
fn workspace(
    repo: &dyn RepoView,
    root: &Map<String, Value>,
    pm: PackageManager,
    package: Option<&str>,
    at_root: bool,
    pm_why: &str,
) -> Result<Option<Detection>, DetectError> {
    // a root start script that starts every package at once (`pnpm -r start`) is no app of its own
    let root_app = script(root, "start").is_some_and(|s| !starts_every_package(s));
    if !is_workspace_root(repo) || (package.is_none() && root_app) {
        return Ok(None);
    }
    let members = workspace_members(repo);
    let manifests: Vec<(String, Map<String, Value>)> = members
        .iter()
        .filter_map(|dir| {
            let text = repo.read_to_string(&super::simple::join(dir, "package.json"))?;
            match serde_json::from_str(&text) {
                Ok(Value::Object(m)) => Some((dir.clone(), m)),
                _ => None,
            }
        })
        .collect();
    // a `start` that only recompiles on change (`tsc --watch`) is a library's, not an app's
    let serves = |m: &Map<String, Value>| script(m, "start").is_some_and(|s| !s.contains("--watch") && !s.starts_with("tsc"));
    let is_app = |m: &Map<String, Value>| serves(m) || (has_script(m, "build") && Deps(m).has_any(APP_FRAMEWORKS));
    let (chosen, why) = match package {
        Some(p) => match manifests.iter().find(|(dir, _)| dir == p) {
            Some(found) => (found, format!("the app's root directory is the workspace package {p}")),
            None => return Ok(None),
        },
        None => {
            let apps: Vec<&(String, Map<String, Value>)> = manifests.iter().filter(|(_, m)| is_app(m)).collect();
            let named = |names: &[&str]| names.iter().find_map(|n| apps.iter().copied().find(|(dir, _)| dir.rsplit('/').next() == Some(n)));
            let chosen = match apps.as_slice() {
                [] => return Ok(None),
                [only] => *only,
                _ => named(&["web", "app", "frontend", "site", "server", "api"])
                    .or_else(|| apps.iter().copied().find(|(dir, _)| dir.starts_with("apps/")))
                    .unwrap_or(apps[0]),
            };
            let others: Vec<&str> = apps.iter().filter(|(d, _)| d != &chosen.0).map(|(d, _)| d.as_str()).collect();
            let why = if others.is_empty() {
                format!("a workspace (monorepo) whose app is {}", chosen.0)
            } else {
                format!(
                    "a workspace (monorepo) with several apps ({}, {}): deploying {} (set the app's root directory to another package to deploy that one)",
                    chosen.0,
                    others.join(", "),
                    chosen.0
                )
            };
            (chosen, why)
        }
    };
    let (dir, manifest) = chosen;
    let name = manifest.get("name").and_then(Value::as_str).map(str::to_string);
    // the commands run in the package when the root directory points at it, else at the workspace root
    let depth = dir.split('/').count();
    let (up, down) = if package.is_some() && !at_root { (vec![".."; depth].join("/"), String::new()) } else { (String::new(), dir.clone()) };
    let at = |place: &str, cmd: String| if place.is_empty() { cmd } else { format!("cd {} && {cmd}", sh_quote(place)) };

    let provider = Provider::Node { package_manager: pm };
    let mut d = Detection::new(provider.clone(), Vec::new(), Start::Missing(DetectError::NoStartCommand { provider: provider.name().to_string() }))
        .because(format!("package.json: a Node.js workspace; {pm_why}"))
        .because(why);
    d.build.push(at(&up, install_command(repo, pm).to_string()));
    let has_build = has_script(manifest, "build");
    if has_build {
        let name_q = name.as_deref().map(|n| sh_quote(n).into_owned());
        let build = match (&name_q, pm) {
            (Some(n), _) if repo.is_file("turbo.json") => {
                d.reasons.push("turbo.json: Turborepo builds the app and the packages it depends on".into());
                format!("turbo run build --filter={n}")
            }
            (Some(n), _) if repo.is_file("nx.json") => {
                d.reasons.push("nx.json: Nx builds the app and the packages it depends on".into());
                format!("nx run {n}:build")
            }
            (_, PackageManager::Npm) => format!("npm run build --workspace={}", sh_quote(dir)),
            (Some(n), PackageManager::Pnpm) => format!("pnpm --filter {n}... run build"),
            (Some(n), PackageManager::Yarn | PackageManager::YarnBerry) => format!("yarn workspace {n} run build"),
            _ => format!("cd {} && {} run build", sh_quote(dir), pm.program()),
        };
        d.build.push(at(&up, build));
    }
    let sub = SubView::new(repo, dir);
    if let Some((start, why)) = start(&sub, manifest, &Deps(manifest), pm, has_build) {
        let start = plug_n_play(repo, pm, start, &mut d.reasons);
        d.start = match start {
            Start::Command(cmd) => Start::Command(at(&down, cmd)),
            Start::Static(root, spa) => Start::Static(super::simple::join(&down, &root), spa),
            missing => missing,
        };
        d.reasons.push(why);
    }
    d.path = vec![super::simple::join(&down, "node_modules/.bin"), super::simple::join(&up, "node_modules/.bin")];
    d.path.dedup();
    Ok(Some(d))
}

/// Yarn 2+ installs with Plug'n'Play unless `.yarnrc.yml` sets another `nodeLinker`: there is no
/// `node_modules`, so a command that is not a Yarn script runs through `yarn` (which provides the
/// resolution).
fn plug_n_play(repo: &dyn RepoView, pm: PackageManager, start: Start, reasons: &mut Vec<String>) -> Start {
    if pm != PackageManager::YarnBerry {
        return start;
    }
    let linker = repo.read_to_string(".yarnrc.yml").and_then(|t| {
        t.lines().find_map(|l| l.trim().strip_prefix("nodeLinker:").map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string()))
    });
    if linker.as_deref().is_some_and(|l| l != "pnp") {
        return start;
    }
    match start {
        Start::Command(cmd) if !cmd.starts_with("yarn ") => {
            reasons.push("Yarn Plug'n'Play (no node_modules): the start runs through yarn".into());
            Start::Command(format!("yarn {cmd}"))
        }
        other => other,
    }
}

fn pm_tool(pm: PackageManager) -> Tool {
    match pm {
        PackageManager::Npm => Tool::Npm,
        PackageManager::Pnpm => Tool::Pnpm,
        PackageManager::Yarn | PackageManager::YarnBerry => Tool::Yarn,
        PackageManager::Bun => Tool::Bun,
    }
}

/// The package manager, its version when `packageManager` names one, and why.
fn package_manager(repo: &dyn RepoView, manifest: &Map<String, Value>) -> Result<(PackageManager, Option<String>, String), DetectError> {
    if let Some(field) = manifest.get("packageManager").and_then(Value::as_str) {
        // `pnpm@9.1.0+sha512.abc`: the name, then the version without its hash
        let (name, version) = field.split_once('@').unwrap_or((field, ""));
        let version = version.split('+').next().unwrap_or("").trim().to_string();
        let valid = !version.is_empty() && version.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
        if !valid {
            return Err(invalid("package.json", format!("its packageManager {field:?} is not `<name>@<version>`")));
        }
        let pm = match name {
            "npm" => PackageManager::Npm,
            "pnpm" => PackageManager::Pnpm,
            "yarn" if version.starts_with("1.") => PackageManager::Yarn,
            "yarn" => PackageManager::YarnBerry,
            "bun" => PackageManager::Bun,
            other => return Err(invalid("package.json", format!("its packageManager names {other:?}, which Rhone does not know"))),
        };
        return Ok((pm, Some(version), format!("packageManager names {name} {field_version}", field_version = field.split('+').next().unwrap_or(field).trim_start_matches(name).trim_start_matches('@'))));
    }
    let found = if repo.is_file("pnpm-lock.yaml") {
        (PackageManager::Pnpm, "pnpm-lock.yaml")
    } else if repo.is_file("yarn.lock") {
        let berry = repo.is_file(".yarnrc.yml") || repo.read_to_string("yarn.lock").is_some_and(|l| l.contains("__metadata:"));
        (if berry { PackageManager::YarnBerry } else { PackageManager::Yarn }, "yarn.lock")
    } else if repo.is_file("bun.lockb") || repo.is_file("bun.lock") {
        (PackageManager::Bun, "bun.lock")
    } else if repo.is_file("package-lock.json") {
        (PackageManager::Npm, "package-lock.json")
    } else {
        return Ok((PackageManager::Npm, None, "no lockfile: npm".to_string()));
    };
    let name = if found.0 == PackageManager::YarnBerry { "yarn 2+".to_string() } else { found.0.program().to_string() };
    Ok((found.0, None, format!("{}: {name}", found.1)))
}

/// The Node version the repository asks for: `engines.node`, `.nvmrc`, `.node-version`.
fn node_version(repo: &dyn RepoView, manifest: &Map<String, Value>) -> Result<ToolReq, DetectError> {
    if let Some(v) = manifest.get("engines").and_then(|e| e.get("node")).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty()) {
        return Ok(ToolReq::version(Tool::Node, v, format!("package.json (`engines.node: \"{v}\"`)")));
    }
    for file in [".nvmrc", ".node-version"] {
        if repo.is_file(file) {
            let text = read_text(repo, file)?;
            let v = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
            let v = v.trim_start_matches('v');
            // `lts/*` and `node` name no version Rhone can check
            if !v.is_empty() && v.starts_with(|c: char| c.is_ascii_digit()) {
                return Ok(ToolReq::version(Tool::Node, v, format!("{file} (`{v}`)")));
            }
        }
    }
    Ok(ToolReq::any(Tool::Node, "package.json"))
}

/// The install step, reproducible from the lockfile where there is one.
fn install_command(repo: &dyn RepoView, pm: PackageManager) -> &'static str {
    match pm {
        PackageManager::Npm if repo.is_file("package-lock.json") || repo.is_file("npm-shrinkwrap.json") => "npm ci",
        PackageManager::Npm => "npm install",
        PackageManager::Pnpm if repo.is_file("pnpm-lock.yaml") => "pnpm install --frozen-lockfile",
        PackageManager::Pnpm => "pnpm install",
        PackageManager::Yarn if repo.is_file("yarn.lock") => "yarn install --frozen-lockfile",
        PackageManager::Yarn => "yarn install",
        PackageManager::YarnBerry if repo.is_file("yarn.lock") => "yarn install --immutable",
        PackageManager::YarnBerry => "yarn install",
        PackageManager::Bun => "bun install",
    }
}

/// True unless `dependencies`, `devDependencies` and `optionalDependencies` are all absent or empty,
/// so an app without dependencies builds offline.
fn has_dependencies(manifest: &Map<String, Value>) -> bool {
    ["dependencies", "devDependencies", "optionalDependencies"].iter().any(|key| match manifest.get(*key) {
        None | Some(Value::Null) => false,
        Some(Value::Object(deps)) => !deps.is_empty(),
        Some(_) => true,
    })
}

/// The names in `dependencies` and `devDependencies`.
struct Deps<'a>(&'a Map<String, Value>);

impl Deps<'_> {
    fn has(&self, name: &str) -> bool {
        ["dependencies", "devDependencies"].iter().any(|key| self.0.get(*key).and_then(|d| d.get(name)).is_some())
    }

    fn has_any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.has(n))
    }
}

/// `scripts.<name>` if it is a non-blank string.
fn script<'a>(manifest: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    manifest.get("scripts").and_then(|s| s.get(name)).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn has_script(manifest: &Map<String, Value>, name: &str) -> bool {
    script(manifest, name).is_some()
}

/// The text of the first of `files` that exists.
fn first_text(repo: &dyn RepoView, files: &[&str]) -> Option<String> {
    files.iter().find_map(|f| repo.read_to_string(f))
}

/// True if a config file sets `output` to `value` (`output: 'export'`, `output: "server"`).
fn sets_output(config: &str, value: &str) -> bool {
    let compact: String = config.chars().filter(|c| !c.is_whitespace()).collect();
    ["'", "\"", "`"].iter().any(|q| compact.contains(&format!("output:{q}{value}{q}")))
}

/// How to start: a framework's own server or static output, the `start` script, `main`, then
/// `server.js`/`index.js`; with the reason.
fn start(repo: &dyn RepoView, manifest: &Map<String, Value>, deps: &Deps, pm: PackageManager, has_build: bool) -> Option<(Start, String)> {
    let spa = |dir: &str, why: String| Some((Start::Static(dir.to_string(), true), why));
    let start_script = script(manifest, "start");
    // a dev or preview server ignores $PORT: the built site is what should be served
    let dev_server = start_script.is_some_and(|s| {
        let words: Vec<&str> = s.split_whitespace().collect();
        matches!(
            words.as_slice(),
            ["vite", ..] | ["react-scripts", "start", ..] | ["ng", "serve", ..] | ["vue-cli-service", "serve", ..]
        )
    });

    if has_build && (start_script.is_none() || dev_server) {
        let why = |tool: &str, dir: &str| {
            let what = if dev_server { "its start script runs a development server, which does not listen on $PORT: " } else { "" };
            format!("{tool}: {what}the build's {dir}/ is served by Rhone, unknown paths answer index.html (single-page app)")
        };
        if deps.has("next") {
            let config = first_text(repo, &["next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs"]).unwrap_or_default();
            if sets_output(&config, "export") {
                return Some((Start::Static("out".into(), false), "Next.js with `output: 'export'`: the static export in out/ is served by Rhone".into()));
            }
            return Some((
                Start::Command("next start --port $PORT --hostname ${HOST:-127.0.0.1}".into()),
                "Next.js: `next start` serves the build".into(),
            ));
        }
        if deps.has("nuxt") || deps.has("@tanstack/react-start") || deps.has("@tanstack/start") {
            let name = if deps.has("nuxt") { "Nuxt" } else { "TanStack Start" };
            return Some((Start::Command("node .output/server/index.mjs".into()), format!("{name}: the built server .output/server/index.mjs")));
        }
        if deps.has("astro") {
            let config = first_text(repo, &["astro.config.mjs", "astro.config.ts", "astro.config.js"]).unwrap_or_default();
            if sets_output(&config, "server") {
                return Some((Start::Command("node ./dist/server/entry.mjs".into()), "Astro with `output: 'server'`: the built server dist/server/entry.mjs".into()));
            }
            return Some((Start::Static("dist".into(), false), "Astro: the static site in dist/ is served by Rhone".into()));
        }
        if deps.has("@sveltejs/kit") {
            if deps.has("@sveltejs/adapter-node") {
                return Some((Start::Command("node build".into()), "SvelteKit with adapter-node: the built server in build/".into()));
            }
            if deps.has("@sveltejs/adapter-static") {
                return spa("build", why("SvelteKit with adapter-static", "build"));
            }
        }
        if deps.has("@angular/core") {
            if let Some(dir) = angular_output(repo) {
                return spa(&dir, why("Angular", &dir));
            }
        }
        if deps.has("react-scripts") {
            return spa("build", why("Create React App", "build"));
        }
        if deps.has("@vue/cli-service") {
            return spa("dist", why("Vue CLI", "dist"));
        }
        if deps.has("vite") {
            return spa("dist", why("Vite", "dist"));
        }
    }
    if let Some(script) = start_script {
        // NestJS: `nest start` compiles again with the dev CLI; the scaffold's start:prod runs the build
        if script.starts_with("nest start") && has_build && has_script(manifest, "start:prod") {
            let cmd = format!("{} run start:prod", pm.program());
            return Some((Start::Command(cmd), "NestJS: its start:prod script runs the build (start recompiles)".into()));
        }
        let cmd = match pm {
            PackageManager::Bun => "bun run start".to_string(),
            pm => format!("{} start", pm.program()),
        };
        return Some((Start::Command(cmd), format!("its start script: {script}")));
    }
    let main = manifest.get("main").and_then(Value::as_str).map(|m| m.trim().trim_start_matches("./"));
    if let Some(main) = main.filter(|m| !m.is_empty()) {
        if repo.is_file(main) || repo.is_file(&format!("{main}.js")) {
            // A leading `-` would be read as a node option.
            let main = if main.starts_with('-') { format!("./{main}") } else { main.to_string() };
            return Some((Start::Command(format!("node {}", sh_quote(&main))), format!("its main file {main}")));
        }
    }
    ["server.js", "index.js"]
        .into_iter()
        .find(|f| repo.is_file(f))
        .map(|f| (Start::Command(format!("node {f}")), format!("{f} is the entry point")))
}

/// The directory an Angular build writes the browser files to: `outputPath` of the first project in
/// angular.json (plus `browser/` for the application builder of Angular 17+).
fn angular_output(repo: &dyn RepoView) -> Option<String> {
    let json: Value = serde_json::from_str(&repo.read_to_string("angular.json")?).ok()?;
    let projects = json.get("projects")?.as_object()?;
    let name = json.get("defaultProject").and_then(Value::as_str).filter(|n| projects.contains_key(*n));
    let (name, project) = match name {
        Some(n) => (n, projects.get(n)?),
        None => projects.iter().next().map(|(k, v)| (k.as_str(), v))?,
    };
    let build = project.get("architect").and_then(|a| a.get("build"))?;
    let builder = build.get("builder").and_then(Value::as_str).unwrap_or("");
    let output = build.get("options").and_then(|o| o.get("outputPath"));
    let application = builder.ends_with(":application");
    let dir = match output {
        Some(Value::String(s)) => s.trim_end_matches('/').to_string(),
        Some(Value::Object(o)) => {
            let base = o.get("base").and_then(Value::as_str)?.trim_end_matches('/');
            let browser = o.get("browser").and_then(Value::as_str).unwrap_or("browser");
            return Some(if browser.is_empty() { base.to_string() } else { format!("{base}/{browser}") });
        }
        _ => format!("dist/{name}"),
    };
    Some(if application { format!("{dir}/browser") } else { dir })
}
