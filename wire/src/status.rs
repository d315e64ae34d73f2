//! The states the dashboard shows: of a deployment, of an app's live version, of a build in the
//! queue. Enums on both sides of the wire (the dashboard never compares status strings).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentStatus {
    Pending,
    Building,
    Deploying,
    Live,
    Failed,
    Cancelled,
    Superseded,
}

impl DeploymentStatus {
    pub const ALL: [DeploymentStatus; 7] = [
        Self::Pending,
        Self::Building,
        Self::Deploying,
        Self::Live,
        Self::Failed,
        Self::Cancelled,
        Self::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Building => "building",
            Self::Deploying => "deploying",
            Self::Live => "live",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Still being worked on: the pipeline may move it forward.
    pub fn in_progress(self) -> bool {
        matches!(self, Self::Pending | Self::Building | Self::Deploying)
    }

    /// The build log of a deployment in this state will not grow any more.
    pub fn build_finished(self) -> bool {
        !self.in_progress()
    }
}

/// The live version's runtime state.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    /// A static site, served by Rhone itself.
    Static,
    /// Its instance is gone and nothing restarts it (stopped by Rhone, or lost).
    Stopped,
    /// It exited and is restarted after the backoff.
    Restarting,
    /// It crashed too many times in a row: Rhone stopped restarting it.
    Crashed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Static => "static",
            RunState::Stopped => "stopped",
            RunState::Restarting => "restarting",
            RunState::Crashed => "crashed",
        }
    }

    /// Not serving as it should: flagged in the apps list.
    pub fn is_trouble(self) -> bool {
        matches!(self, RunState::Crashed | RunState::Restarting | RunState::Stopped)
    }
}

/// Where a deployment is in the build queue.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// In its build phase.
    Building,
    /// `pending`: waiting for a build slot or a deploy worker.
    Queued,
}

impl QueueState {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueState::Building => "building",
            QueueState::Queued => "queued",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for st in DeploymentStatus::ALL {
            assert_eq!(DeploymentStatus::parse(st.as_str()), Some(st));
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
        assert_eq!(DeploymentStatus::parse("exploded"), None);
        for st in [RunState::Running, RunState::Static, RunState::Stopped, RunState::Restarting, RunState::Crashed] {
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
        for st in [QueueState::Building, QueueState::Queued] {
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
        }
    }

    #[test]
    fn only_the_working_states_are_in_progress() {
        let working: Vec<_> = DeploymentStatus::ALL.into_iter().filter(|s| s.in_progress()).collect();
        assert_eq!(working, [DeploymentStatus::Pending, DeploymentStatus::Building, DeploymentStatus::Deploying]);
    }
}
