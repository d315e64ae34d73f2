//! What an app is doing now: its own state (separate from its deployments' statuses), its live
//! version's runtime state, the release it runs, and the disk its kept builds use; and the build
//! queue. `domain` computes them, the REST API returns them, the dashboard shows them.

use serde::{Deserialize, Serialize};

use crate::{App, Deployment, QueueState, RunState};

/// An app's state, as a user asks "is my app up?".
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AppState {
    /// Nothing was ever live (maybe its deployments failed).
    NotDeployed,
    /// A deployment is in progress (the live version, if any, serves meanwhile).
    Deploying,
    /// The live version serves.
    Running,
    /// The live version exited: it is being restarted after a backoff, or Rhone gave up on it.
    Crashed,
    /// Taken out of service by a user.
    Stopped,
}

impl AppState {
    pub const ALL: [AppState; 5] = [AppState::NotDeployed, AppState::Deploying, AppState::Running, AppState::Crashed, AppState::Stopped];

    pub fn as_str(self) -> &'static str {
        match self {
            AppState::NotDeployed => "not_deployed",
            AppState::Deploying => "deploying",
            AppState::Running => "running",
            AppState::Crashed => "crashed",
            AppState::Stopped => "stopped",
        }
    }

    /// As the dashboard writes it.
    pub fn label(self) -> &'static str {
        match self {
            AppState::NotDeployed => "not deployed",
            other => other.as_str(),
        }
    }

    /// The state from what is known: a user's stop wins, then a live version in trouble (a crash
    /// must not hide behind a deploy in progress), then a deploy in progress, then a live version.
    pub fn of(stopped: bool, runtime: Option<&RuntimeStatus>, deploying: bool) -> AppState {
        if stopped {
            return AppState::Stopped;
        }
        match runtime.map(|r| r.state) {
            Some(RunState::Crashed | RunState::Restarting | RunState::Stopped) => AppState::Crashed,
            _ if deploying => AppState::Deploying,
            Some(RunState::Running | RunState::Static) => AppState::Running,
            None => AppState::NotDeployed,
        }
    }
}

/// The live version of an app as its runtime sees it (`None` on an app with no live version).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RuntimeStatus {
    /// The worst state among the version's instances.
    pub state: RunState,
    pub deployment_id: i64,
    /// Crash restarts since the version went live (or since this Rhone re-adopted it), all
    /// instances together.
    pub restarts: u32,
    /// Instances of the live version, and how many of them run now.
    pub instances: usize,
    pub running: usize,
    /// Why it is restarting, crashed or stopped.
    pub reason: Option<String>,
    /// When crashed (in the app's own view, not in lists): the app's last log lines, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_lines: Vec<String>,
}

impl RuntimeStatus {
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

/// Disk used by the app's kept builds (the rollback targets).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiskUsage {
    /// Bytes: image sizes as the engine reports them (a shared base layer counts in each image),
    /// and the blocks of the kept checkout directories.
    pub bytes: u64,
    /// Kept builds counted.
    pub builds: usize,
}

/// An app in a list (`GET /api/v1/apps`): its state, the release it runs, its newest deployment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppListItem {
    #[serde(flatten)]
    pub app: App,
    pub state: AppState,
    pub runtime_status: Option<RuntimeStatus>,
    /// The live deployment: the running release (kept while the app is stopped: a start runs it).
    pub live: Option<Deployment>,
    /// The newest deployment (the live one, one in progress, or one that failed).
    pub newest: Option<Deployment>,
}

/// One app with everything its page shows at the top (`GET /api/v1/apps/{slug}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppOverview {
    #[serde(flatten)]
    pub item: AppListItem,
    /// `None` when it cannot be measured now (the engine does not answer).
    pub disk_usage: Option<DiskUsage>,
}

/// One deployment of the build queue (`GET /api/v1/builds`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueuedBuild {
    /// 0 for the first.
    pub position: usize,
    pub state: QueueState,
    /// Deployments ahead of it (0 while it builds).
    pub ahead: usize,
    pub deployment: Deployment,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime(state: RunState) -> RuntimeStatus {
        RuntimeStatus { state, deployment_id: 1, restarts: 0, instances: 1, running: 1, reason: None, last_lines: vec![] }
    }

    #[test]
    fn a_stop_wins_then_a_crash_then_a_deploy_then_the_live_version() {
        use AppState::*;
        let crashed = runtime(RunState::Crashed);
        let restarting = runtime(RunState::Restarting);
        let lost = runtime(RunState::Stopped);
        let running = runtime(RunState::Running);
        let site = runtime(RunState::Static);
        let cases = [
            (true, Some(&running), true, Stopped),
            (true, None, false, Stopped),
            (false, Some(&crashed), true, Crashed),
            (false, Some(&restarting), false, Crashed),
            (false, Some(&lost), false, Crashed),
            (false, Some(&running), true, Deploying),
            (false, None, true, Deploying),
            (false, Some(&running), false, Running),
            (false, Some(&site), false, Running),
            (false, None, false, NotDeployed),
        ];
        for (stopped, rt, deploying, want) in cases {
            assert_eq!(AppState::of(stopped, rt, deploying), want, "{stopped} {rt:?} {deploying}");
        }
        for s in AppState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(NotDeployed.label(), "not deployed");
    }

    #[test]
    fn the_runtime_summary_counts_instances_and_restarts() {
        let mut r = runtime(RunState::Running);
        assert_eq!(r.summary(), "running");
        (r.instances, r.running, r.restarts) = (3, 2, 1);
        assert_eq!(r.summary(), "running · 2/3 instances running · 1 restart");
        r.restarts = 4;
        assert!(r.summary().ends_with("4 restarts"));
    }
}
