//! Build detection: a pure function over a read-only view of a checkout that decides how to build and
//! start an app.
//!
//! Each provider reads the repository (it never runs it) and returns a typed plan: build steps, how to
//! start, the tools and versions it needs (and where the repository says so), and why it chose each.
//! Rules, first match wins: Dockerfile (the docker runtime builds it; an error on the process runtime),
//! Procfile `web:` (with the language's build steps and a `release:` line), then the languages: Go,
//! Rust, Deno, Node, Python, a static site (`index.html`, `Staticfile`), a shell script (`start.sh`).
//! User overrides (build/start command) always win over what is detected.

pub mod dockerfile;
mod error;
mod node;
mod python;
mod simple;
mod view;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use dockerfile::{dockerfile, BaseImages, ImageRef};
pub use error::DetectError;
pub use view::{DirView, MemView, RepoView, SubView};

use error::invalid;

/// Build and start commands the user set in the app settings.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces the whole detected build list. Blank counts as unset.
    pub build_command: Option<String>,
    /// Replaces the detected start command (and skips the Dockerfile and Procfile). Blank counts as unset.
    pub start_command: Option<String>,
    /// The app is this package (a directory relative to the view's root) of the Node workspace at the
    /// view's root (see [`workspace_of`]); the plan's commands run in that package, or at the
    /// workspace root with `commands_at_root` (an image's build context is the workspace root).
    pub package: Option<String>,
    pub commands_at_root: bool,
}

/// If the app's root directory `root_dir` (relative to the checkout `repo`) is a package of an
/// enclosing Node workspace (a `package.json` with `workspaces`, or `pnpm-workspace.yaml`, that lists
/// it), the workspace root and the package's path inside it: detection then reads the workspace, and
/// installs and builds from its root.
pub fn workspace_of(repo: &dyn RepoView, root_dir: &str) -> Option<(String, String)> {
    let root_dir = root_dir.trim_matches('/').trim_start_matches("./");
    if root_dir.is_empty() || root_dir == "." {
        return None;
    }
    // the parents of root_dir, nearest first, ending with the checkout's root
    let mut parents = Vec::new();
    let mut current = root_dir;
    while let Some((parent, _)) = current.rsplit_once('/') {
        parents.push(parent);
        current = parent;
    }
    parents.push("");
    parents.into_iter().find_map(|parent| {
        let view = SubView::new(repo, parent);
        if !node::is_workspace_root(&view) {
            return None;
        }
        let package = root_dir.strip_prefix(parent).unwrap_or(root_dir).trim_start_matches('/').to_string();
        node::workspace_members(&view).contains(&package).then(|| (parent.to_string(), package))
    })
}

/// The provider (language or convention) that produced a [`BuildPlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Provider {
    /// A Dockerfile (not runnable yet: detection returns [`DetectError::Dockerfile`]).
    Dockerfile,
    /// A Procfile `web:` line supplies the start command.
    Procfile,
    /// A Go module (`go.mod`).
    Go,
    /// A Cargo package (`Cargo.toml`).
    Rust,
    /// A Node.js app (`package.json`).
    Node {
        /// Chosen from the lockfile.
        package_manager: PackageManager,
    },
    /// A Python app (`requirements.txt` or `pyproject.toml`).
    Python,
    /// A Deno app (`deno.json`).
    Deno,
    /// A static site (`index.html`, `Staticfile`) served by Rhone itself.
    Static,
    /// A shell script (`start.sh`).
    Shell,
    /// Nothing was detected; the user's start (and build) command is used as is.
    Custom,
}

impl Provider {
    /// A human-readable name for messages and the UI.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Dockerfile => "Dockerfile",
            Provider::Procfile => "Procfile",
            Provider::Go => "Go",
            Provider::Rust => "Rust",
            Provider::Node { .. } => "Node.js",
            Provider::Python => "Python",
            Provider::Deno => "Deno",
            Provider::Static => "static site",
            Provider::Shell => "shell script",
            Provider::Custom => "custom",
        }
    }
}

/// The Node.js package manager, chosen from the lockfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageManager {
    /// `package-lock.json` or no lockfile.
    Npm,
    /// `pnpm-lock.yaml`.
    Pnpm,
    /// Yarn 1 (`yarn.lock` of the classic format).
    Yarn,
    /// Yarn 2+ ("berry": `packageManager: yarn@4…`, `.yarnrc.yml`, or a `yarn.lock` with `__metadata`).
    YarnBerry,
    /// `bun.lockb` or `bun.lock`.
    Bun,
}

impl PackageManager {
    /// The command-line program (`npm`, `pnpm`, `yarn`, `bun`).
    pub fn program(self) -> &'static str {
        match self {
            PackageManager::Npm => "npm",
            PackageManager::Pnpm => "pnpm",
            PackageManager::Yarn | PackageManager::YarnBerry => "yarn",
            PackageManager::Bun => "bun",
        }
    }
}

/// How to build and start an app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildPlan {
    /// Who decided.
    pub provider: Provider,
    /// Shell commands run in order in the checkout (each run with `sh -c`); may be empty.
    pub build: Vec<String>,
    /// The shell command that starts the web process (it must listen on `$PORT`); `None` for Static.
    pub start: Option<String>,
    /// For Static: the directory (relative to the checkout) served by Rhone itself, e.g. `"."`.
    pub static_root: Option<String>,
    /// For Static: a path that names no file answers the site's `index.html` (a single-page app).
    #[serde(default, skip_serializing_if = "is_false")]
    pub spa_fallback: bool,
    /// Directories put first on `PATH` for the build steps, the release step and the app: relative
    /// ones lie in the app's directory (`.venv/bin`), absolute ones are toolchains Rhone provisioned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    /// Run once per deploy after the build and before the switch (a Procfile's `release:` line,
    /// Django's `migrate`); if it fails, the deploy fails and the old version keeps serving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The programs the plan runs, with the version the repository asks for and where it says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolReq>,
    /// Why the plan is what it is, one decision per line (shown in the build log and by `rhone plan`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl BuildPlan {
    /// A plan with only the essentials (the rest empty).
    pub fn new(provider: Provider, build: Vec<String>, start: Option<String>, static_root: Option<String>) -> BuildPlan {
        BuildPlan {
            provider,
            build,
            start,
            static_root,
            spa_fallback: false,
            path: Vec::new(),
            release: None,
            tools: Vec::new(),
            reasons: Vec::new(),
        }
    }
}

/// A program a build plan needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    Node,
    Npm,
    Yarn,
    Pnpm,
    Bun,
    Deno,
    Python,
    Uv,
    Poetry,
    Pdm,
    Pipenv,
    Go,
    Cargo,
    Sh,
    Bash,
}

impl Tool {
    /// The command-line program.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Node => "node",
            Tool::Npm => "npm",
            Tool::Yarn => "yarn",
            Tool::Pnpm => "pnpm",
            Tool::Bun => "bun",
            Tool::Deno => "deno",
            Tool::Python => "python3",
            Tool::Uv => "uv",
            Tool::Poetry => "poetry",
            Tool::Pdm => "pdm",
            Tool::Pipenv => "pipenv",
            Tool::Go => "go",
            Tool::Cargo => "cargo",
            Tool::Sh => "sh",
            Tool::Bash => "bash",
        }
    }

    /// The name people know it by.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Node => "Node.js",
            Tool::Python => "Python",
            Tool::Go => "Go",
            Tool::Cargo => "Rust (cargo)",
            Tool::Yarn => "Yarn",
            Tool::Pnpm => "pnpm",
            Tool::Bun => "Bun",
            Tool::Deno => "Deno",
            Tool::Poetry => "Poetry",
            Tool::Pdm => "PDM",
            Tool::Pipenv => "Pipenv",
            other => other.program(),
        }
    }
}

/// A tool a plan needs: which, the version the repository asks for (as written there: `1.22`,
/// `>=18`, `^20 || ^22`), and where it asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolReq {
    pub tool: Tool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where the requirement comes from, e.g. "go.mod (`go 1.22`)"; for a tool the plan needs
    /// without the repository naming a version, why it is needed ("yarn.lock").
    pub source: String,
}

impl ToolReq {
    pub fn any(tool: Tool, source: impl Into<String>) -> ToolReq {
        ToolReq { tool, version: None, source: source.into() }
    }

    pub fn version(tool: Tool, version: impl Into<String>, source: impl Into<String>) -> ToolReq {
        ToolReq { tool, version: Some(version.into()), source: source.into() }
    }
}

/// How a provider found to start the app.
#[derive(Debug)]
enum Start {
    /// A shell command.
    Command(String),
    /// A directory served by Rhone; `true` for a single-page app (unknown paths answer its index.html).
    Static(String, bool),
    /// The provider could not tell; the error explains what to add.
    Missing(DetectError),
}

/// What a language provider found.
#[derive(Debug)]
struct Detection {
    provider: Provider,
    build: Vec<String>,
    start: Start,
    path: Vec<String>,
    release: Option<String>,
    tools: Vec<ToolReq>,
    reasons: Vec<String>,
}

impl Detection {
    fn new(provider: Provider, build: Vec<String>, start: Start) -> Detection {
        Detection { provider, build, start, path: Vec::new(), release: None, tools: Vec::new(), reasons: Vec::new() }
    }

    fn because(mut self, reason: impl Into<String>) -> Detection {
        self.reasons.push(reason.into());
        self
    }

    fn needs(mut self, tool: ToolReq) -> Detection {
        self.tools.push(tool);
        self
    }
}

/// Decides how to build and start the app in `repo` (see the module docs for the rules).
pub fn detect(repo: &dyn RepoView, overrides: &Overrides) -> Result<BuildPlan, DetectError> {
    let build_override = non_blank(&overrides.build_command);
    let start_override = non_blank(&overrides.start_command);

    if start_override.is_none() && repo.is_file("Dockerfile") {
        return Err(DetectError::Dockerfile);
    }
    let language = match detect_language(repo, overrides.package.as_deref(), overrides.commands_at_root) {
        Ok(language) => language,
        // Both commands are given: a malformed manifest no longer matters.
        Err(_) if build_override.is_some() && start_override.is_some() => None,
        Err(e) => return Err(e),
    };
    let procfile = match start_override {
        Some(_) => None,
        None => simple::procfile(repo)?,
    };

    let mut plan = match (procfile, language) {
        (Some(procfile), language) if procfile.web.is_some() => {
            let mut plan = BuildPlan::new(Provider::Procfile, Vec::new(), procfile.web, None);
            if let Some(d) = language {
                plan.reasons = d.reasons;
                plan.build = d.build;
                plan.path = d.path;
                plan.tools = d.tools;
                plan.release = d.release;
            }
            plan.reasons.push("Procfile: its `web:` line starts the app".into());
            plan.release = procfile.release.or(plan.release);
            plan
        }
        (procfile, Some(d)) => {
            let (start, static_root, spa_fallback) = match d.start {
                Start::Command(cmd) => (Some(cmd), None, false),
                Start::Static(root, spa) => (None, Some(root), spa),
                Start::Missing(e) if start_override.is_none() => return Err(e),
                Start::Missing(_) => (None, None, false),
            };
            let release = procfile.and_then(|p| p.release).or(d.release);
            BuildPlan {
                provider: d.provider,
                build: d.build,
                start,
                static_root,
                spa_fallback,
                path: d.path,
                release,
                tools: d.tools,
                reasons: d.reasons,
            }
        }
        (_, None) if start_override.is_some() => BuildPlan::new(Provider::Custom, Vec::new(), None, None),
        (_, None) => return Err(DetectError::NothingDetected),
    };

    if let Some(build) = build_override {
        plan.reasons.push("the app's settings set the build command".into());
        plan.build = vec![build];
    }
    if let Some(start) = start_override {
        plan.reasons.push("the app's settings set the start command".into());
        plan.start = Some(start);
        plan.static_root = None;
        plan.spa_fallback = false;
    }
    Ok(plan)
}

/// The language providers, in order: the first that matches decides.
fn detect_language(repo: &dyn RepoView, package: Option<&str>, at_root: bool) -> Result<Option<Detection>, DetectError> {
    if let Some(d) = simple::go(repo)? {
        return Ok(Some(d));
    }
    if let Some(d) = simple::rust(repo)? {
        return Ok(Some(d));
    }
    if let Some(d) = simple::deno(repo)? {
        return Ok(Some(d));
    }
    if let Some(d) = node::detect(repo, package, at_root)? {
        return Ok(Some(d));
    }
    if let Some(d) = python::detect(repo)? {
        return Ok(Some(d));
    }
    if let Some(d) = simple::static_site(repo)? {
        return Ok(Some(d));
    }
    simple::shell(repo)
}

/// The trimmed value, or `None` if unset or blank.
fn non_blank(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// Reads a file detection depends on; a file that exists but cannot be read is an error.
fn read_text(repo: &dyn RepoView, rel: &str) -> Result<String, DetectError> {
    match repo.read_to_string(rel) {
        Some(text) => Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text)),
        None => Err(invalid(rel, "it is unreadable or not UTF-8 text")),
    }
}

/// Quotes `word` for `sh` if it contains anything but plain path characters.
fn sh_quote(word: &str) -> Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./@+=:,%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}
