//! What the server functions exchange with the browser: the shared records of `wire`, and the few
//! shapes only the dashboard uses (`domain` itself only exists in the server build).

use serde::{Deserialize, Serialize};

pub use wire::{ApiToken, AppListItem, AppOverview, Deployment, QueuedBuild, RuntimeStatus, User};

/// The signed-in account, with a warning about the installation shown on every page (e.g. apps
/// share Rhone's uid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub user: User,
    pub platform_warning: Option<String>,
}

/// An app as its page shows it: with the team that owns it and the caller's role there (the page
/// offers only what the role allows; the server decides every action again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAccess {
    pub app: wire::App,
    pub team: String,
    pub team_name: String,
    pub role: wire::Role,
}

/// The apps of one team, with the caller's role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamApps {
    pub team: wire::MyTeam,
    pub apps: Vec<wire::AppListItem>,
}

/// The app form (new app and settings). Form inputs are named `fields[<name>]`; blank means "not
/// given" (or "clear" for branch, build and start command in the settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppFields {
    pub name: String,
    /// New apps only; blank: derived from the name.
    #[serde(default)]
    pub slug: String,
    /// New apps only: a checkbox, `on` to skip asking the repository first ("create anyway").
    #[serde(default)]
    pub anyway: String,
    pub repo_url: String,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub root_dir: String,
    #[serde(default)]
    pub build_command: String,
    #[serde(default)]
    pub start_command: String,
    #[serde(default)]
    pub health_check_path: String,
    /// `process`, `docker`, or blank / `auto` for the installation's default.
    #[serde(default)]
    pub runtime: String,
    /// Cores (`0.5`); blank: no limit.
    #[serde(default)]
    pub cpu_limit: String,
    #[serde(default)]
    pub memory_limit_mb: String,
    #[serde(default)]
    pub replicas: String,
    #[serde(default)]
    pub drain_timeout_secs: String,
    #[serde(default)]
    pub stop_timeout_secs: String,
    /// A checkbox: present (`on`) when checked.
    #[serde(default)]
    pub sticky_sessions: String,
    #[serde(default)]
    pub dockerfile_path: String,
    /// Checkboxes (settings form only).
    #[serde(default)]
    pub auto_deploy: String,
    #[serde(default)]
    pub watch_root_dir: String,
    #[serde(default)]
    pub previews: String,
}

/// A token just created: `secret` is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub secret: String,
    pub token: ApiToken,
}

/// What the browser needs to build an app's public URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub base_domain: String,
    pub proxy_port: u16,
}

impl SiteInfo {
    /// `{protocol}//{slug}.{base_domain}:{port}`; `protocol` is `http:` or `https:`.
    pub fn app_url(&self, protocol: &str, slug: &str) -> String {
        format!("{protocol}//{slug}.{}:{}", self.base_domain, self.proxy_port)
    }
}
