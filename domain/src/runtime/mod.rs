//! Runtimes run built versions of apps. This issue ships the native-process runtime; the container
//! runtime of a later issue implements the same shape (start with `PORT` + env, stop with drain).

pub mod landlock;
pub mod output;
pub mod ports;
pub mod process;
pub mod sandbox;
pub mod sys;

pub use process::{Instance, ProcessRuntime, StartSpec};
