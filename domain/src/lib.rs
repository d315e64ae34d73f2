//! Everything the platform does: accounts, apps, env-var crypto, the deploy pipeline, build detection,
//! runtimes, the routing table and the log hub. No Leptos, no axum, no listening sockets.
//!
//! Callers hold a cheap-to-clone [`Services`] handle and call plain async functions on it.

pub mod apps;
pub mod auth;
pub mod crypto;
pub mod detect;
pub mod error;
pub mod logs;
pub mod model;
pub mod pipeline;
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
}

impl Settings {
    pub fn new(data_dir: impl Into<PathBuf>, base_domain: impl Into<String>) -> Settings {
        Settings {
            data_dir: data_dir.into(),
            base_domain: base_domain.into(),
            health_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
            keep_builds: 5,
            workers: 2,
        }
    }

    pub fn builds_dir(&self) -> PathBuf {
        self.data_dir.join("builds")
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
    pipeline: pipeline::Control,
}

impl Services {
    /// Opens the store (running migrations) and builds the in-memory state. Call
    /// [`Services::recover`] next, then start the workers.
    pub async fn open(settings: Settings, database_url: &str, key: crypto::SecretKey) -> Result<Services> {
        std::fs::create_dir_all(settings.builds_dir()).map_err(|e| Error::internal("create data dir", e))?;
        let store = store::Store::connect(database_url).await?;
        let routes = Arc::new(routing::RouteTable::new(settings.base_domain.clone()));
        Ok(Services {
            logs: logs::LogHub::new(store.clone()),
            settings: Arc::new(settings),
            store,
            routes,
            runtime: runtime::ProcessRuntime::default(),
            key,
            limiter: auth::LoginLimiter::default(),
            pipeline: pipeline::Control::default(),
        })
    }
}
