//! The small providers: Procfile, Go, Rust, Deno, static sites and shell scripts.

use super::{invalid, read_text, sh_quote, DetectError, Detection, Provider, RepoView, Start, Tool, ToolReq};

/// The process lines of a Procfile that Rhone uses.
#[derive(Debug, Default)]
pub(super) struct Procfile {
    pub web: Option<String>,
    pub release: Option<String>,
}

/// The Procfile's `web:` and `release:` lines, if there is a Procfile.
pub(super) fn procfile(repo: &dyn RepoView) -> Result<Option<Procfile>, DetectError> {
    if !repo.is_file("Procfile") {
        return Ok(None);
    }
    let text = read_text(repo, "Procfile")?;
    let mut found = Procfile::default();
    for line in text.lines() {
        let Some((name, command)) = line.split_once(':') else { continue };
        let (name, command) = (name.trim(), command.trim());
        let slot = match name {
            "web" => &mut found.web,
            "release" => &mut found.release,
            _ => continue,
        };
        if command.is_empty() {
            return Err(invalid("Procfile", format!("its `{name}:` line has no command")));
        }
        slot.get_or_insert_with(|| command.to_string());
    }
    Ok(Some(found))
}

/// Go: a module (`go.mod`) or a workspace (`go.work`), built into `.rhone/app`. The package built is
/// the module's root if it is a `main` package, else one of `cmd/<name>`.
pub(super) fn go(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    let (manifest, is_work) = match (repo.is_file("go.mod"), repo.is_file("go.work")) {
        (true, _) => ("go.mod", false),
        (false, true) => ("go.work", true),
        (false, false) => return Ok(None),
    };
    let text = read_text(repo, manifest)?;
    let version = text.lines().find_map(|l| l.trim().strip_prefix("go ").map(|v| v.trim().to_string()));
    let module = text.lines().find_map(|l| l.trim().strip_prefix("module ").map(|m| m.trim().trim_matches('"').to_string()));
    // the directories holding modules: the root, or the workspace's `use` entries
    let roots: Vec<String> = if is_work { go_work_uses(&text) } else { vec![String::new()] };
    let mut mains = Vec::new();
    for root in &roots {
        if is_main_package(repo, root) {
            mains.push(root.clone());
        }
        let cmd = join(root, "cmd");
        for (name, is_dir) in repo.list_dir(&cmd) {
            let dir = join(&cmd, &name);
            if is_dir && is_main_package(repo, &dir) {
                mains.push(dir);
            }
        }
    }
    let tool = match &version {
        Some(v) => ToolReq::version(Tool::Go, v.clone(), format!("{manifest} (`go {v}`)")),
        None => ToolReq::any(Tool::Go, manifest),
    };
    let mut detection = Detection::new(Provider::Go, Vec::new(), Start::Command("./.rhone/app".to_string()))
        .because(format!("{manifest}: a Go {}", if is_work { "workspace" } else { "module" }))
        .needs(tool);
    let package = match mains.as_slice() {
        // no `package main` found where Rhone looks: the module's root, and `go build` says what is wrong
        [] => roots.first().cloned().unwrap_or_default(),
        [only] => only.clone(),
        several => {
            // the one named like the module, else a usual server name, else the first
            let last = module.as_deref().and_then(|m| m.rsplit('/').next()).unwrap_or("");
            let named = |n: &str| several.iter().find(|d| d.rsplit('/').next() == Some(n)).cloned();
            let chosen = named(last)
                .or_else(|| ["server", "web", "api", "app"].iter().find_map(|n| named(n)))
                .unwrap_or_else(|| several[0].clone());
            detection = detection.because(format!(
                "several main packages ({}): building {} (set a build and start command to choose another)",
                several.iter().map(|d| if d.is_empty() { "." } else { d.as_str() }).collect::<Vec<_>>().join(", "),
                if chosen.is_empty() { "." } else { chosen.as_str() }
            ));
            chosen
        }
    };
    let target = if package.is_empty() { ".".to_string() } else { format!("./{package}") };
    detection = detection.because(format!("the main package is {target}"));
    // GOTOOLCHAIN=local: never download another Go (a newer `go` line is reported before the build)
    detection.build = vec![format!("GOTOOLCHAIN=local go build -o .rhone/app {}", sh_quote(&target))];
    if repo.is_file("Procfile") {
        // a Procfile names the binary as Heroku's Go buildpack installs it: `bin/<name>`, on PATH
        let name = if package.is_empty() { module.as_deref().and_then(|m| m.rsplit('/').next()) } else { package.rsplit('/').next() };
        if let Some(name) = name.filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))) {
            detection.build.push(format!("mkdir -p bin && cp .rhone/app bin/{name}"));
            detection.path = vec!["bin".to_string()];
            detection = detection.because(format!("with a Procfile: the binary is also bin/{name}, on PATH"));
        }
    }
    Ok(Some(detection))
}

/// The directories a `go.work` file uses (`use ./a` and `use ( ./a ./b )`), relative, without `./`.
fn go_work_uses(text: &str) -> Vec<String> {
    let (mut dirs, mut block) = (Vec::new(), false);
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        let entry = if block {
            if line == ")" {
                block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("use") {
            let rest = rest.trim();
            if rest == "(" {
                block = true;
                continue;
            }
            rest
        } else {
            continue;
        };
        let dir = entry.trim_matches('"').trim_start_matches("./").trim_end_matches('/');
        if !entry.is_empty() && !dir.contains("..") {
            dirs.push(if dir == "." { String::new() } else { dir.to_string() });
        }
    }
    dirs
}

/// True if `dir` holds a `.go` file (not a test) of `package main`.
fn is_main_package(repo: &dyn RepoView, dir: &str) -> bool {
    repo.list_dir(dir).iter().any(|(name, is_dir)| {
        !is_dir
            && name.ends_with(".go")
            && !name.ends_with("_test.go")
            && repo.read_to_string(&join(dir, name)).is_some_and(|text| {
                text.lines().map(str::trim).any(|l| l == "package main" || l.starts_with("package main "))
            })
    })
}

/// `dir/name`, or `name` at the root.
pub(super) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Rust: a Cargo package, or a workspace with one binary (or one the root names), started from its
/// release binary; the toolchain from `rust-toolchain.toml`.
pub(super) fn rust(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    if !repo.is_file("Cargo.toml") {
        return Ok(None);
    }
    let manifest = read_text(repo, "Cargo.toml")?;
    let mut detection = Detection::new(Provider::Rust, vec!["cargo build --release".to_string()], Start::Missing(
        DetectError::NoStartCommand { provider: Provider::Rust.name().to_string() },
    ))
    .because("Cargo.toml: Rust");
    detection.tools.push(rust_toolchain(repo)?);
    let bin = match binary_name(&manifest) {
        Some(bin) => {
            detection = detection.because(format!("the release binary {bin}"));
            if uses_rocket(&manifest) {
                detection = detection.because("Rocket reads its port from ROCKET_PORT, not PORT: the start sets it");
            }
            detection.start = Start::Command(rocket_env(&manifest, format!("./target/release/{}", sh_quote(&bin))));
            return Ok(Some(detection));
        }
        None => {
            let bins = workspace_binaries(repo, &manifest);
            match bins.as_slice() {
                [] => None,
                [only] => {
                    detection = detection.because(format!("a workspace whose only binary is {only}"));
                    Some(only.clone())
                }
                several => {
                    let chosen = ["server", "web", "api", "app"]
                        .iter()
                        .find_map(|n| several.iter().find(|b| b == n))
                        .unwrap_or(&several[0])
                        .clone();
                    detection = detection.because(format!(
                        "a workspace with several binaries ({}): running {chosen} (set a start command \
                         `./target/release/<name>` to choose another)",
                        several.join(", ")
                    ));
                    Some(chosen)
                }
            }
        }
    };
    if let Some(bin) = bin {
        detection.build = vec![format!("cargo build --release --bin {}", sh_quote(&bin))];
        detection.start = Start::Command(rocket_env(&manifest, format!("./target/release/{}", sh_quote(&bin))));
    }
    Ok(Some(detection))
}

/// True if the manifest depends on Rocket (which ignores `$PORT`).
fn uses_rocket(manifest: &str) -> bool {
    manifest.lines().any(|l| {
        let l = l.trim();
        (l.starts_with("rocket") && l["rocket".len()..].trim_start().starts_with(['=', '.'])) || l == "[dependencies.rocket]"
    })
}

/// `command` with Rocket's address and port taken from Rhone's when the app uses Rocket.
fn rocket_env(manifest: &str, command: String) -> String {
    if uses_rocket(manifest) {
        format!("ROCKET_PORT=$PORT ROCKET_ADDRESS=${{HOST:-127.0.0.1}} {command}")
    } else {
        command
    }
}

/// The Rust toolchain `rust-toolchain.toml` (or the older `rust-toolchain`) asks for.
fn rust_toolchain(repo: &dyn RepoView) -> Result<ToolReq, DetectError> {
    for file in ["rust-toolchain.toml", "rust-toolchain"] {
        if !repo.is_file(file) {
            continue;
        }
        let text = read_text(repo, file)?;
        let channel = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("channel").and_then(|v| v.split_once('=')).and_then(|(_, v)| toml_string(v)))
            .or_else(|| {
                let only = text.trim();
                (!only.is_empty() && !only.contains('[') && !only.contains('\n')).then(|| only.to_string())
            });
        if let Some(channel) = channel {
            return Ok(ToolReq::version(Tool::Cargo, channel.clone(), format!("{file} (`{channel}`)")));
        }
    }
    Ok(ToolReq::any(Tool::Cargo, "Cargo.toml"))
}

/// The binaries of a workspace's members (`members = ["a", "crates/*"]`), in order.
fn workspace_binaries(repo: &dyn RepoView, manifest: &str) -> Vec<String> {
    let mut members = Vec::new();
    let (mut section, mut in_members) = (String::new(), false);
    for line in manifest.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').filter(|_| !in_members) {
            section = header.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string();
            continue;
        }
        let rest = if in_members {
            line
        } else if section == "workspace" && line.starts_with("members") {
            match line.split_once('=') {
                Some((_, v)) => {
                    in_members = true;
                    v.trim().trim_start_matches('[')
                }
                None => continue,
            }
        } else {
            continue;
        };
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                ']' => in_members = false,
                '"' | '\'' => members.push(chars.by_ref().take_while(|d| *d != c).collect::<String>()),
                _ => {}
            }
        }
    }
    let mut dirs = Vec::new();
    for member in members {
        let member = member.trim_start_matches("./").trim_end_matches('/').to_string();
        if member.contains("..") {
            continue;
        }
        match member.strip_suffix("/*") {
            Some(parent) => dirs.extend(repo.list_dir(parent).into_iter().filter(|(_, d)| *d).map(|(n, _)| join(parent, &n))),
            None => dirs.push(member),
        }
    }
    dirs.iter()
        .filter_map(|dir| {
            let text = repo.read_to_string(&join(dir, "Cargo.toml"))?;
            let has_bin = text.contains("[[bin]]") || repo.is_file(&join(dir, "src/main.rs"));
            has_bin.then(|| binary_name(&text)).flatten()
        })
        .collect()
}

/// The binary `cargo run` would start: `[package] default-run`, else the first `[[bin]] name`, else the
/// `[package] name`. A line-based reading of the manifest, enough for the usual layouts.
fn binary_name(manifest: &str) -> Option<String> {
    let (mut section, mut package, mut default_run, mut bin) = (String::new(), None, None, None);
    for line in manifest.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            section = header.trim_start_matches('[').split(']').next().unwrap_or("").trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let Some(value) = toml_string(value) else { continue };
        match (section.as_str(), key.trim()) {
            ("package", "name") => package = package.or(Some(value)),
            ("package", "default-run") => default_run = default_run.or(Some(value)),
            ("bin", "name") => bin = bin.or(Some(value)),
            _ => {}
        }
    }
    default_run.or(bin).or(package).filter(|name| !name.is_empty())
}

/// The contents of a TOML basic or literal string value (`"x"` or `'x'`), ignoring what follows it.
fn toml_string(value: &str) -> Option<String> {
    let value = value.trim();
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &value[1..];
    rest.find(quote).map(|end| rest[..end].to_string())
}

/// Deno: `deno.json(c)`; its `start` task, else `main.ts` (or `server.ts`, `main.js`) run with network,
/// env and read permissions.
pub(super) fn deno(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    let Some(config) = ["deno.json", "deno.jsonc"].into_iter().find(|f| repo.is_file(f)) else { return Ok(None) };
    let text = read_text(repo, config)?;
    // deno.jsonc may hold comments: a whole-line `//` comment is dropped before parsing
    let json: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let has_start = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| v.get("tasks").and_then(|t| t.get("start")).map(|s| s.is_string()))
        .unwrap_or(false);
    let detection = Detection::new(Provider::Deno, Vec::new(), Start::Missing(DetectError::NoStartCommand {
        provider: Provider::Deno.name().to_string(),
    }))
    .because(format!("{config}: a Deno app"))
    .needs(ToolReq::any(Tool::Deno, config));
    let start = if has_start {
        Some(("deno task start".to_string(), format!("{config} has a `start` task")))
    } else {
        ["main.ts", "server.ts", "main.js", "server.js"].into_iter().find(|f| repo.is_file(f)).map(|f| {
            (format!("deno run --allow-net --allow-env --allow-read {f}"), format!("{f} is the entry point"))
        })
    };
    Ok(Some(match start {
        Some((cmd, why)) => Detection { start: Start::Command(cmd), ..detection }.because(why),
        None => detection,
    }))
}

/// A static site served by Rhone: `index.html` at the root, or a `Staticfile` (`root: <dir>`,
/// `pushstate: enabled` or `fallback: index.html` for a single-page app).
pub(super) fn static_site(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    if repo.is_file("Staticfile") {
        let text = read_text(repo, "Staticfile")?;
        let (mut root, mut spa) = (".".to_string(), false);
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else { continue };
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            match key.trim() {
                "root" if !value.is_empty() => root = value.trim_start_matches("./").trim_end_matches('/').to_string(),
                "pushstate" => spa = value == "enabled",
                "fallback" => spa = !value.is_empty(),
                _ => {}
            }
        }
        if root.split('/').any(|s| s == ".." || s.starts_with('.') && s != ".") || root.starts_with('/') {
            return Err(invalid("Staticfile", format!("its root {root:?} must be a directory inside the repository")));
        }
        let root = if root.is_empty() { ".".to_string() } else { root };
        let mut d = Detection::new(Provider::Static, Vec::new(), Start::Static(root.clone(), spa))
            .because(format!("Staticfile: a static site served from {root}"));
        if spa {
            d = d.because("Staticfile: unknown paths answer index.html (single-page app)");
        }
        return Ok(Some(d));
    }
    Ok(repo.is_file("index.html").then(|| {
        Detection::new(Provider::Static, Vec::new(), Start::Static(".".to_string(), false))
            .because("index.html at the top: a static site")
    }))
}

/// A shell script: `start.sh` at the top, run with the shell its first line names (`sh` otherwise).
pub(super) fn shell(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    if !repo.is_file("start.sh") {
        return Ok(None);
    }
    let text = read_text(repo, "start.sh")?;
    let first = text.lines().next().unwrap_or("");
    let tool = if first.starts_with("#!") && first.contains("bash") { Tool::Bash } else { Tool::Sh };
    Ok(Some(
        Detection::new(Provider::Shell, Vec::new(), Start::Command(format!("{} start.sh", tool.program())))
            .because(format!("start.sh: a shell script, run with {}", tool.program()))
            .needs(ToolReq::any(tool, "start.sh")),
    ))
}

#[cfg(test)]
mod tests {
    use super::binary_name;

    #[test]
    fn cargo_bin_name_beats_package_name() {
        let manifest =
            "[package]\nname = \"pkg\"\n\n[[bin]]\nname = \"server\" # the web one\npath = \"src/main.rs\"\n";
        assert_eq!(binary_name(manifest).as_deref(), Some("server"));
    }

    #[test]
    fn cargo_default_run_beats_bins() {
        let manifest =
            "[package]\nname = 'pkg'\ndefault-run = \"web\"\n[[bin]]\nname = \"cli\"\n[[bin]]\nname = \"web\"\n";
        assert_eq!(binary_name(manifest).as_deref(), Some("web"));
    }

    #[test]
    fn cargo_names_in_other_sections_are_ignored() {
        let manifest = "[workspace]\nmembers = [\"a\"]\n[dependencies]\nname = \"x\"\n[lib]\nname = \"l\"\n";
        assert_eq!(binary_name(manifest), None);
    }
}
