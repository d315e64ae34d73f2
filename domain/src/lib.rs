//! Everything the platform does: accounts, apps, env-var crypto, the deploy pipeline, build detection,
//! runtimes, the routing table and the log hub. No Leptos, no axum, no listening sockets.
//!
//! Callers hold a cheap-to-clone [`Services`] handle and call plain async functions on it.

pub mod access;
pub mod admin;
pub mod apps;
pub mod auth;
pub mod billing;
pub mod credentials;
pub mod crypto;
pub mod detect;
pub mod dns01;
pub mod domains;
pub mod tls;
pub mod dirs;
pub mod github;
pub mod error;
pub mod jobs;
pub mod logs;
pub mod mail;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod policy;
pub mod repos;
pub mod routing;
pub mod runtime;
pub mod store;
pub mod teams;
mod ttl;
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
    /// How long a new version is watched after the switch; if it fails meanwhile, the previous
    /// version (not stopped yet) takes the traffic back. Zero: no watch.
    pub switch_watch: Duration,
    /// How often a live instance's health check runs (zero: never once live) and how many failed
    /// checks in a row get it restarted (as if it had crashed).
    pub health_interval: Duration,
    pub health_failures: u32,
    /// Successful builds kept on disk per app, for rollback.
    pub keep_builds: usize,
    /// Concurrent deploy jobs.
    pub workers: usize,
    /// Deployments in their build phase at once (the others wait, queued, in arrival order).
    pub max_concurrent_builds: usize,
    /// The first crash restart of a live version waits this long (doubling per consecutive crash).
    pub crash_backoff_base: Duration,
    /// Where apps' checkouts and homes live (reachable by app users; not inside `data_dir`).
    /// Where Rhone keeps the tools it provisions for builds (Yarn, pnpm, uv, Poetry…), one directory
    /// per tool and version, readable by every app; `None` = `<apps_dir>/.tools`.
    pub tools_dir: Option<PathBuf>,
    pub apps_dir: PathBuf,
    /// Which user app code runs as.
    pub isolation: runtime::sandbox::Isolation,
    /// Whether `repo_url` may name a path on this machine.
    pub local_repos: LocalRepos,
    /// Log bounds: app output lines kept per second per channel, log streams per user.
    pub log_limits: logs::LogLimits,
    /// What the periodic `retention` job keeps, and how often the periodic jobs run.
    pub retention: jobs::RetentionSettings,
    /// The runtime of an app created without naming one (`auto`: docker when an engine answers).
    pub default_runtime: types::DefaultRuntime,
    /// The container engine's address (`unix:///path`, a socket path or `tcp://host:port`; unset:
    /// `/var/run/docker.sock`).
    pub docker_host: Option<String>,
    /// How containers reach the network: bridge with a 127.0.0.1-published port, or host (tests).
    pub docker_network: runtime::docker::NetworkMode,
    /// CPU (millicores) and memory (MiB) caps of one image build, so builds never starve serving apps.
    pub docker_build_cpu_millis: Option<i64>,
    pub docker_build_memory_mb: Option<i64>,
    /// Base images of generated Dockerfiles (`docker_base_<name>` settings).
    pub docker_base_images: detect::dockerfile::BaseImages,
    /// How long an invitation link works.
    pub invitation_ttl: Duration,
    /// Outbound mail (invitations); no `url`: links are only shown, not sent.
    pub mail: mail::MailSettings,
    /// The secret GitHub signs webhook deliveries with; `None` turns the webhook off.
    pub github_webhook_secret: Option<github::WebhookSecret>,
    /// The GitHub App Rhone acts as (commit statuses, private clones); `None`: no App.
    pub github_app: Option<github::api::GitHubAppSettings>,
    /// A GitHub account linked to no Rhone account may sign in, getting a new account.
    pub github_signup: bool,
    /// The installation's own OpenID Connect provider for sign-in; `None`: none.
    pub oidc: Option<auth::oidc::OidcSettings>,
    /// Custom domains: where this installation is reached and which nameservers Rhone asks.
    pub domains: domains::DomainSettings,
    /// Certificates for custom domains from this ACME CA; `None`: no HTTPS.
    pub acme: Option<tls::AcmeSettings>,
    /// Where DNS-01 records are published (`dns_provider`): with one, `*.{base_domain}` gets a
    /// wildcard certificate.
    pub dns_provider: Option<dns01::DnsProvider>,
    /// The dashboard's public host (`public_url`'s), which gets a certificate and is routed by
    /// the proxy to the dashboard when ACME is on.
    pub dashboard_host: Option<String>,
    /// Plans, limits and Stripe (`stripe_*`); `None`: billing off, everything unlimited.
    pub billing: Option<billing::BillingSettings>,
}

/// The public addresses Rhone puts in links it sends elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The dashboard's origin (`public_url`, else its listen address), no trailing `/`.
    pub dashboard: String,
    /// `http` or `https`: how visitors reach `{slug}.{base_domain}`.
    pub app_scheme: String,
    /// The proxy's public port (omitted from links when it is the scheme's default).
    pub app_port: u16,
}

impl Links {
    /// `http://{slug}.{base_domain}:{port}`.
    pub fn app_url(&self, base_domain: &str, slug: &str) -> String {
        let default_port = matches!((self.app_scheme.as_str(), self.app_port), ("http", 80) | ("https", 443));
        let port = if default_port { String::new() } else { format!(":{}", self.app_port) };
        format!("{}://{slug}.{base_domain}{port}", self.app_scheme)
    }

    /// The dashboard page with deployment `id`'s row and log.
    pub fn deployment_url(&self, slug: &str, id: i64) -> String {
        format!("{}/apps/{slug}/deployments?deployment={id}", self.dashboard)
    }
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
            switch_watch: Duration::from_secs(5),
            health_interval: Duration::from_secs(10),
            health_failures: 3,
            keep_builds: 5,
            workers: 2,
            max_concurrent_builds: 1,
            crash_backoff_base: runtime::supervisor::CRASH_BACKOFF,
            apps_dir: PathBuf::from(format!("{}-apps", data_dir.display())),
            tools_dir: None,
            isolation: runtime::sandbox::Isolation::for_current_process(false, runtime::sandbox::DEFAULT_UID_BASE),
            local_repos: LocalRepos::Auto,
            log_limits: logs::LogLimits::default(),
            retention: jobs::RetentionSettings::default(),
            default_runtime: types::DefaultRuntime::Auto,
            docker_host: None,
            docker_network: runtime::docker::NetworkMode::Bridge,
            docker_build_cpu_millis: None,
            docker_build_memory_mb: None,
            docker_base_images: detect::dockerfile::BaseImages::default(),
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            mail: mail::MailSettings { url: None, from: "Rhone <rhone@localhost>".into() },
            github_webhook_secret: None,
            github_app: None,
            github_signup: false,
            oidc: None,
            domains: domains::DomainSettings::default(),
            acme: None,
            dns_provider: None,
            dashboard_host: None,
            billing: None,
            data_dir,
        }
    }

    /// Root of every app's checkouts (`<apps_dir>/<slug>/builds/<deployment>`).
    pub fn builds_dir(&self) -> PathBuf {
        self.apps_dir.clone()
    }

    /// Where provisioned build tools live (see [`Settings::tools_dir`]).
    pub fn tools_dir(&self) -> PathBuf {
        self.tools_dir.clone().unwrap_or_else(|| self.apps_dir.join(".tools"))
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

    /// This installation's id, the label on every container and image it makes (derived from the
    /// data dir, so two installations on one engine never touch each other's).
    pub fn installation_id(&self) -> String {
        use sha2::Digest;
        let dir = std::fs::canonicalize(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        hex::encode(&sha2::Sha256::digest(dir.to_string_lossy().as_bytes())[..6])
    }

    pub fn docker_settings(&self) -> runtime::docker::DockerSettings {
        runtime::docker::DockerSettings {
            host: self.docker_host.clone(),
            network: self.docker_network,
            installation: self.installation_id(),
            build_cpu_millis: self.docker_build_cpu_millis,
            build_memory_mb: self.docker_build_memory_mb,
        }
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
    pub runtime: runtime::Runtimes,
    key: crypto::SecretKey,
    limiter: auth::LoginLimiter,
    challenges: auth::Challenges,
    passwords: auth::PasswordPool,
    pipeline: pipeline::Control,
    /// Recently computed disk usage per app (`apps/status.rs`).
    usage: apps::status::UsageCache,
    /// Stripe prices shown on billing pages.
    prices: billing::PriceCache,
    /// Meter events' pace.
    meter_pace: billing::Pace,
    /// The SMTP relay, when one is configured.
    mailer: Option<mail::Mailer>,
    /// The GitHub API, when a GitHub App is configured.
    pub github: Option<Arc<dyn github::api::GitHubApi>>,
    /// The OpenID Connect provider, when one is configured.
    pub oidc: Option<Arc<auth::oidc::Oidc>>,
    /// DNS lookups of custom domains (made at first use).
    dns: Arc<std::sync::OnceLock<domains::Dns>>,
    /// The certificates the HTTPS listener serves.
    pub tls: Arc<tls::CertStore>,
    /// Where the dashboard and the apps are reached from outside (links Rhone sends elsewhere); set
    /// by the server once its listeners are bound.
    links: Arc<arc_swap::ArcSwap<Links>>,
}

impl Services {
    /// Sets where the dashboard and the apps are reached from outside.
    pub fn set_links(&self, links: Links) {
        self.links.store(Arc::new(links));
    }

    pub fn links(&self) -> Arc<Links> {
        self.links.load_full()
    }

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
        let runtime = runtime::Runtimes::new(runtime::DockerRuntime::new(settings.docker_settings())).with_crash_backoff(settings.crash_backoff_base);
        let pipeline = pipeline::Control::new(settings.max_concurrent_builds);
        let mailer = mail::Mailer::new(&settings.mail)?;
        let github = match &settings.github_app {
            Some(app) => Some(Arc::new(github::api::OctocrabGitHub::new(app)?) as Arc<dyn github::api::GitHubApi>),
            None => None,
        };
        let oidc = settings.oidc.clone().map(auth::oidc::Oidc::new).transpose()?.map(Arc::new);
        Ok(Services {
            logs: logs::LogHub::with_limits(store.clone(), settings.log_limits),
            settings: Arc::new(settings),
            store,
            routes,
            runtime,
            key,
            limiter: auth::LoginLimiter::default(),
            challenges: auth::Challenges::default(),
            passwords: auth::PasswordPool::default(),
            pipeline,
            usage: apps::status::UsageCache::default(),
            prices: billing::PriceCache::default(),
            meter_pace: billing::Pace::default(),
            mailer,
            github,
            oidc,
            dns: Arc::default(),
            tls: Arc::default(),
            links: Arc::new(arc_swap::ArcSwap::from_pointee(Links { dashboard: "http://localhost:3000".into(), app_scheme: "http".into(), app_port: 8080 })),
        })
    }
}
