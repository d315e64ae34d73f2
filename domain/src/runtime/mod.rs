//! Runtimes run built versions of apps. This issue ships the native-process runtime; the container
//! runtime of a later issue implements the same shape (start with `PORT` + env, stop with drain).

pub mod process;
pub mod sys;

pub use process::{Instance, ProcessRuntime, StartSpec};
