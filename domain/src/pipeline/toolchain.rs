//! The tools a build plan needs, checked before the build runs: a program the host lacks, or whose
//! version does not match what the repository asks for, ends the deploy at detection with a message
//! that names the tool, the version, where the repository asks for it, and the ways out; never
//! `exit code 127` from a shell halfway through a build.
//!
//! Package managers and Python tools come from the package registries when the host lacks them or the
//! repository pins a version: Yarn and pnpm from the npm registry, uv, Poetry, PDM and Pipenv from
//! PyPI, each into `<tools dir>/<registry>/<name>@<version>/` (readable by every app, written only by
//! Rhone, reused by every later build). Installs run without package scripts (`--ignore-scripts`,
//! wheels only), and a directory counts only once its `.complete` marker is written, so a crash
//! mid-install is redone, never half-used.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::detect::{BuildPlan, Tool, ToolReq};
use crate::logs::LogSink;
use super::build::user_command;
use crate::runtime::sandbox::{Sandbox, DEFAULT_PATH};

/// How long a version check may take (`go version` on a cold cache is the slowest).
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);
/// How long installing one tool from a registry may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);

/// One install at a time: two deploys needing the same tool wait for the first to finish it.
static INSTALLING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where a tool comes from when Rhone provides it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// An npm package (its `node_modules/.bin` holds the program).
    Npm { package: &'static str },
    /// A PyPI package, installed into its own virtual environment.
    Pypi { package: &'static str },
}

impl Source {
    fn of(tool: Tool, version: Option<&str>) -> Option<Source> {
        Some(match tool {
            Tool::Yarn if version.is_some_and(|v| !v.starts_with("1.")) => Source::Npm { package: "@yarnpkg/cli-dist" },
            Tool::Yarn => Source::Npm { package: "yarn" },
            Tool::Pnpm => Source::Npm { package: "pnpm" },
            Tool::Uv => Source::Pypi { package: "uv" },
            Tool::Poetry => Source::Pypi { package: "poetry" },
            Tool::Pdm => Source::Pypi { package: "pdm" },
            Tool::Pipenv => Source::Pypi { package: "pipenv" },
            _ => return None,
        })
    }

    fn registry(&self) -> &'static str {
        match self {
            Source::Npm { .. } => "the npm registry",
            Source::Pypi { .. } => "PyPI",
        }
    }
}

/// Checks every tool of `plan` in the app's sandbox, installs the ones Rhone provides, and returns the
/// directories to put on `PATH` (absolute) for the build and the app. The error is the message shown
/// to the user.
pub async fn prepare(plan: &BuildPlan, workdir: &Path, sandbox: &Sandbox, tools_dir: &Path, log: &LogSink) -> Result<Vec<String>, String> {
    let mut path = Vec::new();
    let mut seen = Vec::new();
    for req in &plan.tools {
        if seen.contains(&req.tool) {
            continue;
        }
        seen.push(req.tool);
        let version = req.version.as_deref();
        let source = Source::of(req.tool, version);
        // a pinned package manager is used at exactly that version; an unpinned one from the host if it has one
        let host = match (&source, version) {
            (Some(_), Some(_)) => None,
            _ => host_version(req.tool, workdir, sandbox).await,
        };
        match (host, source) {
            (Some(found), _) => {
                check_version(req, &found)?;
                log.info(&format!("{} {}: found on the host", req.tool.name(), found.text));
            }
            (None, Some(source)) => {
                let bin = provision(req.tool, &source, version, tools_dir, log).await?;
                path.push(bin.to_string_lossy().into_owned());
            }
            (None, None) => return Err(missing(req)),
        }
    }
    Ok(path)
}

/// A version found on the host: the numbers and the program's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostVersion {
    pub numbers: Vec<u64>,
    pub text: String,
}

/// Runs `<program> --version` (`go version`) as the app would, or `None` if the program is missing.
async fn host_version(tool: Tool, workdir: &Path, sandbox: &Sandbox) -> Option<HostVersion> {
    let program = tool.program();
    let probe = match tool {
        Tool::Go => "go version".to_string(),
        Tool::Sh | Tool::Bash => format!("command -v {program}"),
        _ => format!("command -v {program} >/dev/null && {program} --version"),
    };
    let mut cmd = user_command(&probe, workdir, sandbox);
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(VERSION_TIMEOUT, cmd.output()).await.ok()?.ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string();
    Some(HostVersion { numbers: parse_version(&text).unwrap_or_default(), text })
}

/// The first dotted number in `text` (`v20.11.1` → 20.11.1, `go version go1.22.3 linux` → 1.22.3).
pub fn parse_version(text: &str) -> Option<Vec<u64>> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let numbers: Vec<u64> = text[start..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?
        .split('.')
        .take_while(|p| !p.is_empty())
        .map_while(|p| p.parse().ok())
        .collect();
    (!numbers.is_empty()).then_some(numbers)
}

/// Compares the host's version with the requirement; the error explains the mismatch.
fn check_version(req: &ToolReq, host: &HostVersion) -> Result<(), String> {
    let Some(wanted) = req.version.as_deref() else { return Ok(()) };
    let ok = match req.tool {
        // go.mod's `go` line and a Rust toolchain are minimums: newer ones build older code
        Tool::Go => satisfies(&format!(">={wanted}"), &host.numbers),
        Tool::Cargo => match wanted {
            "stable" => Some(true),
            w if w.starts_with("nightly") || w.starts_with("beta") => Some(host.text.contains(w.split('-').next().unwrap_or(w))),
            w => satisfies(&format!(">={w}"), &host.numbers),
        },
        _ => satisfies(wanted, &host.numbers),
    };
    match ok {
        Some(false) if !host.numbers.is_empty() => Err(format!(
            "This app asks for {name} {wanted} ({source}), but this host has {name} {have}. Install a matching {name} on \
             the host, or set the app's runtime to `docker`, whose image uses the version the app asks for.",
            name = req.tool.name(),
            source = req.source,
            have = host.numbers.iter().map(u64::to_string).collect::<Vec<_>>().join("."),
        )),
        // a requirement Rhone cannot read is not a reason to refuse the build
        _ => Ok(()),
    }
}

/// The message for a tool the host lacks and Rhone cannot provide.
fn missing(req: &ToolReq) -> String {
    let how = match req.tool {
        Tool::Go => " (on Debian: `apt-get install golang-go`)",
        Tool::Python => " (on Debian: `apt-get install python3 python3-venv`)",
        Tool::Node | Tool::Npm => " (on Debian: `apt-get install nodejs npm`)",
        Tool::Cargo => " (with rustup, or on Debian: `apt-get install cargo`)",
        _ => "",
    };
    let version = req.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
    format!(
        "This app needs {name}{version} ({source}), which is not installed on this host. Install it on the host{how}, \
         or set the app's runtime to `docker`, whose image brings it.",
        name = req.tool.name(),
        source = req.source,
    )
}

/// True if the version `have` satisfies `req`: npm ranges (`^20`, `>=18 <21`, `18.x`, `20 || 22`) and
/// PEP 440 specifiers (`>=3.9,<3.13`, `~=3.10`, `==3.11.*`); a bare version matches by prefix (`3.11`
/// matches 3.11.7). `None` if the requirement cannot be read.
pub fn satisfies(req: &str, have: &[u64]) -> Option<bool> {
    let mut any = false;
    for alternative in req.split("||") {
        let tokens = comparators(alternative)?;
        if tokens.is_empty() {
            return Some(true);
        }
        let mut all = true;
        for token in &tokens {
            all &= comparator(token, have)?;
        }
        any |= all;
    }
    Some(any)
}

/// The comparators of one alternative, an operator joined to its version (`>= 18` → `>=18`); a
/// hyphen range `1.2 - 2` becomes `>=1.2 <=2`.
fn comparators(alternative: &str) -> Option<Vec<String>> {
    let text = alternative.replace(',', " ");
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        if words.get(i + 1) == Some(&"-") {
            let upper = words.get(i + 2)?;
            out.push(format!(">={word}"));
            out.push(format!("<={upper}"));
            i += 3;
        } else if word.chars().all(|c| "<>=!~^".contains(c)) {
            out.push(format!("{word}{}", words.get(i + 1)?));
            i += 2;
        } else {
            out.push(word.to_string());
            i += 1;
        }
    }
    Some(out)
}

/// One comparator against `have`.
fn comparator(token: &str, have: &[u64]) -> Option<bool> {
    let split = token.find(|c: char| !"<>=!~^v".contains(c)).unwrap_or(token.len());
    let (op, version) = token.split_at(split);
    let op = op.trim_end_matches('v');
    // the numeric parts before a wildcard (`18.x`, `3.11.*`)
    let mut parts = Vec::new();
    for part in version.trim_start_matches('v').split('.') {
        if matches!(part, "x" | "X" | "*") {
            break;
        }
        parts.push(part.parse::<u64>().ok()?);
    }
    let at = |i: usize| have.get(i).copied().unwrap_or(0);
    let prefix = |n: usize| (0..n.min(parts.len())).all(|i| at(i) == parts[i]);
    let cmp = || {
        for (i, p) in parts.iter().enumerate() {
            match at(i).cmp(p) {
                std::cmp::Ordering::Equal => continue,
                other => return other,
            }
        }
        std::cmp::Ordering::Equal
    };
    use std::cmp::Ordering::*;
    Some(match op {
        "" | "=" | "==" => prefix(parts.len()),
        "!=" => !prefix(parts.len()),
        ">=" => cmp() != Less,
        ">" => cmp() == Greater,
        "<=" => cmp() != Greater,
        "<" => cmp() == Less,
        // ^1.2.3: same major (same minor below 1.0), not older
        "^" => {
            let keep = if parts.first() == Some(&0) { 2 } else { 1 };
            prefix(keep) && cmp() != Less
        }
        // ~1.2.3: same major.minor (same major for ~1), not older
        "~" => prefix(if parts.len() > 1 { 2 } else { 1 }) && cmp() != Less,
        // PEP 440 ~=3.9: >=3.9 and ==3.*; ~=3.9.1: >=3.9.1 and ==3.9.*
        "~=" if parts.len() >= 2 => prefix(parts.len() - 1) && cmp() != Less,
        _ => return None,
    })
}

/// Installs `tool` (at `version`, else the newest) from its registry unless already there; returns
/// the directory holding its program.
async fn provision(tool: Tool, source: &Source, version: Option<&str>, tools_dir: &Path, log: &LogSink) -> Result<PathBuf, String> {
    let version = version.unwrap_or("latest");
    let valid = version.chars().all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
    if !valid {
        return Err(format!("{} version {version:?} is not a version Rhone can install", tool.name()));
    }
    let (kind, package) = match source {
        Source::Npm { package } => ("npm", *package),
        Source::Pypi { package } => ("pypi", *package),
    };
    let dir = tools_dir.join(kind).join(format!("{}@{version}", package.replace('/', "+")));
    let bin = match source {
        Source::Npm { .. } => dir.join("node_modules/.bin"),
        Source::Pypi { .. } => dir.join("shim"),
    };
    let marker = dir.join(".complete");
    if marker.is_file() {
        log.info(&format!("{} {version}: installed by Rhone earlier ({})", tool.name(), dir.display()));
        return Ok(bin);
    }
    let _one_at_a_time = INSTALLING.lock().await;
    if marker.is_file() {
        return Ok(bin);
    }
    log.info(&format!("{} {version}: not on the host, installing it from {} into {}", tool.name(), source.registry(), dir.display()));
    let fail = |detail: String| {
        format!(
            "Rhone could not install {} {version} from {}: {detail}. Install it on the host, or set the app's runtime to `docker`.",
            tool.name(),
            source.registry()
        )
    };
    let _ = tokio::fs::remove_dir_all(&dir).await; // what a crash left half-done
    mkdir_shared(&dir).map_err(|e| fail(e.to_string()))?;
    let home = tools_dir.join(".home");
    mkdir_shared(&home).map_err(|e| fail(e.to_string()))?;
    let steps: Vec<Vec<String>> = match source {
        Source::Npm { package } => {
            let spec = if version == "latest" { package.to_string() } else { format!("{package}@{version}") };
            // run in the directory (not `--prefix`, which would also move npm's global config, and
            // with it the operator's registry and CA settings)
            std::fs::write(dir.join("package.json"), "{\"private\": true}\n").map_err(|e| fail(e.to_string()))?;
            vec![vec![
                "npm".into(),
                "install".into(),
                "--no-audit".into(),
                "--no-fund".into(),
                "--no-save".into(),
                "--no-package-lock".into(),
                "--ignore-scripts".into(),
                "--cache".into(),
                home.join("npm-cache").to_string_lossy().into_owned(),
                spec,
            ]]
        }
        Source::Pypi { package } => {
            let venv = dir.join("venv");
            let spec = if version == "latest" { package.to_string() } else { format!("{package}=={version}") };
            vec![
                vec!["python3".into(), "-m".into(), "venv".into(), venv.to_string_lossy().into_owned()],
                vec![
                    venv.join("bin/pip").to_string_lossy().into_owned(),
                    "install".into(),
                    "--disable-pip-version-check".into(),
                    "--no-cache-dir".into(),
                    "--only-binary=:all:".into(),
                    spec,
                ],
            ]
        }
    };
    for step in steps {
        let mut cmd = Command::new(&step[0]);
        cmd.args(&step[1..])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", DEFAULT_PATH)
            .env("HOME", &home)
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = match tokio::time::timeout(INSTALL_TIMEOUT, cmd.output()).await {
            Err(_) => return Err(fail(format!("it took longer than {} s", INSTALL_TIMEOUT.as_secs()))),
            Ok(Err(e)) => return Err(fail(format!("{} could not run ({e})", step[0]))),
            Ok(Ok(out)) => out,
        };
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = tail[tail.len().saturating_sub(3)..].join(" / ");
            return Err(fail(if tail.is_empty() { format!("{} exited with {}", step[0], out.status) } else { tail }));
        }
    }
    if let Source::Pypi { .. } = source {
        // only the tool's own program goes on PATH, not the venv's python and pip
        std::fs::create_dir_all(&bin).map_err(|e| fail(e.to_string()))?;
        std::os::unix::fs::symlink(dir.join("venv/bin").join(tool.program()), bin.join(tool.program())).map_err(|e| fail(e.to_string()))?;
    }
    if !bin.join(tool.program()).exists() {
        return Err(fail(format!("the package has no `{}` program", tool.program())));
    }
    open_up(&dir);
    std::fs::write(&marker, version).map_err(|e| fail(e.to_string()))?;
    log.info(&format!("{} {version}: installed", tool.name()));
    Ok(bin)
}

/// Creates `dir` (and parents) readable by everyone (0755).
fn mkdir_shared(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
}

/// Makes an installed tree readable (and its directories traversable) by app users, whatever umask
/// the installer used; never follows symlinks.
fn open_up(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(root) else { return };
    if meta.file_type().is_symlink() {
        return;
    }
    let mode = meta.permissions().mode();
    let wanted = if meta.is_dir() || mode & 0o100 != 0 { mode | 0o755 } else { mode | 0o644 };
    if wanted != mode {
        let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(wanted & 0o7777));
    }
    if meta.is_dir() {
        if let Ok(entries) = std::fs::read_dir(root) {
            for entry in entries.flatten() {
                open_up(&entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(req: &str, have: &[u64]) -> bool {
        satisfies(req, have).unwrap_or_else(|| panic!("{req} should parse"))
    }

    #[test]
    fn versions_are_read_from_program_output() {
        assert_eq!(parse_version("v20.11.1"), Some(vec![20, 11, 1]));
        assert_eq!(parse_version("go version go1.19.8 linux/amd64"), Some(vec![1, 19, 8]));
        assert_eq!(parse_version("Python 3.11.7"), Some(vec![3, 11, 7]));
        assert_eq!(parse_version("cargo 1.83.0 (5ffbef321 2024-10-29)"), Some(vec![1, 83, 0]));
        assert_eq!(parse_version("no digits"), None);
    }

    #[test]
    fn npm_ranges() {
        let node = [20, 11, 1];
        for yes in [">=18", "^20", "20.x", "20", "18 || 20", ">=18 <21", ">= 18.0.0", "~20.11", "18 - 20", "*", ""] {
            assert!(ok(yes, &node), "{yes} should accept 20.11.1");
        }
        for no in ["^18", ">=22", "18.x", "<20", "~20.10", "16 || 18", ">20.11.1", "22"] {
            assert!(!ok(no, &node), "{no} should refuse 20.11.1");
        }
    }

    #[test]
    fn pep440_specifiers() {
        let py = [3, 11, 7];
        for yes in [">=3.9", ">=3.9,<3.13", "~=3.10", "==3.11.*", "3.11", "3.11.7", "!=3.10.*"] {
            assert!(ok(yes, &py), "{yes} should accept 3.11.7");
        }
        for no in [">=3.12", "<3.11", "~=3.12", "==3.10.*", "3.12", "3.11.4", "!=3.11.*"] {
            assert!(!ok(no, &py), "{no} should refuse 3.11.7");
        }
    }

    #[test]
    fn unreadable_requirements_are_none() {
        assert_eq!(satisfies("lts/*", &[20]), None);
        assert_eq!(satisfies(">=", &[20]), None);
    }

    #[test]
    fn go_and_rust_versions_are_minimums() {
        let go = HostVersion { numbers: vec![1, 19, 8], text: "go version go1.19.8 linux/amd64".into() };
        assert!(check_version(&ToolReq::version(Tool::Go, "1.18", "go.mod"), &go).is_ok());
        let err = check_version(&ToolReq::version(Tool::Go, "1.22", "go.mod (`go 1.22`)"), &go).unwrap_err();
        assert!(err.contains("Go 1.22 (go.mod (`go 1.22`))") && err.contains("has Go 1.19.8") && err.contains("docker"), "{err}");
        let cargo = HostVersion { numbers: vec![1, 83, 0], text: "cargo 1.83.0".into() };
        assert!(check_version(&ToolReq::version(Tool::Cargo, "1.78", "rust-toolchain.toml"), &cargo).is_ok());
        assert!(check_version(&ToolReq::version(Tool::Cargo, "stable", "rust-toolchain.toml"), &cargo).is_ok());
        assert!(check_version(&ToolReq::version(Tool::Cargo, "nightly-2024-05-01", "rust-toolchain.toml"), &cargo).is_err());
    }

    #[test]
    fn a_missing_tool_names_itself_its_source_and_the_ways_out() {
        let msg = missing(&ToolReq::version(Tool::Go, "1.22", "go.mod (`go 1.22`)"));
        assert!(msg.contains("Go 1.22 (go.mod (`go 1.22`))"), "{msg}");
        assert!(msg.contains("apt-get install golang-go") && msg.contains("runtime to `docker`"), "{msg}");
        assert!(!msg.contains("127"));
    }

    #[test]
    fn only_package_managers_and_python_tools_are_provisioned() {
        assert_eq!(Source::of(Tool::Yarn, Some("1.22.22")), Some(Source::Npm { package: "yarn" }));
        assert_eq!(Source::of(Tool::Yarn, Some("4.1.0")), Some(Source::Npm { package: "@yarnpkg/cli-dist" }));
        assert_eq!(Source::of(Tool::Uv, None), Some(Source::Pypi { package: "uv" }));
        for host_only in [Tool::Go, Tool::Node, Tool::Python, Tool::Cargo, Tool::Bun, Tool::Deno] {
            assert_eq!(Source::of(host_only, None), None);
        }
    }
}
