//! Runtimes run built versions of apps. The pipeline and recovery drive a runtime only through this
//! shape — start with `PORT` + env, watch the state, check the listener, stop with drain, adopt or
//! stop a recorded instance after a restart — and never look inside an [`InstanceId`]. This issue
//! ships the native-process runtime; a container runtime implements the same shape.

pub mod landlock;
pub mod output;
pub mod ports;
pub mod process;
pub mod sandbox;
pub mod sys;

pub use process::{Instance, ProcessRuntime, StartSpec, State};

/// A runtime's own handle on one running version, recorded per deployment and opaque to the pipeline
/// and recovery (`pid:start-time` for a native process; a container id for a container runtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceId(String);

impl InstanceId {
    pub fn new(id: impl Into<String>) -> InstanceId {
        InstanceId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
