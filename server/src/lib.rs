//! The `rhone` binary's library: config, startup/shutdown, the axum router (dashboard, REST API,
//! SSE), the reverse proxy listener and the job workers.

pub mod config;
mod handover;
pub mod http;
pub mod lifecycle;
pub mod memory;
pub mod proxy;
pub mod site;
mod supervise;
mod systemd;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use domain::crypto::SecretKey;
use domain::{Services, Settings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::supervise::{DataDirLock, Supervision};

/// How long listener tasks get to finish once told to stop (requests in flight).
const LISTENER_GRACE: Duration = Duration::from_secs(15);

/// A running Rhone: its bound addresses and a way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub proxy_addr: SocketAddr,
    /// The HTTPS listener's address, when ACME is configured.
    pub https_addr: Option<SocketAddr>,
    pub services: Services,
    /// Stop the apps on shutdown instead of leaving them running for the next start to re-adopt.
    pub stop_apps: bool,
    supervision: Arc<Supervision>,
    listeners: Arc<lifecycle::Control>,
    listener_tasks: Vec<JoinHandle<()>>,
    handed_over: watch::Receiver<bool>,
    control_path: PathBuf,
    _control: Option<AbortOnDrop>,
}

/// A task that ends with its owner.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
    settings.max_concurrent_builds = config.max_concurrent_builds;
    settings.crash_backoff_base = config.crash_backoff;
    settings.isolation = domain::runtime::sandbox::Isolation::for_current_process(config.allow_shared_uid, config.app_uid_base);
    settings.apps_dir = match &config.apps_dir {
        Some(dir) => dir.clone(),
        None => domain::dirs::default_apps_dir(&config.data_dir, settings.isolation),
    };
    settings.tools_dir = config.tools_dir.clone();
    settings.local_repos = config.allow_local_repos;
    settings.log_limits = domain::logs::LogLimits { lines_per_sec: config.log_lines_per_sec, streams_per_user: config.log_streams_per_user };
    settings.retention.log_max_age = config.log_retention;
    settings.retention.log_keep_lines = config.log_keep_lines;
    settings.retention.keep_deployments = config.keep_deployments;
    settings.retention.audit_max_age = config.audit_retention;
    settings.invitation_ttl = config.invitation_ttl;
    settings.github_webhook_secret = config.github_webhook_secret.as_ref().map(|s| domain::github::WebhookSecret(s.expose().to_string()));
    settings.github_app = config.github_app.clone();
    settings.github_signup = config.github_signup;
    settings.oidc = config.oidc.clone();
    settings.domains = config.domains.clone();
    settings.acme = config.acme.clone();
    settings.dns_provider = config.dns_provider.clone();
    settings.billing = config.billing.clone();
    settings.dashboard_host = config.public_url.as_ref().map(|u| u.host().to_ascii_lowercase());
    settings.mail = domain::mail::MailSettings { url: config.smtp_url.as_ref().map(|u| u.expose().to_string()), from: config.mail_from.clone() };
    settings.default_runtime = config.default_runtime;
    settings.docker_host = config.docker_host.clone();
    settings.docker_network = config.docker_network;
    settings.docker_build_cpu_millis = config.docker_build_cpus.map(|c| i64::from(c.millicores()));
    settings.docker_build_memory_mb = config.docker_build_memory_mb;
    settings.switch_watch = config.switch_watch;
    settings.health_interval = config.health_interval;
    settings.health_failures = config.health_failures;
    settings.docker_base_images = config.docker_base_images.clone();
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

/// The HTTPS listener: `SO_REUSEPORT`, so during an upgrade the new Rhone listens beside the old
/// one until the old one stops (it is not handed over like the other two).
fn bind_shared(addr: SocketAddr) -> Result<TcpListener, StartError> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() };
    let bound = socket.and_then(|s| {
        s.set_reuseaddr(true)?;
        s.set_reuseport(true)?;
        s.bind(addr)?;
        s.listen(1024)
    });
    bound.map_err(|err| StartError::Bind { addr, err })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|err| StartError::Bind { addr, err })
}

/// A listener taken over from the running Rhone when it listens where the config says (that
/// address, or any port of its IP when the config says port 0); otherwise a new one is bound and
/// the old address closes with the old process.
async fn take_or_bind(inherited: std::net::TcpListener, want: SocketAddr) -> Result<TcpListener, StartError> {
    let have = inherited.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    if have.ip() == want.ip() && (want.port() == 0 || want.port() == have.port()) {
        return TcpListener::from_std(inherited).map_err(|e| StartError::Other(e.to_string()));
    }
    tracing::warn!(old = %have, new = %want, "the address changed: listening on the new one; the old one closes with the old process");
    drop(inherited);
    bind(want).await
}

async fn lock_data_dir(data_dir: &Path, wait: Duration) -> Result<DataDirLock, StartError> {
    match DataDirLock::acquire(data_dir, wait).await {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(StartError::Other(format!(
            "another Rhone runs on {} (it holds {}) and does not answer on {}; stop it first",
            data_dir.display(),
            supervise::lock_path(data_dir).display(),
            handover::socket_path(data_dir).display()
        ))),
        Err(e) => Err(StartError::Other(format!("cannot open {}: {e}", supervise::lock_path(data_dir).display()))),
    }
}

/// Starts everything: recovery, workers, the proxy and the dashboard/API listener. When a Rhone
/// already runs on this data dir, takes over from it instead (see `handover`): its listening
/// sockets, then its apps, without restarting them.
pub async fn start(config: Config, site: site::SiteSettings) -> Result<Running, StartError> {
    let services = open_services(&config).await?;
    let control_path = handover::socket_path(&config.data_dir);
    let mut predecessor = handover::Predecessor::connect(&control_path).await.map_err(StartError::Other)?;
    // bind (or take over) our own listeners before any app process is started or re-adopted
    let (api_listener, proxy_listener, lock) = match predecessor.as_mut() {
        Some(old) => {
            let inherited = old.listeners().await.map_err(StartError::Other)?;
            let api = take_or_bind(inherited.api, config.addr).await?;
            let proxy = take_or_bind(inherited.proxy, config.proxy_addr).await?;
            old.release().await.map_err(StartError::Other)?;
            let lock = lock_data_dir(&config.data_dir, Duration::from_secs(10)).await?;
            (api, proxy, lock)
        }
        None => {
            // a moment's patience: a process forking elsewhere (the tests run many servers in one
            // process) holds a copy of the lock's descriptor until its child execs; another Rhone
            // that really runs is still refused, a second later
            let lock = lock_data_dir(&config.data_dir, Duration::from_secs(1)).await?;
            (bind(config.addr).await?, bind(config.proxy_addr).await?, lock)
        }
    };
    services.recover().await.map_err(domain_error)?;
    let addr = api_listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    let proxy_addr = proxy_listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
    services.set_links(domain::Links {
        dashboard: config.public_url.as_ref().map_or_else(|| format!("http://{addr}"), |u| u.to_string().trim_end_matches('/').to_string()),
        app_scheme: "http".into(),
        app_port: proxy_addr.port(),
    });
    let dup = |l: &TcpListener| l.as_fd().try_clone_to_owned().map_err(|e| StartError::Other(e.to_string()));
    let (api_fd, proxy_fd) = (dup(&api_listener)?, dup(&proxy_listener)?);
    let supervision = Arc::new(Supervision::start(services.clone(), config.workers, config.data_dir.clone(), lock));
    let (control, lifecycle) = lifecycle::Control::new();
    let listeners = Arc::new(control);
    let mut listener_tasks = Vec::new();

    let table = services.routes.clone();
    let proxy_options = proxy::ProxyOptions {
        upstream_timeout: config.proxy_upstream_timeout,
        idle_timeout: config.proxy_idle_timeout,
        max_connections: config.proxy_max_connections,
        trusted_proxies: config.trusted_proxies.clone(),
        https_port: None,
    };
    let mut proxy_options = proxy_options;
    let mut https_addr = None;
    if config.acme.is_some() {
        services.tls.make_fallback().map_err(domain_error)?;
        // the dashboard's public host is served by the proxy too, with its certificate
        if let Some(host) = services.settings.dashboard_host.as_deref().filter(|h| domain::tls::is_public_name(h)) {
            let to = if addr.ip().is_unspecified() { SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port()) } else { addr };
            services.routes.set_dashboard(host, to);
        }
        let listener = bind_shared(config.https_addr)?;
        let bound = listener.local_addr().map_err(|e| StartError::Other(e.to_string()))?;
        https_addr = Some(bound);
        proxy_options.https_port = Some(bound.port());
        let (table, options, lc, certs) = (table.clone(), proxy_options.clone(), lifecycle.clone(), services.tls.clone());
        listener_tasks.push(tokio::spawn(async move {
            if let Err(e) = proxy::serve_tls_until(listener, table, options, lc, certs).await {
                tracing::error!(error = %e, "HTTPS listener stopped");
            }
        }));
    }
    let lc = lifecycle.clone();
    listener_tasks.push(tokio::spawn(async move {
        if let Err(e) = proxy::serve_until(proxy_listener, table, proxy_options, lc).await {
            tracing::error!(error = %e, "proxy stopped");
        }
    }));
    let state = http::AppState::new(services.clone(), site.options(addr), &config, addr, proxy_addr.port());
    let app = http::router(state)
        .layer(axum::middleware::from_fn_with_state(lifecycle.clone(), lifecycle::close_when_draining))
        .into_make_service_with_connect_info::<SocketAddr>();
    let (api_listener, open) = lifecycle::DrainListener::new(api_listener, lifecycle.clone());
    listener_tasks.push(tokio::spawn(async move {
        let until_closed = |lc: lifecycle::Lifecycle, open: Arc<lifecycle::OpenCount>| async move {
            lc.stop_accepting().await;
            tokio::select! {
                () = open.none_open() => {}
                () = lc.close_connections() => {}
            }
        };
        let serve = axum::serve(api_listener.tap_io(|_| {}), app).with_graceful_shutdown(until_closed(lifecycle.clone(), open.clone()));
        let bound = async {
            until_closed(lifecycle, open).await;
            tokio::time::sleep(proxy::SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            result = serve.into_future() => if let Err(e) = result {
                tracing::error!(error = %e, "dashboard listener stopped");
            },
            () = bound => tracing::warn!("dashboard connections still open {:?} after the stop; closing them", proxy::SHUTDOWN_GRACE),
        }
    }));

    let (handed_over_tx, handed_over) = watch::channel(false);
    let handoff = Arc::new(handover::Handoff {
        supervision: supervision.clone(),
        api: api_fd,
        proxy: proxy_fd,
        addrs: (addr, proxy_addr),
        listeners: listeners.clone(),
        drain_timeout: config.drain_timeout,
        handed_over: handed_over_tx,
        busy: tokio::sync::Mutex::new(()),
    });
    let control = match handover::bind(&control_path) {
        Ok(l) => Some(AbortOnDrop(tokio::spawn(handover::serve(l, handoff)))),
        Err(error) => {
            tracing::warn!(path = %control_path.display(), %error, "no control socket: a new `rhone serve` cannot take over from this one");
            None
        }
    };
    systemd::notify_ready();
    if let Some(old) = predecessor {
        old.ready().await;
        tracing::info!("took over from the Rhone that ran on this data dir");
    }
    tracing::info!(%addr, %proxy_addr, base_domain = %config.base_domain, "rhone is running");
    Ok(Running {
        addr,
        proxy_addr,
        https_addr,
        services,
        stop_apps: config.stop_apps,
        supervision,
        listeners,
        listener_tasks,
        handed_over,
        control_path,
        _control: control,
    })
}

impl Running {
    /// Stops listeners and workers. The app processes keep running (the next start re-adopts them)
    /// unless `stop_apps` is set.
    pub async fn stop(self) {
        drop(self._control);
        self.listeners.stop();
        let supervising = self.supervision.supervising().await;
        let tasks = self.listener_tasks;
        let listeners_done = async move {
            for t in tasks {
                let _ = tokio::time::timeout(LISTENER_GRACE, t).await;
            }
        };
        self.supervision.stop(self.stop_apps, listeners_done).await;
        self.services.logs.flush().await;
        if supervising {
            let _ = std::fs::remove_file(&self.control_path);
        }
    }

    /// Resolves once a new `rhone serve` has taken over from this one; then call
    /// [`Running::finish_handover`].
    pub async fn handed_over(&self) {
        let mut rx = self.handed_over.clone();
        if rx.wait_for(|h| *h).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// After a handover: waits until the connections this process still serves have closed (at
    /// most the drain timeout), or until `cut_short` resolves (then closes them now).
    pub async fn finish_handover(self, cut_short: impl Future<Output = ()>) {
        drop(self._control);
        let mut all = std::pin::pin!(futures::future::join_all(self.listener_tasks));
        tokio::select! {
            _ = &mut all => {}
            () = cut_short => {
                self.listeners.stop();
                let _ = tokio::time::timeout(LISTENER_GRACE, all).await;
            }
        }
        self.services.logs.flush().await;
    }
}
