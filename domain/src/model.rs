//! The records the domain hands out (serializable: the REST API returns them as they are).


use serde::{Deserialize, Serialize};


pub use wire::{ApiToken, App, Deployment, DeploymentKind, User};

pub use wire::DeploymentStatus;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusEvent {
    pub status: DeploymentStatus,
    pub at: i64,
}

/// One stored log line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LogLine {
    pub seq: i64,
    pub at: i64,
    /// `stdout`, `stderr` or `rhone` (lines the pipeline writes itself).
    pub stream: String,
    pub line: String,
    /// The release (deployment number, `v3`) a runtime log line came from; none for build logs and
    /// Rhone's own notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<i64>,
}
