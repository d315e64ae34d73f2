//! Build detection: a pure function over a read-only view of a checkout that decides how to build and
//! start an app.
//!
//! Modelled on nixpacks' providers (one per language), with enums instead of strings. Rules, first match
//! wins: Dockerfile (an error for now), Procfile `web:`, Go, Rust, Node, Python, static `index.html`.
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
pub use view::{DirView, MemView, RepoView};

use error::invalid;

/// Build and start commands the user set in the app settings.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces the whole detected build list. Blank counts as unset.
    pub build_command: Option<String>,
    /// Replaces the detected start command (and skips the Dockerfile and Procfile). Blank counts as unset.
    pub start_command: Option<String>,
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
    /// A static site (`index.html`) served by Rhone itself.
    Static,
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
            Provider::Static => "static site",
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
    /// `yarn.lock`.
    Yarn,
    /// `bun.lockb` or `bun.lock`.
    Bun,
}

impl PackageManager {
    /// The command-line program (`npm`, `pnpm`, `yarn`, `bun`).
    pub fn program(self) -> &'static str {
        match self {
            PackageManager::Npm => "npm",
            PackageManager::Pnpm => "pnpm",
            PackageManager::Yarn => "yarn",
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
}

/// How a provider found to start the app.
#[derive(Debug)]
enum Start {
    /// A shell command.
    Command(String),
    /// A directory served by Rhone.
    Static(String),
    /// The provider could not tell; the error explains what to add.
    Missing(DetectError),
}

/// What a language provider (rules 3-7) found.
#[derive(Debug)]
struct Detection {
    provider: Provider,
    build: Vec<String>,
    start: Start,
}

/// Decides how to build and start the app in `repo` (see the module docs for the rules).
pub fn detect(repo: &dyn RepoView, overrides: &Overrides) -> Result<BuildPlan, DetectError> {
    let build_override = non_blank(&overrides.build_command);
    let start_override = non_blank(&overrides.start_command);

    if start_override.is_none() && repo.is_file("Dockerfile") {
        return Err(DetectError::Dockerfile);
    }
    let language = match detect_language(repo) {
        Ok(language) => language,
        // Both commands are given: a malformed manifest no longer matters.
        Err(_) if build_override.is_some() && start_override.is_some() => None,
        Err(e) => return Err(e),
    };
    let procfile = match start_override {
        Some(_) => None,
        None => simple::procfile_web(repo)?,
    };

    let mut plan = match (procfile, language) {
        (Some(web), language) => BuildPlan {
            provider: Provider::Procfile,
            build: language.map(|d| d.build).unwrap_or_default(),
            start: Some(web),
            static_root: None,
        },
        (None, Some(Detection { provider, build, start })) => {
            let (start, static_root) = match start {
                Start::Command(cmd) => (Some(cmd), None),
                Start::Static(root) => (None, Some(root)),
                Start::Missing(e) if start_override.is_none() => return Err(e),
                Start::Missing(_) => (None, None),
            };
            BuildPlan { provider, build, start, static_root }
        }
        (None, None) if start_override.is_some() => {
            BuildPlan { provider: Provider::Custom, build: Vec::new(), start: None, static_root: None }
        }
        (None, None) => return Err(DetectError::NothingDetected),
    };

    if let Some(build) = build_override {
        plan.build = vec![build];
    }
    if let Some(start) = start_override {
        plan.start = Some(start);
        plan.static_root = None;
    }
    Ok(plan)
}

/// Rules 3-7: the first language provider that matches.
fn detect_language(repo: &dyn RepoView) -> Result<Option<Detection>, DetectError> {
    if let Some(d) = simple::go(repo) {
        return Ok(Some(d));
    }
    if let Some(d) = simple::rust(repo)? {
        return Ok(Some(d));
    }
    if let Some(d) = node::detect(repo)? {
        return Ok(Some(d));
    }
    if let Some(d) = python::detect(repo)? {
        return Ok(Some(d));
    }
    Ok(simple::static_site(repo))
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
