//! The records the domain hands out (serializable: the REST API returns them as they are).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::types::{CpuLimit, RuntimeKind};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    /// `owner`: the installation's first account, the instance admin; `member` otherwise (roles in
    /// teams are per team).
    pub role: String,
    pub created_at: i64,
    /// Disabled by the instance admin: cannot log in; sessions and tokens stop working.
    #[serde(default)]
    pub disabled: bool,
    /// Signing in asks for a TOTP code (or a recovery code) after the password.
    #[serde(default)]
    pub two_factor: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it in a list.
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// The only team it may act in (slug), if limited to one.
    pub team: Option<String>,
    /// `read` tokens change nothing and reveal no secret.
    pub scope: crate::policy::Scope,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct App {
    pub id: i64,
    /// The team that owns it (0 only for apps made before any user existed: nobody's).
    pub team_id: i64,
    pub slug: String,
    pub name: String,
    pub repo_url: String,
    pub branch: String,
    pub root_dir: String,
    pub build_command: Option<String>,
    pub start_command: Option<String>,
    pub health_check_path: String,
    /// Which runtime runs the app's next versions.
    pub runtime: RuntimeKind,
    /// CPU cap per instance (`None`: no limit). Like every setting below, it applies to versions
    /// started after the change.
    pub cpu_limit: Option<CpuLimit>,
    /// Memory cap per instance in MiB (16 to 1048576; `None`: no limit).
    pub memory_limit_mb: Option<u32>,
    /// Instances of each version (1 to 20).
    pub replicas: u32,
    /// How long an old version's open requests, streams and WebSockets may run on after the switch.
    pub drain_timeout_secs: u32,
    /// How long an instance gets between SIGTERM and SIGKILL.
    pub stop_timeout_secs: u32,
    /// Cookie affinity: a client keeps reaching the same instance.
    pub sticky_sessions: bool,
    /// The Dockerfile, relative to the repository root (`None`: `Dockerfile` in `root_dir`, or one
    /// generated from the detected plan).
    pub dockerfile_path: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl App {
    pub const DEFAULT_REPLICAS: u32 = 1;
    pub const MAX_REPLICAS: u32 = 20;
    pub const DEFAULT_DRAIN_TIMEOUT_SECS: u32 = 30;
    pub const MAX_DRAIN_TIMEOUT_SECS: u32 = 3600;
    pub const DEFAULT_STOP_TIMEOUT_SECS: u32 = 10;
    pub const MAX_STOP_TIMEOUT_SECS: u32 = 600;
    pub const MIN_MEMORY_LIMIT_MB: u32 = 16;
    pub const MAX_MEMORY_LIMIT_MB: u32 = 1_048_576;

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.drain_timeout_secs))
    }

    pub fn stop_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.stop_timeout_secs))
    }

    /// The memory cap in bytes (Docker's `Memory`).
    pub fn memory_limit_bytes(&self) -> Option<i64> {
        self.memory_limit_mb.map(|mb| i64::from(mb) * 1024 * 1024)
    }
}

pub use wire::DeploymentStatus;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deployment {
    pub id: i64,
    pub app_id: i64,
    pub app_slug: String,
    pub status: DeploymentStatus,
    pub git_ref: String,
    pub commit_sha: Option<String>,
    pub commit_message: Option<String>,
    /// The deployment this one re-released (rollbacks run no build).
    pub rollback_of: Option<i64>,
    pub error: Option<String>,
    pub build_ms: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// Set while the build is kept on disk (the last 5 successful builds are kept for rollback).
    pub rollback_available: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusEvent {
    pub status: DeploymentStatus,
    pub at: i64,
}

/// One stored log line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogLine {
    pub seq: i64,
    pub at: i64,
    /// `stdout`, `stderr` or `rhone` (lines the pipeline writes itself).
    pub stream: String,
    pub line: String,
}
