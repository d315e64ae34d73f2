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
}
