//! Serializable mirrors of the domain records, shared by the server functions and the browser
//! (`domain` itself only exists in the server build).

use serde::{Deserialize, Serialize};

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
    pub created_at: i64,
    pub updated_at: i64,
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
}

/// One row of the apps list: the app and the status of its newest deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub app: AppInfo,
    /// `None`: never deployed.
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentInfo {
    pub id: i64,
    pub app_slug: String,
    /// `pending`, `building`, `deploying`, `live`, `failed`, `cancelled` or `superseded`.
    pub status: String,
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
                status: d.status.as_str().to_string(),
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
