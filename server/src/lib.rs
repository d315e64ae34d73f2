//! The `rhone` binary's library: config, startup/shutdown, the axum router (dashboard, REST API,
//! SSE), the reverse proxy listener and the job workers.

pub mod config;
pub mod http;
pub mod proxy;
pub mod site;

use std::net::SocketAddr;

use domain::crypto::SecretKey;
use domain::{Services, Settings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// A running Rhone: its bound addresses and a way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub proxy_addr: SocketAddr,
    pub services: Services,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Stop the apps on shutdown instead of leaving them running for the next start to re-adopt.
    pub stop_apps: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Domain(#[from] domain::Error),
    #[error("cannot listen on {addr}: {err}")]
    Bind { addr: SocketAddr, err: std::io::Error },
    #[error("{0}")]
    Other(String),
}

fn domain_error(e: domain::Error) -> StartError {
    match e {
        domain::Error::Internal(m) => StartError::Other(m),
        other => StartError::Domain(other),
    }
}

/// Opens the services for a config (creating the data dir, the secret key and the owner account).
pub async fn open_services(config: &Config) -> Result<Services, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| StartError::Other(format!("cannot create data dir {}: {e}", config.data_dir.display())))?;
    let key = match &config.secret_key {
        Some(k) => SecretKey::parse(k.expose()).map_err(domain_error)?,
        None => SecretKey::load_or_create(&config.data_dir).map_err(domain_error)?,
    };
    let mut settings = Settings::new(&config.data_dir, &config.base_domain);
    settings.health_timeout = config.health_timeout;
    settings.drain_timeout = config.drain_timeout;
    settings.workers = config.workers;
    settings.isolation = domain::runtime::sandbox::Isolation::for_current_process(config.allow_shared_uid, config.app_uid_base);
    settings.apps_dir = match &config.apps_dir {
        Some(dir) => dir.clone(),
        None => domain::dirs::default_apps_dir(&config.data_dir, settings.isolation),
    };
    settings.local_repos = config.allow_local_repos;
    settings.log_limits = domain::logs::LogLimits { lines_per_sec: config.log_lines_per_sec, streams_per_user: config.log_streams_per_user };
    settings.retention.log_max_age = config.log_retention;
    settings.retention.log_keep_lines = config.log_keep_lines;
    settings.retention.keep_deployments = config.keep_deployments;
    if let Some(w) = settings.isolation.warning() {
        tracing::warn!("{w}");
    }
    let services = Services::open(settings, config.database_url.expose(), key).await.map_err(domain_error)?;
    if let (Some(email), Some(pw)) = (&config.admin_email, &config.admin_password) {
        if services.needs_setup().await.map_err(domain_error)? {
            services.create_user(email, pw.expose()).await.map_err(domain_error)?;
            tracing::info!(email = %email, "created the owner account from RHONE_ADMIN_EMAIL");
        }
    }
    Ok(services)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|err| StartError::Bind { addr, err })
}

/// Starts everything: recovery, workers, the proxy and the dashboard/API listener.
pub async fn start(config: Config, site: site::SiteSettings) -> Result<Running, StartError> {
    let services = open_services(&config).await?;
    // bind our own listeners before any app process is started or re-adopted
    let api_listener = bind(config.addr).await?;
    let proxy_listener = bind(config.proxy_addr).await?;
    services.recover().await.map_err(domain_error)?;
    let addr = api_listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    let proxy_addr = proxy_listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..config.workers {
        let (s, rx) = (services.clone(), rx.clone());
        tasks.push(tokio::spawn(async move { s.run_worker(rx).await }));
    }
    // periodic jobs (retention, session purge): each runs once per interval across all processes
    let (s, srx) = (services.clone(), rx.clone());
    tasks.push(tokio::spawn(async move { s.run_scheduler(srx).await }));
    let mut prx = rx.clone();
    let stop_proxy = async move {
        let _ = prx.wait_for(|s| *s).await;
    };
    let table = services.routes.clone();
    let proxy_options = proxy::ProxyOptions {
        upstream_timeout: config.proxy_upstream_timeout,
        idle_timeout: config.proxy_idle_timeout,
        max_connections: config.proxy_max_connections,
        trusted_proxies: config.trusted_proxies.clone(),
    };
    tasks.push(tokio::spawn(async move {
        if let Err(e) = proxy::serve(proxy_listener, table, proxy_options, stop_proxy).await {
            tracing::error!(error = %e, "proxy stopped");
        }
    }));
    let state = http::AppState::new(services.clone(), site.options(addr), &config, addr, proxy_addr.port());
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut arx = rx.clone();
    tasks.push(tokio::spawn(async move {
        let stop = async move {
            let _ = arx.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(api_listener, app).with_graceful_shutdown(stop).await {
            tracing::error!(error = %e, "dashboard listener stopped");
        }
    }));
    tracing::info!(%addr, %proxy_addr, base_domain = %config.base_domain, "rhone is running");
    Ok(Running { addr, proxy_addr, services, shutdown, tasks, stop_apps: config.stop_apps })
}

impl Running {
    /// Stops listeners and workers. The app processes keep running (the next start re-adopts them)
    /// unless `stop_apps` is set.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.services.interrupt_in_progress().await {
            tracing::error!(error = %e, "could not mark running deployments as interrupted");
        }
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), t).await;
        }
        self.services.release_apps(self.stop_apps).await;
        self.services.logs.flush().await;
    }
}
