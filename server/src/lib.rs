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
    let services = Services::open(settings, &config.database_url, key).await.map_err(domain_error)?;
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
    services.recover().await.map_err(domain_error)?;
    let api_listener = bind(config.addr).await?;
    let proxy_listener = bind(config.proxy_addr).await?;
    let addr = api_listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    let proxy_addr = proxy_listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..config.workers {
        let (s, rx) = (services.clone(), rx.clone());
        tasks.push(tokio::spawn(async move { s.run_worker(rx).await }));
    }
    let mut prx = rx.clone();
    let stop_proxy = async move {
        let _ = prx.wait_for(|s| *s).await;
    };
    let table = services.routes.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = proxy::serve(proxy_listener, table, stop_proxy).await {
            tracing::error!(error = %e, "proxy stopped");
        }
    }));
    let state = http::AppState { services: services.clone(), leptos: site.options(addr), secure_cookies: config.secure_cookies, proxy_port: proxy_addr.port() };
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
    Ok(Running { addr, proxy_addr, services, shutdown, tasks })
}

impl Running {
    /// Stops listeners and workers, then the app processes (they restart on the next start).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        if let Err(e) = self.services.interrupt_in_progress().await {
            tracing::error!(error = %e, "could not mark running deployments as interrupted");
        }
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), t).await;
        }
        self.services.stop_all().await;
        self.services.logs.flush().await;
    }
}
