//! Serializable mirrors of the domain records, shared by the server functions and the browser
//! (`domain` itself only exists in the server build).

use serde::{Deserialize, Serialize};

mod status;
pub use status::{bytes, AppStatusInfo, QueuedBuildInfo, RuntimeInfo};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: i64,
    pub email: String,
    pub role: String,
    /// A warning about the installation shown on every page (e.g. apps share Rhone's uid).
    #[serde(default)]
    pub platform_warning: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    pub slug: String,
    pub name: String,
    pub repo_url: String,
    /// Empty: the repository's default branch.
    pub branch: String,
    pub root_dir: String,
    pub build_command: Option<String>,
    pub start_command: Option<String>,
    pub health_check_path: String,
    /// `process` or `docker`.
    pub runtime: String,
    /// CPU limit in millicores (1000 = one core); `None`: no limit.
    pub cpu_millicores: Option<u32>,
    pub memory_limit_mb: Option<u32>,
    pub replicas: u32,
    pub drain_timeout_secs: u32,
    pub stop_timeout_secs: u32,
    pub sticky_sessions: bool,
    pub dockerfile_path: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An app as its page shows it: with the team that owns it and the caller's role there (the page
/// offers only what the role allows; the server decides every action again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAccess {
    pub app: AppInfo,
    pub team: String,
    pub team_name: String,
    pub role: wire::Role,
}

/// The apps of one team, with the caller's role there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamApps {
    pub team: wire::MyTeam,
    pub apps: Vec<AppSummary>,
}

impl AppInfo {
    /// The CPU limit as the form shows it: cores (`0.5`), blank for no limit.
    pub fn cpu_limit_text(&self) -> String {
        self.cpu_millicores.map(|m| (f64::from(m) / 1000.0).to_string()).unwrap_or_default()
    }

    /// One line for the app page: `docker · 2 replicas · 0.5 CPU · 512 MiB`.
    pub fn runtime_summary(&self) -> String {
        let mut parts = vec![self.runtime.clone()];
        parts.push(match self.replicas {
            1 => "1 replica".to_string(),
            n => format!("{n} replicas"),
        });
        parts.push(match self.cpu_millicores {
            Some(_) => format!("{} CPU", self.cpu_limit_text()),
            None => "no CPU limit".into(),
        });
        parts.push(match self.memory_limit_mb {
            Some(mb) => format!("{mb} MiB"),
            None => "no memory limit".into(),
        });
        if self.sticky_sessions {
            parts.push("sticky sessions".into());
        }
        parts.join(" · ")
    }
}

/// The app form (new app and settings). Form inputs are named `fields[<name>]`; blank means "not
/// given" (or "clear" for branch, build and start command in the settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppFields {
    pub name: String,
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
}

/// One row of the apps list: the app and the status of its newest deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub app: AppInfo,
    /// `None`: never deployed.
    pub status: Option<wire::DeploymentStatus>,
    /// The live version's runtime state (`None`: no live version).
    #[serde(default)]
    pub runtime: Option<RuntimeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentInfo {
    pub id: i64,
    pub app_slug: String,
    pub status: wire::DeploymentStatus,
    pub in_progress: bool,
    pub git_ref: String,
    pub commit_sha: Option<String>,
    pub commit_message: Option<String>,
    pub rollback_of: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub rollback_available: bool,
}

impl DeploymentInfo {
    pub fn duration_ms(&self) -> Option<i64> {
        self.finished_at.map(|f| (f - self.created_at).max(0))
    }

    pub fn short_sha(&self) -> String {
        self.commit_sha.as_deref().map(|s| s.chars().take(7).collect()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A token just created: `secret` is shown once and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub secret: String,
    pub token: TokenInfo,
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

#[cfg(feature = "ssr")]
mod from_domain {
    use super::*;
    use domain::model;

    impl From<model::User> for UserInfo {
        fn from(u: model::User) -> Self {
            UserInfo { id: u.id, email: u.email, role: u.role, platform_warning: None }
        }
    }

    impl From<model::App> for AppInfo {
        fn from(a: model::App) -> Self {
            AppInfo {
                slug: a.slug,
                name: a.name,
                repo_url: a.repo_url,
                branch: a.branch,
                root_dir: a.root_dir,
                build_command: a.build_command,
                start_command: a.start_command,
                health_check_path: a.health_check_path,
                runtime: a.runtime.as_str().to_string(),
                cpu_millicores: a.cpu_limit.map(|c| c.millicores()),
                memory_limit_mb: a.memory_limit_mb,
                replicas: a.replicas,
                drain_timeout_secs: a.drain_timeout_secs,
                stop_timeout_secs: a.stop_timeout_secs,
                sticky_sessions: a.sticky_sessions,
                dockerfile_path: a.dockerfile_path,
                created_at: a.created_at,
                updated_at: a.updated_at,
            }
        }
    }

    impl From<model::Deployment> for DeploymentInfo {
        fn from(d: model::Deployment) -> Self {
            DeploymentInfo {
                id: d.id,
                app_slug: d.app_slug,
                status: d.status,
                in_progress: d.status.in_progress(),
                git_ref: d.git_ref,
                commit_sha: d.commit_sha,
                commit_message: d.commit_message,
                rollback_of: d.rollback_of,
                error: d.error,
                created_at: d.created_at,
                finished_at: d.finished_at,
                rollback_available: d.rollback_available,
            }
        }
    }

    impl From<model::ApiToken> for TokenInfo {
        fn from(t: model::ApiToken) -> Self {
            TokenInfo { id: t.id, name: t.name, prefix: t.prefix, created_at: t.created_at, last_used_at: t.last_used_at }
        }
    }
}
