//! Rule 5: Node.js apps (`package.json`).

use serde_json::{Map, Value};

use super::{invalid, read_text, sh_quote, DetectError, Detection, PackageManager, Provider, RepoView, Start};

/// Detects a Node.js app: install (if it has dependencies), `build` script, then how to start it.
pub(super) fn detect(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    if !repo.is_file("package.json") {
        return Ok(None);
    }
    let text = read_text(repo, "package.json")?;
    let manifest: Value =
        serde_json::from_str(&text).map_err(|e| invalid("package.json", format!("it is not valid JSON ({e})")))?;
    let Value::Object(manifest) = manifest else {
        return Err(invalid("package.json", "it must be a JSON object"));
    };

    let pm = package_manager(repo);
    let provider = Provider::Node { package_manager: pm };
    let mut build = Vec::new();
    if has_dependencies(&manifest) {
        build.push(install_command(repo, pm).to_string());
    }
    if has_script(&manifest, "build") {
        build.push(format!("{} run build", pm.program()));
    }
    let start = match start_command(repo, &manifest, pm) {
        Some(cmd) => Start::Command(cmd),
        None => Start::Missing(DetectError::NoStartCommand { provider: provider.name().to_string() }),
    };
    Ok(Some(Detection { provider, build, start }))
}

/// The package manager whose lockfile is present (npm when there is none).
fn package_manager(repo: &dyn RepoView) -> PackageManager {
    if repo.is_file("pnpm-lock.yaml") {
        PackageManager::Pnpm
    } else if repo.is_file("yarn.lock") {
        PackageManager::Yarn
    } else if repo.is_file("bun.lockb") || repo.is_file("bun.lock") {
        PackageManager::Bun
    } else {
        PackageManager::Npm
    }
}

/// The install step, reproducible from the lockfile where there is one.
fn install_command(repo: &dyn RepoView, pm: PackageManager) -> &'static str {
    match pm {
        PackageManager::Npm if repo.is_file("package-lock.json") || repo.is_file("npm-shrinkwrap.json") => "npm ci",
        PackageManager::Npm => "npm install",
        PackageManager::Pnpm => "pnpm install --frozen-lockfile",
        PackageManager::Yarn => "yarn install --frozen-lockfile",
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

/// True if `scripts.<name>` is a non-blank string.
fn has_script(manifest: &Map<String, Value>, name: &str) -> bool {
    manifest
        .get("scripts")
        .and_then(|scripts| scripts.get(name))
        .and_then(Value::as_str)
        .is_some_and(|script| !script.trim().is_empty())
}

/// The `start` script, else `node <main>`, else `node server.js` / `node index.js`.
fn start_command(repo: &dyn RepoView, manifest: &Map<String, Value>, pm: PackageManager) -> Option<String> {
    if has_script(manifest, "start") {
        return Some(match pm {
            PackageManager::Bun => "bun run start".to_string(),
            pm => format!("{} start", pm.program()),
        });
    }
    let main = manifest.get("main").and_then(Value::as_str).map(|m| m.trim().trim_start_matches("./"));
    if let Some(main) = main.filter(|m| !m.is_empty()) {
        if repo.is_file(main) || repo.is_file(&format!("{main}.js")) {
            // A leading `-` would be read as a node option.
            let main = if main.starts_with('-') { format!("./{main}") } else { main.to_string() };
            return Some(format!("node {}", sh_quote(&main)));
        }
    }
    ["server.js", "index.js"].into_iter().find(|f| repo.is_file(f)).map(|f| format!("node {f}"))
}
