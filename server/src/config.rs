//! Rhone's configuration: one typed struct, loaded once at startup from an optional `rhone.toml` and
//! `RHONE_*` environment variables (the environment wins), validated, passed explicitly.

mod billing;
mod dns;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A secret value: `Debug` and `Display` never print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Dashboard + REST API.
    pub addr: SocketAddr,
    /// The reverse proxy for apps.
    pub proxy_addr: SocketAddr,
    pub base_domain: String,
    /// May hold a password (`postgres://user:pw@…`): never printed.
    pub database_url: Secret,
    pub secret_key: Option<Secret>,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    /// Mark session cookies `Secure` (set when the dashboard is served over https).
    pub secure_cookies: bool,
    pub health_timeout: Duration,
    pub drain_timeout: Duration,
    pub workers: usize,
    /// Deployments in their build phase at once, whatever `workers` is (default 1).
    pub max_concurrent_builds: usize,
    /// The first crash restart of a live app waits this long, doubling per consecutive crash.
    pub crash_backoff: Duration,
    /// Where apps' checkouts and homes live (unset: `<data_dir>-apps`, see `domain::dirs::default_apps_dir`).
    pub apps_dir: Option<PathBuf>,
    /// Where build tools Rhone installs from the package registries (Yarn, pnpm, uv, Poetry…) are kept
    /// (unset: `<apps_dir>/.tools`); app users must be able to reach it.
    pub tools_dir: Option<PathBuf>,
    /// When Rhone is not root: run apps as Rhone's own user instead of refusing to run them.
    pub allow_shared_uid: bool,
    /// Apps run as uid = gid = `app_uid_base + app id` (when Rhone is root).
    pub app_uid_base: u32,
    /// `auto` (allowed while there is a single user), `true` or `false`.
    pub allow_local_repos: domain::LocalRepos,
    /// Stop the apps when Rhone stops (default: they keep serving and are re-adopted).
    pub stop_apps: bool,
    /// The dashboard's public origin (`https://rhone.example.com`): the only `Host` (besides
    /// loopback addresses) it answers to and the only `Origin` whose cookie writes it accepts.
    pub public_url: Option<crate::http::dashboard::PublicUrl>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (addresses and CIDR blocks).
    pub trusted_proxies: domain::net::TrustedProxies,
    /// How long an app may take to send a response head through the proxy (then 504).
    pub proxy_upstream_timeout: Duration,
    /// Proxy client connections idle this long are closed.
    pub proxy_idle_timeout: Duration,
    /// Open proxy client connections at most; more wait until one closes.
    pub proxy_max_connections: usize,
    /// App output lines kept per second per log (the rest are dropped and counted).
    pub log_lines_per_sec: u32,
    /// Log streams one user may follow at the same time.
    pub log_streams_per_user: usize,
    /// Stored log lines older than this are deleted (by the periodic `retention` job).
    pub log_retention: Duration,
    /// Stored log lines kept per log (one build, one app's output) at most.
    pub log_keep_lines: i64,
    /// Finished deployments kept per app (live ones and those with a kept build are always kept).
    pub keep_deployments: i64,
    /// Audit log entries older than this are deleted (by the periodic `retention` job).
    pub audit_retention: Duration,
    /// How long an invitation link works.
    pub invitation_ttl: Duration,
    /// The SMTP relay for invitation emails (`smtp://`, `smtp+starttls://` or `smtps://`, with
    /// `user:password@` if it wants a login); unset: links are shown, not emailed.
    pub smtp_url: Option<Secret>,
    /// The secret of GitHub webhook deliveries (`X-Hub-Signature-256`); unset: the webhook is off.
    pub github_webhook_secret: Option<Secret>,
    /// The GitHub App (`github_app_id` and `github_app_private_key_file`, both or neither;
    /// `github_api_url`, default `https://api.github.com`; `github_web_url`, default
    /// `https://github.com`). The key is read at startup and never printed.
    pub github_app: Option<domain::github::api::GitHubAppSettings>,
    /// A GitHub account linked to no Rhone account may sign in and gets a new account (default
    /// false: only linked accounts sign in with GitHub).
    pub github_signup: bool,
    /// Sign-in through the installation's own OpenID Connect provider (`oidc_issuer`,
    /// `oidc_client_id`, `oidc_client_secret`: all or none; `oidc_name`, the button's label,
    /// default "single sign-on"; `oidc_signup`: unlinked provider accounts get an account).
    pub oidc: Option<domain::auth::oidc::OidcSettings>,
    /// Custom domains: `public_hostname` and `public_ips` (what a domain's CNAME or A/AAAA records
    /// must point at), `dns_resolvers` (comma-separated `ip:port`; unset: the system's) and
    /// `domain_check_interval_secs` (default 3600).
    pub domains: domain::domains::DomainSettings,
    /// Certificates for custom domains (`acme_directory`, default Let's Encrypt; `acme_email`;
    /// `acme_ca_file`, an extra root for the ACME server; `acme_challenge`, `http-01` by default
    /// or `tls-alpn-01`): off until `acme_directory` or `acme_email` is set.
    pub acme: Option<domain::tls::AcmeSettings>,
    /// DNS-01 (`dns_provider` = `rfc2136` with `dns_rfc2136_server`, `dns_rfc2136_zone` (default
    /// the base domain), `dns_rfc2136_key_name`, `dns_rfc2136_key_algorithm`,
    /// `dns_rfc2136_key_secret`; or `cloudflare` with `cloudflare_api_token`,
    /// `cloudflare_api_url`, `cloudflare_zone_id`): a wildcard certificate for `*.{base_domain}`.
    pub dns_provider: Option<domain::dns01::DnsProvider>,
    /// Billing (`stripe_secret_key`, `stripe_webhook_secret`, `stripe_api_url`, `stripe_prices`,
    /// `stripe_metered_prices`, `plan_limits` (`free.builds=100,pro.apps=unlimited`), `plan_overage`
    /// (`starter.build_cents=2`; a rate of 0 makes the limit hard),
    /// `usage_report_secs` (default 3600), `billing_grace_days` (default 7),
    /// `stripe_meter_events_per_sec` (default 500 with a live key, else 20)): off, everything
    /// unlimited, without a secret key.
    pub billing: Option<domain::billing::BillingSettings>,
    /// The HTTPS listener (`https_addr`, default `0.0.0.0:8443`; 443 in a real install), bound
    /// when ACME is on.
    pub https_addr: SocketAddr,
    /// The sender of those emails.
    pub mail_from: String,
    /// The runtime of an app created without naming one: `auto` (docker when an engine answers at
    /// `docker_host`), `process` or `docker`.
    pub default_runtime: domain::types::DefaultRuntime,
    /// The container engine (`unix:///var/run/docker.sock`, a socket path or `tcp://host:port`;
    /// unset: `/var/run/docker.sock`).
    pub docker_host: Option<String>,
    /// Containers' network: `bridge` (port published on 127.0.0.1; the default) or `host`.
    pub docker_network: domain::runtime::docker::NetworkMode,
    /// CPU cap of one image build, in cores (default 1), and its memory cap in MiB (default 2048).
    pub docker_build_cpus: Option<domain::types::CpuLimit>,
    pub docker_build_memory_mb: Option<i64>,
    /// How long a new version is watched after the switch (0: not watched).
    pub switch_watch: Duration,
    /// How often a live instance's health check runs (0: never after it went live), and how many
    /// failed checks in a row get it restarted.
    pub health_interval: Duration,
    pub health_failures: u32,
    /// Base images of generated Dockerfiles (`docker_base_go`, `_node`, `_python`, `_rust`, `_static`,
    /// `_runtime`; see `domain::detect::BaseImages`).
    pub docker_base_images: domain::detect::BaseImages,
}

const KEYS: &[&str] = &[
    "data_dir", "addr", "proxy_addr", "base_domain", "database_url", "secret_key", "admin_email",
    "admin_password", "secure_cookies", "health_timeout_secs", "drain_timeout_secs", "workers",
    "apps_dir", "tools_dir", "allow_shared_uid", "app_uid_base", "allow_local_repos", "stop_apps",
    "public_url", "trusted_proxies", "proxy_upstream_timeout_secs", "proxy_idle_timeout_secs",
    "proxy_max_connections", "log_lines_per_sec", "log_streams_per_user",
    "log_retention_days", "log_keep_lines", "keep_deployments", "default_runtime", "docker_host",
    "docker_network", "docker_build_cpus", "docker_build_memory_mb", "max_concurrent_builds", "crash_backoff_ms", "switch_watch_secs",
    "health_interval_secs", "health_failures", "audit_retention_days", "invitation_ttl_secs", "smtp_url", "mail_from",
    "github_webhook_secret", "github_app_id", "github_app_private_key_file", "github_api_url", "github_web_url",
    "github_client_id", "github_client_secret", "github_signup",
    "oidc_issuer", "oidc_client_id", "oidc_client_secret", "oidc_name", "oidc_signup",
    "public_hostname", "public_ips", "dns_resolvers", "domain_check_interval_secs",
    "acme_directory", "acme_email", "acme_ca_file", "acme_challenge", "https_addr",
    "dns_provider", "dns_rfc2136_server", "dns_rfc2136_zone", "dns_rfc2136_key_name", "dns_rfc2136_key_algorithm",
    "dns_rfc2136_key_secret", "cloudflare_api_token", "cloudflare_api_url", "cloudflare_zone_id",
    "stripe_secret_key", "stripe_webhook_secret", "stripe_api_url", "stripe_prices", "stripe_metered_prices",
    "usage_report_secs", "billing_grace_days", "plan_limits", "plan_overage", "stripe_meter_events_per_sec",
    "stripe_meter_event_names", "billing_plans",
];

/// The ACME settings: off unless a directory or an email is set.
fn acme(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<domain::tls::AcmeSettings>, ConfigError> {
    let challenge = match get("acme_challenge") {
        None => domain::tls::Challenge::default(),
        Some(c) => domain::tls::Challenge::parse(&c).ok_or_else(|| ConfigError(format!("acme_challenge must be http-01 or tls-alpn-01, got {c:?}")))?,
    };
    let (directory, email) = (get("acme_directory"), get("acme_email"));
    if directory.is_none() && email.is_none() {
        return Ok(None);
    }
    let directory = directory.unwrap_or_else(|| domain::tls::LETS_ENCRYPT.into());
    match url::Url::parse(&directory) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => {}
        _ => return Err(ConfigError(format!("acme_directory must be the URL of an ACME directory, got {directory:?}"))),
    }
    if let Some(e) = &email {
        domain::types::Email::parse(e).map_err(|_| ConfigError(format!("acme_email must be an email address, got {e:?}")))?;
    }
    let ca_file = get("acme_ca_file").map(PathBuf::from);
    if let Some(f) = &ca_file {
        std::fs::read(f).map_err(|e| ConfigError(format!("acme_ca_file {} cannot be read: {e}", f.display())))?;
    }
    Ok(Some(domain::tls::AcmeSettings { directory, email, ca_file, challenge }))
}

/// The custom-domain settings, refused with the setting's name when malformed.
fn domains(get: &dyn Fn(&str) -> Option<String>, check_interval: Duration) -> Result<domain::domains::DomainSettings, ConfigError> {
    let items = |k: &str| get(k).map(|v| v.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>()).unwrap_or_default();
    let public_ips = items("public_ips")
        .iter()
        .map(|v| v.parse().map_err(|_| ConfigError(format!("public_ips must be IP addresses, got {v:?}"))))
        .collect::<Result<Vec<std::net::IpAddr>, _>>()?;
    let resolvers = items("dns_resolvers")
        .iter()
        .map(|v| {
            v.parse::<SocketAddr>()
                .or_else(|_| v.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| ConfigError(format!("dns_resolvers must be addresses like 192.0.2.53:53, got {v:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let public_hostname = match get("public_hostname") {
        None => None,
        Some(h) => Some(domain::domains::host_name(&h).map_err(|_| ConfigError(format!("public_hostname must be a host name, got {h:?}")))?),
    };
    if check_interval.is_zero() {
        return Err(ConfigError("domain_check_interval_secs must be at least 1".into()));
    }
    Ok(domain::domains::DomainSettings { public_hostname, public_ips, resolvers, check_interval })
}

/// The OpenID Connect provider, refused with the setting's name when incomplete.
fn oidc(get: &dyn Fn(&str) -> Option<String>, signup: bool) -> Result<Option<domain::auth::oidc::OidcSettings>, ConfigError> {
    let set = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let (issuer, id, secret) = match (set("oidc_issuer"), set("oidc_client_id"), set("oidc_client_secret")) {
        (None, None, None) => return Ok(None),
        (Some(i), Some(c), Some(s)) => (i, c, s),
        _ => return Err(ConfigError("oidc_issuer, oidc_client_id and oidc_client_secret go together: set all three or none".into())),
    };
    let settings = domain::auth::oidc::OidcSettings {
        issuer,
        client_id: id,
        client_secret: secret.into(),
        name: set("oidc_name").unwrap_or_else(|| "single sign-on".into()),
        signup,
    };
    settings.check().map_err(ConfigError)?;
    Ok(Some(settings))
}

/// The GitHub App settings, refused with the setting's name when incomplete or unusable.
fn github_app(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<domain::github::api::GitHubAppSettings>, ConfigError> {
    let url = |k: &str, default: &str| -> Result<String, ConfigError> {
        let v = get(k).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.into());
        let v = v.trim().trim_end_matches('/').to_string();
        match url::Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.username().is_empty() && u.password().is_none() && u.query().is_none() => Ok(v),
            _ => Err(ConfigError(format!("{k} must be an http(s) URL without credentials or query, got {v:?}"))),
        }
    };
    let api_url = url("github_api_url", "https://api.github.com")?;
    let web_url = url("github_web_url", "https://github.com")?;
    let id = get("github_app_id").filter(|v| !v.trim().is_empty());
    let key_file = get("github_app_private_key_file").filter(|v| !v.trim().is_empty());
    let (id, key_file) = match (id, key_file) {
        (None, None) => return Ok(None),
        (Some(id), Some(f)) => (id, f),
        _ => return Err(ConfigError("github_app_id and github_app_private_key_file go together: set both or neither".into())),
    };
    let app_id: u64 = id.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError(format!("github_app_id must be the App's numeric id, got {id:?}")))?;
    let pem = std::fs::read_to_string(key_file.trim()).map_err(|e| ConfigError(format!("github_app_private_key_file {key_file:?} cannot be read: {e}")))?;
    let client_id = get("github_client_id").filter(|v| !v.trim().is_empty());
    let client_secret = get("github_client_secret").filter(|v| !v.trim().is_empty());
    if client_id.is_some() != client_secret.is_some() {
        return Err(ConfigError("github_client_id and github_client_secret go together: set both or neither".into()));
    }
    let app = domain::github::api::GitHubAppSettings { app_id, private_key_pem: pem, api_url, web_url, client_id, client_secret };
    app.check().map_err(ConfigError)?;
    Ok(Some(app))
}

/// A setting name of `KEYS` or one of the `docker_base_<name>` images.
fn known_key(k: &str) -> bool {
    KEYS.contains(&k) || domain::detect::BaseImages::DEFAULTS.iter().any(|(key, _)| *key == k)
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Reads `RHONE_CONFIG` (default `./rhone.toml`, optional) and the process environment.
    pub fn load() -> Result<Config, ConfigError> {
        let path = std::env::var("RHONE_CONFIG").unwrap_or_else(|_| "rhone.toml".into());
        let file = match std::fs::read_to_string(&path) {
            Ok(s) => Some(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ConfigError(format!("cannot read {path}: {e}"))),
        };
        Config::from_sources(file.as_deref(), std::env::vars())
    }

    pub fn from_sources(file: Option<&str>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let mut raw: HashMap<String, String> = HashMap::new();
        if let Some(text) = file {
            let table: toml::Table = text.parse().map_err(|e| ConfigError(format!("rhone.toml: {e}")))?;
            for (k, v) in table {
                if !known_key(&k) {
                    return Err(ConfigError(format!("rhone.toml: unknown key {k:?}")));
                }
                let v = match v {
                    toml::Value::String(s) => s,
                    toml::Value::Array(items) => items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string)).collect::<Vec<_>>().join(","),
                    other => other.to_string(),
                };
                raw.insert(k, v);
            }
        }
        for (k, v) in env {
            if let Some(key) = k.strip_prefix("RHONE_") {
                let key = key.to_ascii_lowercase();
                if known_key(&key) {
                    raw.insert(key, v);
                }
            }
        }
        let get = |k: &str| raw.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let addr = |k: &str, default: &str| -> Result<SocketAddr, ConfigError> {
            let v = get(k).unwrap_or_else(|| default.into());
            v.parse().map_err(|_| ConfigError(format!("{k} must be an address like 127.0.0.1:3000, got {v:?}")))
        };
        let secs = |k: &str, default: u64| -> Result<Duration, ConfigError> {
            match get(k) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => v.parse().map(Duration::from_secs).map_err(|_| ConfigError(format!("{k} must be a number of seconds"))),
            }
        };
        let data_dir = PathBuf::from(get("data_dir").unwrap_or_else(|| "./data".into()));
        let base_domain = get("base_domain").unwrap_or_else(|| "localhost".into()).to_ascii_lowercase();
        let default_from = format!("Rhone <rhone@{base_domain}>");
        let dns_provider = dns::dns_provider(&get, &base_domain)?;
        if base_domain.starts_with('.') || base_domain.contains(['/', ':', ' ']) {
            return Err(ConfigError(format!("base_domain must be a domain name like example.com, got {base_domain:?}")));
        }
        let database_url = get("database_url").unwrap_or_else(|| format!("sqlite://{}/rhone.db", data_dir.display()));
        let workers = match get("workers") {
            None => 2,
            Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError("workers must be a positive number".into()))?,
        };
        let secure_cookies = matches!(get("secure_cookies").as_deref(), Some("1" | "true" | "yes"));
        let flag = |k: &str| -> Result<bool, ConfigError> {
            match get(k).as_deref() {
                None | Some("0" | "false" | "no") => Ok(false),
                Some("1" | "true" | "yes") => Ok(true),
                Some(v) => Err(ConfigError(format!("{k} must be true or false, got {v:?}"))),
            }
        };
        let count = |k: &str, default: usize| -> Result<usize, ConfigError> {
            match get(k) {
                None => Ok(default),
                Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError(format!("{k} must be a positive number, got {v:?}"))),
            }
        };
        const DAY: usize = 24 * 3600;
        let grace_days = match get("billing_grace_days") {
            None => 7,
            Some(v) => v.parse::<u64>().ok().filter(|d| *d <= 365).ok_or_else(|| ConfigError(format!("billing_grace_days must be from 0 to 365, got {v:?}")))?,
        };
        let usage_report = secs("usage_report_secs", 3600)?;
        if usage_report.is_zero() {
            return Err(ConfigError("usage_report_secs must be at least 1".into()));
        }
        let billing = billing::billing(&get, usage_report, grace_days)?;
        let kept = domain::jobs::RetentionSettings::default();
        let apps_dir = get("apps_dir").map(PathBuf::from);
        let tools_dir = get("tools_dir").map(PathBuf::from);
        let app_uid_base = match get("app_uid_base") {
            None => domain::runtime::sandbox::DEFAULT_UID_BASE,
            Some(v) => v.parse().ok().filter(|n| *n >= 1000).ok_or_else(|| ConfigError("app_uid_base must be a number of at least 1000".into()))?,
        };
        let allow_local_repos = match get("allow_local_repos").as_deref() {
            None | Some("auto") => domain::LocalRepos::Auto,
            Some("1" | "true" | "yes") => domain::LocalRepos::Allowed,
            Some("0" | "false" | "no") => domain::LocalRepos::Refused,
            Some(v) => return Err(ConfigError(format!("allow_local_repos must be auto, true or false, got {v:?}"))),
        };
        let default_runtime = domain::types::DefaultRuntime::parse(&get("default_runtime").unwrap_or_default())
            .map_err(|_| ConfigError(format!("default_runtime must be auto, process or docker, got {:?}", get("default_runtime").unwrap_or_default())))?;
        let docker_host = get("docker_host");
        if let Some(h) = &docker_host {
            if domain::runtime::engine::EngineAddr::parse(Some(h)).is_none() {
                return Err(ConfigError(format!("docker_host must be unix:///path/to/docker.sock, an absolute socket path or tcp://host:port, got {h:?}")));
            }
        }
        let docker_network = domain::runtime::docker::NetworkMode::parse(&get("docker_network").unwrap_or_else(|| "bridge".into()))
            .map_err(|e| ConfigError(e.to_string()))?;
        let docker_build_cpus = match get("docker_build_cpus") {
            None => Some(domain::types::CpuLimit::from_millicores(1000).map_err(|e| ConfigError(e.to_string()))?),
            Some(v) if v == "0" || v == "unlimited" => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .map_err(|_| ConfigError(format!("docker_build_cpus must be a number of cores like 1.5, got {v:?}")))
                    .and_then(|c| domain::types::CpuLimit::from_cores(c).map_err(|_| ConfigError(format!("docker_build_cpus must be from 0.01 to 64 cores, got {v:?}"))))?,
            ),
        };
        let docker_build_memory_mb = match get("docker_build_memory_mb") {
            None => Some(2048),
            Some(v) if v == "0" || v == "unlimited" => None,
            Some(v) => Some(
                v.parse::<i64>()
                    .ok()
                    .filter(|m| (64..=1_048_576).contains(m))
                    .ok_or_else(|| ConfigError(format!("docker_build_memory_mb must be from 64 to 1048576, got {v:?}")))?,
            ),
        };
        Ok(Config {
            addr: addr("addr", "127.0.0.1:3000")?,
            proxy_addr: addr("proxy_addr", "0.0.0.0:8080")?,
            base_domain,
            database_url: Secret(database_url),
            secret_key: get("secret_key").map(Secret),
            admin_email: get("admin_email"),
            admin_password: get("admin_password").map(Secret),
            secure_cookies,
            health_timeout: secs("health_timeout_secs", 60)?,
            drain_timeout: secs("drain_timeout_secs", 10)?,
            workers,
            max_concurrent_builds: count("max_concurrent_builds", 1)?,
            crash_backoff: match get("crash_backoff_ms") {
                None => domain::runtime::supervisor::CRASH_BACKOFF,
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|ms| (10..=60_000).contains(ms))
                    .map(Duration::from_millis)
                    .ok_or_else(|| ConfigError(format!("crash_backoff_ms must be from 10 to 60000, got {v:?}")))?,
            },
            apps_dir,
            tools_dir,
            allow_shared_uid: flag("allow_shared_uid")?,
            app_uid_base,
            allow_local_repos,
            stop_apps: flag("stop_apps")?,
            public_url: get("public_url").map(|u| crate::http::dashboard::PublicUrl::parse(&u)).transpose().map_err(ConfigError)?,
            trusted_proxies: domain::net::TrustedProxies::parse(&get("trusted_proxies").unwrap_or_default()).map_err(|e| ConfigError(e.to_string()))?,
            proxy_upstream_timeout: secs("proxy_upstream_timeout_secs", 60)?,
            proxy_idle_timeout: secs("proxy_idle_timeout_secs", 60)?,
            proxy_max_connections: count("proxy_max_connections", 4096)?,
            log_lines_per_sec: u32::try_from(count("log_lines_per_sec", 2_000)?).map_err(|_| ConfigError("log_lines_per_sec is too large".into()))?,
            log_streams_per_user: count("log_streams_per_user", 8)?,
            log_retention: Duration::from_secs(count("log_retention_days", kept.log_max_age.as_secs() as usize / DAY)?.saturating_mul(DAY) as u64),
            log_keep_lines: i64::try_from(count("log_keep_lines", kept.log_keep_lines as usize)?).unwrap_or(i64::MAX),
            keep_deployments: i64::try_from(count("keep_deployments", kept.keep_deployments as usize)?).unwrap_or(i64::MAX),
            audit_retention: Duration::from_secs(count("audit_retention_days", kept.audit_max_age.as_secs() as usize / DAY)?.saturating_mul(DAY) as u64),
            invitation_ttl: secs("invitation_ttl_secs", 7 * 24 * 3600)?,
            smtp_url: get("smtp_url").filter(|u| !u.trim().is_empty()).map(Secret),
            github_webhook_secret: get("github_webhook_secret").filter(|s| !s.is_empty()).map(Secret),
            github_app: github_app(&get)?,
            github_signup: flag("github_signup")?,
            oidc: oidc(&get, flag("oidc_signup")?)?,
            domains: domains(&get, secs("domain_check_interval_secs", 3600)?)?,
            acme: acme(&get)?,
            dns_provider,
            billing,
            https_addr: addr("https_addr", "0.0.0.0:8443")?,
            mail_from: get("mail_from").unwrap_or_else(|| default_from.clone()),
            default_runtime,
            docker_host,
            docker_network,
            docker_build_cpus,
            docker_build_memory_mb,
            switch_watch: secs("switch_watch_secs", 5)?,
            health_interval: secs("health_interval_secs", 10)?,
            health_failures: match get("health_failures") {
                None => 3,
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| ConfigError(format!("health_failures must be from 1 to 100, got {v:?}")))?,
            },
            docker_base_images: domain::detect::BaseImages::from_settings(get).map_err(|e| ConfigError(e.to_string()))?,
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_install() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.proxy_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(c.base_domain, "localhost");
        assert_eq!(c.database_url.expose(), "sqlite://./data/rhone.db");
    }

    #[test]
    fn build_slots_and_crash_backoff_have_defaults_and_refuse_nonsense() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!((c.max_concurrent_builds, c.crash_backoff), (1, Duration::from_secs(1)));
        let c = Config::from_sources(Some("max_concurrent_builds = 3\ncrash_backoff_ms = 100\n"), env(&[])).unwrap();
        assert_eq!((c.max_concurrent_builds, c.crash_backoff), (3, Duration::from_millis(100)));
        for bad in [("RHONE_MAX_CONCURRENT_BUILDS", "0"), ("RHONE_MAX_CONCURRENT_BUILDS", "-1"), ("RHONE_CRASH_BACKOFF_MS", "0"), ("RHONE_CRASH_BACKOFF_MS", "1h")] {
            let err = Config::from_sources(None, env(&[bad])).unwrap_err().to_string();
            assert!(err.contains(&bad.0["RHONE_".len()..].to_ascii_lowercase()), "{bad:?}: {err}");
        }
    }

    #[test]
    fn environment_wins_over_the_file() {
        let file = "base_domain = \"file.example\"\nworkers = 3\n";
        let c = Config::from_sources(Some(file), env(&[("RHONE_BASE_DOMAIN", "env.example")])).unwrap();
        assert_eq!(c.base_domain, "env.example");
        assert_eq!(c.workers, 3);
    }

    #[test]
    fn bad_values_and_unknown_keys_are_clear_errors() {
        assert!(Config::from_sources(None, env(&[("RHONE_ADDR", "nope")])).unwrap_err().to_string().contains("addr"));
        assert!(Config::from_sources(Some("colour = 1"), env(&[])).unwrap_err().to_string().contains("colour"));
    }

    #[test]
    fn public_url_and_trusted_proxies_are_parsed_or_refused_clearly() {
        let file = "public_url = \"https://rhone.example.com/\"\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\"]\n";
        let c = Config::from_sources(Some(file), env(&[])).unwrap();
        assert_eq!(c.public_url.unwrap().to_string(), "https://rhone.example.com");
        assert!(c.trusted_proxies.contains("10.9.8.7".parse().unwrap()) && !c.trusted_proxies.contains("192.0.2.1".parse().unwrap()));
        let c = Config::from_sources(None, env(&[("RHONE_TRUSTED_PROXIES", "::1, 192.0.2.0/24")])).unwrap();
        assert!(c.trusted_proxies.contains("192.0.2.9".parse().unwrap()) && c.public_url.is_none());
        let e = Config::from_sources(None, env(&[("RHONE_PUBLIC_URL", "rhone.example.com/x")])).unwrap_err().to_string();
        assert!(e.contains("public_url"), "{e}");
        let e = Config::from_sources(None, env(&[("RHONE_TRUSTED_PROXIES", "10.0.0.0/40")])).unwrap_err().to_string();
        assert!(e.contains("trusted_proxies") && e.contains("10.0.0.0/40"), "{e}");
    }

    #[test]
    fn acme_is_off_until_a_directory_or_email_is_set_and_then_lets_encrypt_by_default() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert!(c.acme.is_none());
        assert_eq!(c.https_addr, "0.0.0.0:8443".parse::<SocketAddr>().unwrap());
        let a = Config::from_sources(None, env(&[("RHONE_ACME_EMAIL", "ops@example.com")])).unwrap().acme.expect("acme");
        assert_eq!((a.directory.as_str(), a.email.as_deref(), a.ca_file.as_ref()), (domain::tls::LETS_ENCRYPT, Some("ops@example.com"), None));
        assert_eq!(a.challenge, domain::tls::Challenge::Http01);
        let t = Config::from_sources(None, env(&[("RHONE_ACME_EMAIL", "ops@example.com"), ("RHONE_ACME_CHALLENGE", "TLS-ALPN-01")])).unwrap().acme.expect("acme");
        assert_eq!(t.challenge, domain::tls::Challenge::TlsAlpn01);
        for (k, v) in [("RHONE_ACME_DIRECTORY", "not a url"), ("RHONE_ACME_EMAIL", "nobody"), ("RHONE_HTTPS_ADDR", "443"), ("RHONE_ACME_CHALLENGE", "dns-01")] {
            let e = Config::from_sources(None, env(&[(k, v)])).unwrap_err().to_string();
            assert!(e.contains(&k["RHONE_".len()..].to_ascii_lowercase()), "{k}: {e}");
        }
        let e = Config::from_sources(None, env(&[("RHONE_ACME_EMAIL", "ops@example.com"), ("RHONE_ACME_CA_FILE", "/nonexistent/ca.pem")])).unwrap_err().to_string();
        assert!(e.contains("acme_ca_file"), "{e}");
    }

    #[test]
    fn billing_is_off_without_a_key_and_its_settings_are_parsed_or_named() {
        assert!(Config::from_sources(None, env(&[])).unwrap().billing.is_none());
        let on = [("RHONE_STRIPE_SECRET_KEY", "sk_test_x"), ("RHONE_STRIPE_PRICES", "starter=price_s, pro=price_p"), ("RHONE_STRIPE_METERED_PRICES", "pro=price_m1|price_m2"), ("RHONE_PLAN_LIMITS", "free.apps=5,pro.members=unlimited")];
        let b = Config::from_sources(None, env(&on)).unwrap().billing.expect("billing");
        assert_eq!(b.api_url, domain::billing::STRIPE_API);
        assert_eq!((b.plan("starter").unwrap().flat_price.as_deref(), b.plan("pro").unwrap().metered_prices.len()), (Some("price_s"), 2));
        assert_eq!((b.plan("free").unwrap().limits.apps, b.plan("pro").unwrap().limits.members), (Some(5), None));
        assert_eq!(b.grace, Duration::from_secs(7 * 86_400));
        assert!(!format!("{b:?}").contains("sk_test_x"), "the key is not printed");
        assert_eq!((b.plan("starter").unwrap().overage.build_cents, b.meter_events_per_sec), (1, 20), "defaults");
        let mut more = on.to_vec();
        more.extend([("RHONE_PLAN_OVERAGE", "starter.build_cents=3, pro.gb_cents=0"), ("RHONE_STRIPE_METER_EVENTS_PER_SEC", "7")]);
        let b = Config::from_sources(None, env(&more)).unwrap().billing.expect("billing");
        assert_eq!((b.plan("starter").unwrap().overage.build_cents, b.plan("pro").unwrap().overage.gb_cents, b.meter_events_per_sec), (3, 0, 7));
        assert_eq!(b.meter_event_names.of(domain::billing::Meter::Builds), "rhone_builds", "the default name");
        // the operator's own plans: a new one starts unlimited and is shaped by the other settings
        let own = [("RHONE_STRIPE_SECRET_KEY", "sk_test_x"), ("RHONE_BILLING_PLANS", "free, Team"), ("RHONE_STRIPE_PRICES", "team=price_t"), ("RHONE_PLAN_LIMITS", "team.members=50")];
        let b = Config::from_sources(None, env(&own)).unwrap().billing.expect("billing");
        let names: Vec<&str> = b.plans.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["free", "team"]);
        let team = b.plan("team").unwrap();
        assert_eq!((team.flat_price.as_deref(), team.limits.members, team.limits.apps), (Some("price_t"), Some(50), None));
        for plans in ["starter,pro", "free,free", "free,Gold Plan"] {
            let e = Config::from_sources(None, env(&[("RHONE_STRIPE_SECRET_KEY", "sk_test_x"), ("RHONE_BILLING_PLANS", plans)])).unwrap_err().to_string();
            assert!(e.contains("billing_plans"), "{plans}: {e}");
        }
        let live = Config::from_sources(None, env(&[("RHONE_STRIPE_SECRET_KEY", "sk_live_x")])).unwrap().billing.expect("billing");
        assert_eq!(live.meter_events_per_sec, 500, "half of Stripe's live limit");
        for (k, v, named) in [
            ("RHONE_STRIPE_PRICES", "gold=price_g", "stripe_prices"),
            ("RHONE_PLAN_LIMITS", "free.seats=3", "plan_limits"),
            ("RHONE_PLAN_OVERAGE", "starter.seat_cents=3", "plan_overage"),
            ("RHONE_PLAN_OVERAGE", "starter.build_cents=-1", "plan_overage"),
            ("RHONE_STRIPE_METER_EVENTS_PER_SEC", "0", "stripe_meter_events_per_sec"),
            ("RHONE_STRIPE_METER_EVENT_NAMES", "cpu=x", "stripe_meter_event_names"),
            ("RHONE_STRIPE_METER_EVENT_NAMES", "builds=a b", "stripe_meter_event_names"),
            ("RHONE_STRIPE_API_URL", "stripe", "stripe_api_url"),
            ("RHONE_BILLING_GRACE_DAYS", "-1", "billing_grace_days"),
        ] {
            let mut bad = on.to_vec();
            bad.push((k, v));
            let e = Config::from_sources(None, env(&bad)).unwrap_err().to_string();
            assert!(e.contains(named), "{k}: {e}");
        }
    }

    #[test]
    fn a_dns_provider_is_parsed_or_each_missing_setting_named() {
        assert!(Config::from_sources(None, env(&[])).unwrap().dns_provider.is_none());
        let rfc = [("RHONE_BASE_DOMAIN", "apps.example.com"), ("RHONE_DNS_PROVIDER", "rfc2136"), ("RHONE_DNS_RFC2136_SERVER", "192.0.2.53"), ("RHONE_DNS_RFC2136_KEY_NAME", "rhone"), ("RHONE_DNS_RFC2136_KEY_SECRET", "c2VjcmV0")];
        match Config::from_sources(None, env(&rfc)).unwrap().dns_provider {
            Some(domain::dns01::DnsProvider::Rfc2136(r)) => {
                assert_eq!((r.server.to_string().as_str(), r.zone.as_str(), r.key_name.as_str(), r.secret.as_slice()), ("192.0.2.53:53", "apps.example.com", "rhone", b"secret".as_slice()));
                assert_eq!(r.algorithm, domain::dns01::TsigAlgorithm::HmacSha256);
            }
            other => panic!("{other:?}"),
        }
        for (drop, named) in [(2, "dns_rfc2136_server"), (3, "dns_rfc2136_key_name"), (4, "dns_rfc2136_key_secret")] {
            let partial: Vec<(&str, &str)> = rfc.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, kv)| *kv).collect();
            let e = Config::from_sources(None, env(&partial)).unwrap_err().to_string();
            assert!(e.contains(named), "{e}");
        }
        for (k, v, named) in [("RHONE_DNS_RFC2136_KEY_SECRET", "not base64!", "dns_rfc2136_key_secret"), ("RHONE_DNS_RFC2136_KEY_ALGORITHM", "hmac-md5", "dns_rfc2136_key_algorithm"), ("RHONE_DNS_PROVIDER", "route53", "dns_provider")] {
            let mut bad = rfc.to_vec();
            bad.push((k, v));
            let e = Config::from_sources(None, env(&bad)).unwrap_err().to_string();
            assert!(e.contains(named), "{e}");
        }
        let e = Config::from_sources(None, env(&[("RHONE_DNS_PROVIDER", "cloudflare")])).unwrap_err().to_string();
        assert!(e.contains("cloudflare_api_token"), "{e}");
        let cf = Config::from_sources(None, env(&[("RHONE_DNS_PROVIDER", "cloudflare"), ("RHONE_CLOUDFLARE_API_TOKEN", "tok")])).unwrap().dns_provider;
        assert!(matches!(cf, Some(domain::dns01::DnsProvider::Cloudflare(ref c)) if c.api_url == domain::dns01::Cloudflare::DEFAULT_API_URL), "{cf:?}");
        assert!(!format!("{cf:?}").contains("tok\""), "the token is not printed");
    }

    #[test]
    fn domain_settings_are_parsed_or_refused_with_their_name() {
        let d = Config::from_sources(None, env(&[])).unwrap().domains;
        assert!(d.public_ips.is_empty() && d.resolvers.is_empty() && d.public_hostname.is_none());
        assert_eq!(d.check_interval, Duration::from_secs(3600));
        let file = "public_ips = \"203.0.113.7, 2001:db8::7\"\npublic_hostname = \"Edge.Example.com\"\ndns_resolvers = \"127.0.0.1:8053,192.0.2.53\"\n";
        let d = Config::from_sources(Some(file), env(&[])).unwrap().domains;
        assert_eq!(d.public_ips, vec!["203.0.113.7".parse::<std::net::IpAddr>().unwrap(), "2001:db8::7".parse().unwrap()]);
        assert_eq!(d.public_hostname.as_deref(), Some("edge.example.com"));
        assert_eq!(d.resolvers, vec!["127.0.0.1:8053".parse::<SocketAddr>().unwrap(), "192.0.2.53:53".parse().unwrap()]);
        for (k, v) in [("RHONE_PUBLIC_IPS", "not-an-ip"), ("RHONE_DNS_RESOLVERS", "dns.example:53"), ("RHONE_PUBLIC_HOSTNAME", "http://x/"), ("RHONE_DOMAIN_CHECK_INTERVAL_SECS", "0")] {
            let e = Config::from_sources(None, env(&[(k, v)])).unwrap_err().to_string();
            assert!(e.contains(&k["RHONE_".len()..].to_ascii_lowercase()), "{k}: {e}");
        }
    }

    #[test]
    fn single_sign_on_needs_issuer_client_and_secret_and_never_prints_the_secret() {
        assert!(Config::from_sources(None, env(&[])).unwrap().oidc.is_none());
        let full = [("RHONE_OIDC_ISSUER", "https://id.example.com/realms/ops"), ("RHONE_OIDC_CLIENT_ID", "rhone"), ("RHONE_OIDC_CLIENT_SECRET", "s3cret-value")];
        let c = Config::from_sources(None, env(&full)).unwrap();
        let o = c.oidc.clone().expect("oidc");
        assert_eq!((o.issuer.as_str(), o.client_id.as_str(), o.name.as_str(), o.signup), ("https://id.example.com/realms/ops", "rhone", "single sign-on", false));
        assert!(!format!("{c:?}").contains("s3cret-value"), "the secret is printed");
        let e = Config::from_sources(None, env(&full[..2])).unwrap_err().to_string();
        assert!(e.contains("oidc_client_secret"), "{e}");
        let e = Config::from_sources(None, env(&[full[1], full[2], ("RHONE_OIDC_ISSUER", "id.example.com?x=1")])).unwrap_err().to_string();
        assert!(e.contains("oidc_issuer"), "{e}");
        let named = Config::from_sources(Some("oidc_name = \"Acme SSO\"\noidc_signup = true\n"), env(&full)).unwrap().oidc.unwrap();
        assert_eq!((named.name.as_str(), named.signup), ("Acme SSO", true));
    }

    #[test]
    fn the_github_app_needs_its_id_and_a_real_key_and_never_prints_the_key() {
        assert!(Config::from_sources(None, env(&[])).unwrap().github_app.is_none());
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("app.pem");
        let out = std::process::Command::new("openssl").args(["genrsa", "-traditional", "-out"]).arg(&key).arg("2048").output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let key_s = key.to_str().unwrap();
        let c = Config::from_sources(None, env(&[("RHONE_GITHUB_APP_ID", "4242"), ("RHONE_GITHUB_APP_PRIVATE_KEY_FILE", key_s)])).unwrap();
        let app = c.github_app.clone().unwrap();
        assert_eq!((app.app_id, app.api_url.as_str(), app.web_url.as_str()), (4242, "https://api.github.com", "https://github.com"));
        assert!(!format!("{app:?}").contains("PRIVATE KEY"), "the key is never printed");
        let file = format!("github_app_id = \"7\"\ngithub_app_private_key_file = \"{key_s}\"\ngithub_api_url = \"https://ghe.example.com/api/v3/\"\n");
        let c = Config::from_sources(Some(&file), env(&[])).unwrap();
        assert_eq!(c.github_app.unwrap().api_url, "https://ghe.example.com/api/v3");
        let not_a_key = dir.path().join("not.pem");
        std::fs::write(&not_a_key, "hello").unwrap();
        let cases = [
            (vec![("RHONE_GITHUB_APP_ID", "4242")], "go together"),
            (vec![("RHONE_GITHUB_APP_ID", "abc"), ("RHONE_GITHUB_APP_PRIVATE_KEY_FILE", key_s)], "numeric id"),
            (vec![("RHONE_GITHUB_APP_ID", "1"), ("RHONE_GITHUB_APP_PRIVATE_KEY_FILE", "/nonexistent/key.pem")], "cannot be read"),
            (vec![("RHONE_GITHUB_APP_ID", "1"), ("RHONE_GITHUB_APP_PRIVATE_KEY_FILE", not_a_key.to_str().unwrap())], "not an RSA private key"),
            (vec![("RHONE_GITHUB_API_URL", "ftp://x")], "github_api_url"),
            (vec![("RHONE_GITHUB_WEB_URL", "https://user:pw@github.com")], "github_web_url"),
        ];
        for (vars, want) in cases {
            let e = Config::from_sources(None, env(&vars)).unwrap_err().to_string();
            assert!(e.contains(want), "{vars:?}: {e}");
        }
    }

    #[test]
    fn retention_settings_are_positive_numbers() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!((c.log_retention, c.log_keep_lines, c.keep_deployments), (Duration::from_secs(30 * 86_400), 10_000, 100));
        let file = "log_retention_days = 7\nlog_keep_lines = 500\nkeep_deployments = 20\n";
        let c = Config::from_sources(Some(file), env(&[])).unwrap();
        assert_eq!((c.log_retention, c.log_keep_lines, c.keep_deployments), (Duration::from_secs(7 * 86_400), 500, 20));
        for (k, v) in [("RHONE_LOG_RETENTION_DAYS", "0"), ("RHONE_LOG_KEEP_LINES", "-5"), ("RHONE_KEEP_DEPLOYMENTS", "lots")] {
            let err = Config::from_sources(None, env(&[(k, v)])).unwrap_err().to_string();
            assert!(err.contains(&k["RHONE_".len()..].to_ascii_lowercase()), "{err}");
        }
    }

    #[test]
    fn proxy_and_log_bounds_have_defaults_and_refuse_nonsense() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!((c.proxy_upstream_timeout.as_secs(), c.proxy_idle_timeout.as_secs(), c.proxy_max_connections), (60, 60, 4096));
        assert_eq!((c.log_lines_per_sec, c.log_streams_per_user), (2_000, 8));
        let file = "proxy_upstream_timeout_secs = 5\nproxy_max_connections = 10\nlog_lines_per_sec = 100\n";
        let c = Config::from_sources(Some(file), env(&[("RHONE_LOG_STREAMS_PER_USER", "3")])).unwrap();
        assert_eq!((c.proxy_upstream_timeout.as_secs(), c.proxy_max_connections, c.log_lines_per_sec, c.log_streams_per_user), (5, 10, 100, 3));
        for (key, value) in [("RHONE_PROXY_MAX_CONNECTIONS", "0"), ("RHONE_LOG_LINES_PER_SEC", "-5"), ("RHONE_PROXY_IDLE_TIMEOUT_SECS", "soon")] {
            let e = Config::from_sources(None, env(&[(key, value)])).unwrap_err().to_string();
            assert!(e.contains(&key["RHONE_".len()..].to_ascii_lowercase()), "{e}");
        }
    }

    #[test]
    fn default_runtime_and_docker_host_are_parsed_or_refused_clearly() {
        use domain::types::{DefaultRuntime, RuntimeKind};
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!((c.default_runtime, c.docker_host), (DefaultRuntime::Auto, None));
        let file = "default_runtime = \"docker\"\ndocker_host = \"unix:///run/docker.sock\"\n";
        let c = Config::from_sources(Some(file), env(&[("RHONE_DEFAULT_RUNTIME", "process")])).unwrap();
        assert_eq!(c.default_runtime, DefaultRuntime::Fixed(RuntimeKind::Process));
        assert_eq!(c.docker_host.as_deref(), Some("unix:///run/docker.sock"));
        for (key, value) in [("RHONE_DEFAULT_RUNTIME", "podman"), ("RHONE_DOCKER_HOST", "docker.sock")] {
            let e = Config::from_sources(None, env(&[(key, value)])).unwrap_err().to_string();
            assert!(e.contains(&key["RHONE_".len()..].to_ascii_lowercase()) && e.contains(value), "{e}");
        }
    }

    #[test]
    fn docker_base_images_have_defaults_and_take_only_image_names() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(c.docker_base_images, domain::detect::BaseImages::default());
        let file = "docker_base_node = \"node:20-bookworm-slim\"\n";
        let c = Config::from_sources(Some(file), env(&[("RHONE_DOCKER_BASE_GO", "registry.local/golang:1.22")])).unwrap();
        assert_eq!((c.docker_base_images.node.as_str(), c.docker_base_images.go.as_str()), ("node:20-bookworm-slim", "registry.local/golang:1.22"));
        let e = Config::from_sources(None, env(&[("RHONE_DOCKER_BASE_STATIC", "busybox\nRUN id")])).unwrap_err().to_string();
        assert!(e.contains("docker_base_static"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::from_sources(
            None,
            env(&[("RHONE_SECRET_KEY", "s3cr3t-value"), ("RHONE_ADMIN_PASSWORD", "pw-123456"), ("RHONE_DATABASE_URL", "postgres://u:db-pw-789@h/d")]),
        )
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t-value") && !printed.contains("pw-123456") && !printed.contains("db-pw-789"), "{printed}");
    }
}
