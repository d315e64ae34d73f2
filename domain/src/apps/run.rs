//! An app's runtime settings: which runtime runs it, CPU and memory limits, replicas, drain and stop
//! timeouts, cookie affinity and the Dockerfile. A change applies to versions started after it.

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::model::App;
use crate::types::{parse_dockerfile_path, CpuLimit, DefaultRuntime, RuntimeKind};
use crate::Services;

/// The runtime settings a create or update request may carry besides the runtime itself (absent =
/// default / unchanged).
#[derive(Debug, Clone, Default)]
pub(super) struct RunInput {
    /// `Some(None)` clears the limit.
    pub cpu_limit: Option<Option<f64>>,
    pub memory_limit_mb: Option<Option<i64>>,
    pub replicas: Option<i64>,
    pub drain_timeout_secs: Option<i64>,
    pub stop_timeout_secs: Option<i64>,
    pub sticky_sessions: Option<bool>,
    /// Blank clears it.
    pub dockerfile_path: Option<String>,
}

/// For a `PATCH` field where `null` means "clear" and an absent field means "keep".
pub(super) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn bounded(field: &'static str, v: i64, min: u32, max: u32, what: &str) -> Result<u32> {
    match u32::try_from(v) {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::invalid(field, format!("must be {what} from {min} to {max}"))),
    }
}

/// Applies `input` to `app` (the runtime is resolved by the caller: `auto` may probe the engine).
pub(super) fn apply(app: &mut App, input: &RunInput) -> Result<()> {
    if let Some(c) = input.cpu_limit {
        app.cpu_limit = c.map(CpuLimit::from_cores).transpose()?;
    }
    if let Some(m) = input.memory_limit_mb {
        let (min, max) = (App::MIN_MEMORY_LIMIT_MB, App::MAX_MEMORY_LIMIT_MB);
        app.memory_limit_mb = m.map(|m| bounded("memory_limit_mb", m, min, max, "a number of MiB")).transpose()?;
    }
    if let Some(r) = input.replicas {
        app.replicas = bounded("replicas", r, 1, App::MAX_REPLICAS, "a number of instances")?;
    }
    if let Some(s) = input.drain_timeout_secs {
        app.drain_timeout_secs = bounded("drain_timeout_secs", s, 1, App::MAX_DRAIN_TIMEOUT_SECS, "a number of seconds")?;
    }
    if let Some(s) = input.stop_timeout_secs {
        app.stop_timeout_secs = bounded("stop_timeout_secs", s, 1, App::MAX_STOP_TIMEOUT_SECS, "a number of seconds")?;
    }
    if let Some(s) = input.sticky_sessions {
        app.sticky_sessions = s;
    }
    if let Some(p) = &input.dockerfile_path {
        app.dockerfile_path = parse_dockerfile_path(p)?;
    }
    Ok(())
}

impl Services {
    /// The runtime an app created without naming one gets: the configured default, where `auto` is
    /// docker when a container engine answers at `docker_host` (or the default socket), else process.
    pub async fn default_runtime(&self) -> RuntimeKind {
        match self.settings.default_runtime {
            DefaultRuntime::Fixed(kind) => kind,
            DefaultRuntime::Auto => {
                if crate::runtime::engine::engine_answers(self.settings.docker_host.as_deref()).await {
                    RuntimeKind::Docker
                } else {
                    RuntimeKind::Process
                }
            }
        }
    }

    /// A requested runtime: `process`, `docker`, or `auto` / blank for [`Services::default_runtime`].
    pub(super) async fn runtime_choice(&self, requested: Option<&str>) -> Result<RuntimeKind> {
        match DefaultRuntime::parse(requested.unwrap_or(""))? {
            DefaultRuntime::Fixed(kind) => Ok(kind),
            DefaultRuntime::Auto => Ok(self.default_runtime().await),
        }
    }
}
