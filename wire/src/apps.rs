//! Accounts, tokens, apps and deployments: the records `domain` stores and hands out, the REST API
//! returns as they are, and the dashboard shows.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{DeploymentStatus, Scope};

/// A value that does not parse: which field, and a message for the person who typed it. `domain`
/// turns it into its `Error::Invalid` (a 400 naming the field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for Invalid {}

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
    pub scope: Scope,
}

/// Which runtime runs an app's versions: native processes or containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Process,
    Docker,
}

impl RuntimeKind {
    pub const ALL: [RuntimeKind; 2] = [RuntimeKind::Process, RuntimeKind::Docker];

    pub fn parse(s: &str) -> Result<RuntimeKind, Invalid> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim()).ok_or_else(|| Invalid {
            field: "runtime",
            message: format!("{s:?} is not a runtime: use process or docker"),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeKind::Process => "process",
            RuntimeKind::Docker => "docker",
        }
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CPU limit in millicores (1000 = one core), 10 (0.01 core) to 64000 (64 cores). In JSON it is a
/// number of cores (`0.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CpuLimit(u32);

impl CpuLimit {
    pub const MIN_MILLICORES: u32 = 10;
    pub const MAX_MILLICORES: u32 = 64_000;

    fn out_of_range() -> Invalid {
        Invalid { field: "cpu_limit", message: "must be a number of cores from 0.01 to 64 (e.g. 0.5)".into() }
    }

    /// Cores as a decimal (`0.5`), rounded to the millicore.
    pub fn from_cores(cores: f64) -> Result<CpuLimit, Invalid> {
        let m = (cores * 1000.0).round();
        if !(f64::from(Self::MIN_MILLICORES)..=f64::from(Self::MAX_MILLICORES)).contains(&m) {
            return Err(Self::out_of_range());
        }
        Ok(CpuLimit(m as u32))
    }

    pub fn from_millicores(m: i64) -> Result<CpuLimit, Invalid> {
        match u32::try_from(m) {
            Ok(m) if (Self::MIN_MILLICORES..=Self::MAX_MILLICORES).contains(&m) => Ok(CpuLimit(m)),
            _ => Err(Self::out_of_range()),
        }
    }

    pub fn millicores(self) -> u32 {
        self.0
    }

    /// Docker's `NanoCpus`.
    pub fn nano_cpus(self) -> i64 {
        i64::from(self.0) * 1_000_000
    }

    pub fn cores(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

impl Serialize for CpuLimit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.cores())
    }
}

impl<'de> Deserialize<'de> for CpuLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        CpuLimit::from_cores(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct App {
    pub id: i64,
    /// The team that owns it (0 only for apps made before any user existed: nobody's).
    pub team_id: i64,
    pub slug: String,
    pub name: String,
    pub repo_url: String,
    /// Empty: the repository's default branch.
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
    /// A push to the app's branch deploys it (GitHub, GitLab and Gitea webhooks).
    #[serde(default = "yes")]
    pub auto_deploy: bool,
    /// A push deploys only when it changed files under `root_dir` (from the push's file lists).
    #[serde(default = "yes")]
    pub watch_root_dir: bool,
    /// Pull requests into the app's branch get preview apps (`pr-{number}-{slug}`).
    #[serde(default)]
    pub previews: bool,
    /// For a preview: the app it previews, and its pull request's number.
    #[serde(default)]
    pub preview_of: Option<i64>,
    #[serde(default)]
    pub pr_number: Option<i64>,
    /// Taken out of service by a user (`POST .../stop`) at this time: nothing serves or restarts it
    /// until it is started again.
    #[serde(default)]
    pub stopped_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn yes() -> bool {
    true
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

    /// The CPU limit as the form shows it: cores (`0.5`), blank for no limit.
    pub fn cpu_limit_text(&self) -> String {
        self.cpu_limit.map(|c| c.cores().to_string()).unwrap_or_default()
    }

    /// One line for the app page: `docker · 2 replicas · 0.5 CPU · 512 MiB`.
    pub fn runtime_summary(&self) -> String {
        let mut parts = vec![self.runtime.as_str().to_string()];
        parts.push(match self.replicas {
            1 => "1 replica".to_string(),
            n => format!("{n} replicas"),
        });
        parts.push(match self.cpu_limit {
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

/// What a deployment does.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    /// Builds a commit and releases it.
    Deploy,
    /// Releases an earlier deployment's kept build again (no build), with the current environment.
    Rollback,
    /// Starts the live build again with the current environment (no build): a restart, an applied
    /// env change, or starting a stopped app.
    Restart,
}

impl DeploymentKind {
    pub const ALL: [DeploymentKind; 3] = [DeploymentKind::Deploy, DeploymentKind::Rollback, DeploymentKind::Restart];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentKind::Deploy => "deploy",
            DeploymentKind::Rollback => "rollback",
            DeploymentKind::Restart => "restart",
        }
    }

    pub fn parse(s: &str) -> Option<DeploymentKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a deployment's pipeline is (kept once it ends: a failure says where it happened).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Waiting for a build slot or a worker.
    Queued,
    Clone,
    Build,
    /// Starting the instances.
    Start,
    HealthCheck,
    /// Switching traffic to the new version.
    Switch,
}

impl Stage {
    pub const ALL: [Stage; 6] = [Stage::Queued, Stage::Clone, Stage::Build, Stage::Start, Stage::HealthCheck, Stage::Switch];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Clone => "clone",
            Stage::Build => "build",
            Stage::Start => "start",
            Stage::HealthCheck => "health_check",
            Stage::Switch => "switch",
        }
    }

    /// As the dashboard writes it.
    pub fn label(self) -> &'static str {
        match self {
            Stage::HealthCheck => "health check",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Deployment {
    /// The API's id (unique across apps).
    pub id: i64,
    /// The release number within its app: v1, v2, ... (what the dashboard and the logs show).
    pub number: i64,
    pub kind: DeploymentKind,
    pub app_id: i64,
    pub app_slug: String,
    pub status: DeploymentStatus,
    pub git_ref: String,
    pub commit_sha: Option<String>,
    pub commit_message: Option<String>,
    pub commit_author: Option<String>,
    /// Where its pipeline is, or where it ended (`None` before it started).
    pub stage: Option<Stage>,
    /// What detection found (`Node.js`, `Python`, `Dockerfile`, …), once built.
    pub stack: Option<String>,
    /// The deployment whose build this one released again (rollbacks and restarts run no build).
    pub rollback_of: Option<i64>,
    pub error: Option<String>,
    pub build_ms: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// When it went live (`None`: never did).
    pub live_at: Option<i64>,
    /// Set while the build is kept on disk (the last 5 successful builds are kept for rollback).
    pub rollback_available: bool,
    /// Its commit status on GitHub (repositories connected through the GitHub App only).
    #[serde(default)]
    pub github_status: Option<GitHubStatus>,
}

/// What became of a deployment's commit status on GitHub.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GitHubStatus {
    /// The state posted last (`pending`, `success`, `failure`, `error`); `None`: none posted yet.
    pub state: Option<String>,
    /// Why the last attempt to post failed (it is retried with backoff); `None`: it worked.
    pub error: Option<String>,
}

impl Deployment {
    /// `v3`.
    pub fn release(&self) -> String {
        format!("v{}", self.number)
    }

    /// From creation to the end (`None` while it runs).
    pub fn duration_ms(&self) -> Option<i64> {
        self.finished_at.map(|f| (f - self.created_at).max(0))
    }

    /// The commit's first 7 characters (empty before the clone resolved it).
    pub fn short_sha(&self) -> String {
        self.commit_sha.as_deref().map(|s| s.chars().take(7).collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_parse_from_their_names_and_nothing_else() {
        for k in RuntimeKind::ALL {
            assert_eq!(RuntimeKind::parse(k.as_str()).unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(RuntimeKind::parse(" docker ").unwrap(), RuntimeKind::Docker);
        for bad in ["", "auto", "Docker", "podman", "process;rm"] {
            let err = RuntimeKind::parse(bad).unwrap_err();
            assert_eq!(err.field, "runtime", "{bad:?}: {err}");
        }
    }

    #[test]
    fn cpu_limits_are_cores_stored_as_millicores() {
        assert_eq!(CpuLimit::from_cores(0.5).unwrap().millicores(), 500);
        assert_eq!(CpuLimit::from_cores(0.01).unwrap().millicores(), 10);
        assert_eq!(CpuLimit::from_cores(64.0).unwrap().nano_cpus(), 64_000_000_000);
        for bad in [0.0, -1.0, 0.004, 64.001, f64::NAN, f64::INFINITY] {
            assert!(CpuLimit::from_cores(bad).is_err(), "{bad} should be rejected");
        }
        assert!(CpuLimit::from_millicores(9).is_err() && CpuLimit::from_millicores(-500).is_err());
        let c: CpuLimit = serde_json::from_str("1.25").unwrap();
        assert_eq!((c.millicores(), serde_json::to_string(&c).unwrap()), (1250, "1.25".to_string()));
        assert!(serde_json::from_str::<CpuLimit>("65").unwrap_err().to_string().contains("0.01 to 64"));
    }

    fn app() -> App {
        App {
            id: 1,
            team_id: 1,
            slug: "web".into(),
            name: "Web".into(),
            repo_url: "/srv/web.git".into(),
            branch: String::new(),
            root_dir: String::new(),
            build_command: None,
            start_command: None,
            health_check_path: "/".into(),
            runtime: RuntimeKind::Docker,
            cpu_limit: None,
            memory_limit_mb: None,
            replicas: 1,
            drain_timeout_secs: 30,
            stop_timeout_secs: 10,
            sticky_sessions: false,
            dockerfile_path: None,
            auto_deploy: true,
            watch_root_dir: true,
            previews: false,
            preview_of: None,
            pr_number: None,
            stopped_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_runtime_summary_names_every_limit() {
        let mut a = app();
        assert_eq!(a.runtime_summary(), "docker · 1 replica · no CPU limit · no memory limit");
        a.replicas = 2;
        a.cpu_limit = Some(CpuLimit::from_cores(0.5).unwrap());
        a.memory_limit_mb = Some(512);
        a.sticky_sessions = true;
        assert_eq!(a.runtime_summary(), "docker · 2 replicas · 0.5 CPU · 512 MiB · sticky sessions");
        assert_eq!((a.cpu_limit_text(), a.memory_limit_bytes()), ("0.5".to_string(), Some(512 << 20)));
    }
}
