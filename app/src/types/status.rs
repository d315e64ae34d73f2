//! What an app is doing now (its live version's runtime state, the disk its kept builds use) and the
//! build queue: mirrors of `domain::apps::status` and `domain::pipeline::queue`.

use serde::{Deserialize, Serialize};

use super::Deployment;

/// The live version's runtime state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    pub state: wire::RunState,
    pub deployment_id: i64,
    /// Crash restarts since the version went live.
    pub restarts: u32,
    pub instances: usize,
    pub running: usize,
    pub reason: Option<String>,
    /// When crashed: the app's last log lines.
    pub last_lines: Vec<String>,
}

impl RuntimeInfo {
    /// One line for the app page: `running · 2 restarts`, `crashed`.
    pub fn summary(&self) -> String {
        let mut parts = vec![self.state.as_str().to_string()];
        if self.instances > 1 {
            parts.push(format!("{}/{} instances running", self.running, self.instances));
        }
        match self.restarts {
            0 => {}
            1 => parts.push("1 restart".into()),
            n => parts.push(format!("{n} restarts")),
        }
        parts.join(" · ")
    }
}

/// The app page's status panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatusInfo {
    /// `None`: no live version.
    pub runtime: Option<RuntimeInfo>,
    /// `None`: not measurable now.
    pub disk_bytes: Option<u64>,
    pub kept_builds: usize,
}

/// `0 B`, `12.0 KiB`, `3.4 MiB`, `1.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// One row of the build queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedBuildInfo {
    pub position: usize,
    pub state: wire::QueueState,
    pub ahead: usize,
    pub deployment: Deployment,
}

#[cfg(feature = "ssr")]
mod from_domain {
    use super::*;
    use domain::apps::status::{AppOverview, RuntimeStatus};
    use domain::pipeline::queue::QueuedBuild;

    impl From<RuntimeStatus> for RuntimeInfo {
        fn from(s: RuntimeStatus) -> Self {
            RuntimeInfo {
                state: s.state,
                deployment_id: s.deployment_id,
                restarts: s.restarts,
                instances: s.instances,
                running: s.running,
                reason: s.reason,
                last_lines: s.last_lines,
            }
        }
    }

    impl From<AppOverview> for AppStatusInfo {
        fn from(o: AppOverview) -> Self {
            AppStatusInfo {
                runtime: o.runtime_status.map(Into::into),
                disk_bytes: o.disk_usage.map(|u| u.bytes),
                kept_builds: o.disk_usage.map_or(0, |u| u.builds),
            }
        }
    }

    impl From<QueuedBuild> for QueuedBuildInfo {
        fn from(b: QueuedBuild) -> Self {
            QueuedBuildInfo {
                position: b.position,
                state: b.state,
                ahead: b.ahead,
                deployment: b.deployment.into(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_pick_a_readable_unit() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(12 * 1024), "12.0 KiB");
        assert_eq!(bytes(3_565_158), "3.4 MiB");
        assert_eq!(bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn the_summary_names_restarts_and_instances() {
        let mut r = RuntimeInfo { state: wire::RunState::Running, deployment_id: 1, restarts: 0, instances: 1, running: 1, reason: None, last_lines: vec![] };
        assert_eq!(r.summary(), "running");
        r.restarts = 2;
        r.instances = 3;
        r.running = 2;
        assert_eq!(r.summary(), "running · 2/3 instances running · 2 restarts");
    }
}
