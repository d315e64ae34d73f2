//! The small providers: Procfile, Go, Rust and static sites.

use super::{invalid, read_text, sh_quote, DetectError, Detection, Provider, RepoView, Start};

/// Rule 2: the command of the Procfile's `web:` line, if there is a Procfile with one.
pub(super) fn procfile_web(repo: &dyn RepoView) -> Result<Option<String>, DetectError> {
    if !repo.is_file("Procfile") {
        return Ok(None);
    }
    let text = read_text(repo, "Procfile")?;
    let web = text.lines().find_map(|line| {
        let (name, command) = line.split_once(':')?;
        (name.trim() == "web").then(|| command.trim().to_string())
    });
    match web {
        Some(command) if command.is_empty() => Err(invalid("Procfile", "its `web:` line has no command")),
        web => Ok(web),
    }
}

/// Rule 3: a Go module, built into `.rhone/app`.
pub(super) fn go(repo: &dyn RepoView) -> Option<Detection> {
    repo.is_file("go.mod").then(|| Detection {
        provider: Provider::Go,
        build: vec!["go build -o .rhone/app .".to_string()],
        start: Start::Command("./.rhone/app".to_string()),
    })
}

/// Rule 4: a Cargo package, started from its release binary.
pub(super) fn rust(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    if !repo.is_file("Cargo.toml") {
        return Ok(None);
    }
    let manifest = read_text(repo, "Cargo.toml")?;
    let start = match binary_name(&manifest) {
        Some(bin) => Start::Command(format!("./target/release/{}", sh_quote(&bin))),
        None => Start::Missing(DetectError::NoStartCommand { provider: Provider::Rust.name().to_string() }),
    };
    Ok(Some(Detection { provider: Provider::Rust, build: vec!["cargo build --release".to_string()], start }))
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

/// Rule 7: a static site with `index.html` at the root, served by Rhone.
pub(super) fn static_site(repo: &dyn RepoView) -> Option<Detection> {
    repo.is_file("index.html").then(|| Detection {
        provider: Provider::Static,
        build: Vec::new(),
        start: Start::Static(".".to_string()),
    })
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
