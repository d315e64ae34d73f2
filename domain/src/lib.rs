//! Everything the platform does: accounts, apps, env-var crypto, the deploy pipeline, build detection,
//! runtimes, the routing table and the log hub. No Leptos, no axum, no listening sockets.
//!
//! Callers hold a cheap-to-clone [`Services`] handle and call plain async functions on it.

pub mod apps;
pub mod auth;
pub mod credentials;
pub mod crypto;
pub mod detect;
pub mod dirs;
pub mod error;
pub mod jobs;
pub mod logs;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod repos;
pub mod routing;
pub mod runtime;
pub mod store;
pub mod types;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::{Error, Result};

/// The settings the domain needs (the server's config is the source; see `server/src/config.rs`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub base_domain: String,
    /// How long a new version has to answer its health check.
    pub health_timeout: Duration,
    /// How long an old version gets to finish in-flight requests and exit after SIGTERM.
    pub drain_timeout: Duration,
    /// Successful builds kept on disk per app, for rollback.
    pub keep_builds: usize,
    /// Concurrent deploy jobs.
    pub workers: usize,
    /// Where apps' checkouts and homes live (reachable by app users; not inside `data_dir`).
    pub apps_dir: PathBuf,
    /// Which user app code runs as.
    pub isolation: runtime::sandbox::Isolation,
    /// Whether `repo_url` may name a path on this machine.
    pub local_repos: LocalRepos,
    /// Log bounds: app output lines kept per second per channel, log streams per user.
    pub log_limits: logs::LogLimits,
    /// What the periodic `retention` job keeps, and how often the periodic jobs run.
    pub retention: jobs::RetentionSettings,
}

/// The operator's setting for repositories on the local filesystem (`file://`, absolute paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalRepos {
    /// Allowed while the installation has a single user (the embedded default).
    Auto,
    Allowed,
    Refused,
}

impl Settings {
    pub fn new(data_dir: impl Into<PathBuf>, base_domain: impl Into<String>) -> Settings {
        let data_dir: PathBuf = data_dir.into();
        Settings {
            base_domain: base_domain.into(),
            health_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
            keep_builds: 5,
            workers: 2,
            apps_dir: PathBuf::from(format!("{}-apps", data_dir.display())),
            isolation: runtime::sandbox::Isolation::for_current_process(false, runtime::sandbox::DEFAULT_UID_BASE),
            local_repos: LocalRepos::Auto,
            log_limits: logs::LogLimits::default(),
            retention: jobs::RetentionSettings::default(),
            data_dir,
        }
    }

    /// Root of every app's checkouts (`<apps_dir>/<slug>/builds/<deployment>`).
    pub fn builds_dir(&self) -> PathBuf {
        self.apps_dir.clone()
    }

    pub fn app_dir(&self, slug: &str) -> PathBuf {
        self.apps_dir.join(slug)
    }

    pub fn checkout_dir(&self, slug: &str, deployment_id: i64) -> PathBuf {
        self.app_dir(slug).join("builds").join(deployment_id.to_string())
    }

    pub fn app_home(&self, slug: &str) -> PathBuf {
        self.app_dir(slug).join("home")
    }

    /// Rhone-owned runtime files: apps' output files, pid files of build steps.
    pub fn run_dir(&self) -> PathBuf {
        self.data_dir.join("run")
    }
}

#[derive(Clone)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub store: store::Store,
    pub logs: logs::LogHub,
    pub routes: Arc<routing::RouteTable>,
    pub runtime: runtime::ProcessRuntime,
    key: crypto::SecretKey,
    limiter: auth::LoginLimiter,
    passwords: auth::PasswordPool,
    pipeline: pipeline::Control,
}

impl Services {
    /// A warning for every dashboard page while apps are not isolated under their own users.
    pub fn isolation_warning(&self) -> Option<&'static str> {
        self.settings.isolation.warning()
    }

    /// Opens the store (running migrations) and builds the in-memory state. Call
    /// [`Services::recover`] next, then start the workers.
    pub async fn open(settings: Settings, database_url: &str, key: crypto::SecretKey) -> Result<Services> {
        dirs::prepare(&settings)?;
        let store = store::Store::connect(database_url).await?;
        dirs::secure_database(database_url)?;
        let routes = Arc::new(routing::RouteTable::new(settings.base_domain.clone()));
        Ok(Services {
            logs: logs::LogHub::with_limits(store.clone(), settings.log_limits),
            settings: Arc::new(settings),
            store,
            routes,
            runtime: runtime::ProcessRuntime::default(),
            key,
            limiter: auth::LoginLimiter::default(),
            passwords: auth::PasswordPool::default(),
            pipeline: pipeline::Control::default(),
        })
    }
}
