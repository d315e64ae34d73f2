//! Rhone's configuration: one typed struct, loaded once at startup from an optional `rhone.toml` and
//! `RHONE_*` environment variables (the environment wins), validated, passed explicitly.

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
    pub database_url: String,
    pub secret_key: Option<Secret>,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    /// Mark session cookies `Secure` (set when the dashboard is served over https).
    pub secure_cookies: bool,
    pub health_timeout: Duration,
    pub drain_timeout: Duration,
    pub workers: usize,
}

const KEYS: &[&str] = &[
    "data_dir", "addr", "proxy_addr", "base_domain", "database_url", "secret_key", "admin_email",
    "admin_password", "secure_cookies", "health_timeout_secs", "drain_timeout_secs", "workers",
];

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
                if !KEYS.contains(&k.as_str()) {
                    return Err(ConfigError(format!("rhone.toml: unknown key {k:?}")));
                }
                let v = match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                raw.insert(k, v);
            }
        }
        for (k, v) in env {
            if let Some(key) = k.strip_prefix("RHONE_") {
                let key = key.to_ascii_lowercase();
                if KEYS.contains(&key.as_str()) {
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
        if base_domain.starts_with('.') || base_domain.contains(['/', ':', ' ']) {
            return Err(ConfigError(format!("base_domain must be a domain name like example.com, got {base_domain:?}")));
        }
        let database_url = get("database_url").unwrap_or_else(|| format!("sqlite://{}/rhone.db", data_dir.display()));
        let workers = match get("workers") {
            None => 2,
            Some(v) => v.parse().ok().filter(|n| *n > 0).ok_or_else(|| ConfigError("workers must be a positive number".into()))?,
        };
        let secure_cookies = matches!(get("secure_cookies").as_deref(), Some("1" | "true" | "yes"));
        Ok(Config {
            addr: addr("addr", "127.0.0.1:3000")?,
            proxy_addr: addr("proxy_addr", "0.0.0.0:8080")?,
            base_domain,
            database_url,
            secret_key: get("secret_key").map(Secret),
            admin_email: get("admin_email"),
            admin_password: get("admin_password").map(Secret),
            secure_cookies,
            health_timeout: secs("health_timeout_secs", 60)?,
            drain_timeout: secs("drain_timeout_secs", 10)?,
            workers,
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
        assert_eq!(c.database_url, "sqlite://./data/rhone.db");
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
    fn secrets_never_print() {
        let c = Config::from_sources(None, env(&[("RHONE_SECRET_KEY", "s3cr3t-value"), ("RHONE_ADMIN_PASSWORD", "pw-123456")])).unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("s3cr3t-value") && !printed.contains("pw-123456"), "{printed}");
    }
}
