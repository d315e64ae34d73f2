//! Native processes: each version runs as `sh -c <start command>` (the command line as written, like
//! Heroku's `bash -c`) in its own process group, as the app's own user, with a cleared environment.
//! Its stdout/stderr go to files that Rhone follows (see `output.rs`), so the process outlives Rhone:
//! on the next start Rhone re-adopts it by pid + start time instead of starting it again.
//! Stopping sends SIGTERM to the group, waits, then SIGKILLs it.

use std::process::Stdio;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::output::{self, Sinks};
use super::ports::{port_owner, PortOwner};
use super::sys;
use super::{Driver, Incarnation, InstanceId, StartSpec};
use crate::error::{Error, Result};

/// The native-process runtime (stateless: the supervisor holds the instances).
#[derive(Clone, Copy, Default)]
pub struct ProcessRuntime;

/// This runtime's instance id of a process: `pid:start-time` (a recycled pid never matches).
fn instance_of(pid: u32) -> InstanceId {
    InstanceId::new(format!("{pid}:{}", sys::process_start_time(pid as i32).unwrap_or(-1)))
}

/// The pid and start time inside one of this runtime's instance ids.
fn parts(id: &InstanceId) -> Option<(i32, i64)> {
    let (pid, start) = id.as_str().split_once(':')?;
    Some((pid.parse().ok()?, start.parse().ok()?))
}

/// A process group the supervisor watches: our child, or one re-adopted after a restart of Rhone.
enum Proc {
    Child(Child),
    Adopted { pid: i32, start: i64 },
}

struct ProcessIncarnation {
    id: InstanceId,
    pgid: i32,
    proc: Proc,
}

impl ProcessIncarnation {
    async fn wait_exit(&mut self) -> String {
        match &mut self.proc {
            Proc::Child(c) => match c.wait().await {
                Ok(s) => describe_exit(s),
                Err(e) => format!("could not be waited for: {e}"),
            },
            Proc::Adopted { pid, start } => {
                while sys::is_same_process(*pid, *start) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                "exited".to_string()
            }
        }
    }
}

impl Incarnation for ProcessIncarnation {
    fn id(&self) -> InstanceId {
        self.id.clone()
    }

    fn wait(&mut self) -> BoxFuture<'_, String> {
        self.wait_exit().boxed()
    }

    fn cleanup(&mut self) -> BoxFuture<'_, ()> {
        // kill leftovers of the group (children the shell started)
        sys::signal_group(self.pgid, sys::SIGKILL);
        async {}.boxed()
    }

    fn terminate(&mut self, grace: Duration) -> BoxFuture<'_, ()> {
        async move {
            sys::signal_group(self.pgid, sys::SIGTERM);
            // The whole group gets the grace, not only its leader: with `sh -c`, the shell may exit
            // at once while the app it started still finishes what it was doing on SIGTERM.
            let pgid = self.pgid;
            let graceful = async {
                let _ = self.wait_exit().await;
                sys::wait_group_gone(pgid).await;
            };
            if tokio::time::timeout(grace, graceful).await.is_err() {
                sys::signal_group(self.pgid, sys::SIGKILL);
                let _ = self.wait_exit().await;
            }
            sys::kill_group_and_wait(self.pgid, Duration::from_secs(5)).await;
        }
        .boxed()
    }

    fn detach(&mut self) {}
}

impl Driver for ProcessRuntime {
    fn kind(&self) -> &'static str {
        "process"
    }

    fn launch<'a>(&'a self, spec: &'a StartSpec, _live: &'a watch::Receiver<bool>) -> BoxFuture<'a, Result<Box<dyn Incarnation>>> {
        async move {
            let child = spawn(spec)?;
            let pid = child.id().unwrap_or(0);
            Ok(Box::new(ProcessIncarnation { id: instance_of(pid), pgid: pid as i32, proc: Proc::Child(child) }) as Box<dyn Incarnation>)
        }
        .boxed()
    }

    fn reattach<'a>(&'a self, _spec: &'a StartSpec, id: &'a InstanceId, _live: &'a watch::Receiver<bool>) -> BoxFuture<'a, Option<Box<dyn Incarnation>>> {
        async move {
            let (pid, start) = parts(id)?;
            if !sys::is_same_process(pid, start) {
                return None;
            }
            Some(Box::new(ProcessIncarnation { id: id.clone(), pgid: pid, proc: Proc::Adopted { pid, start } }) as Box<dyn Incarnation>)
        }
        .boxed()
    }

    fn stop_leftover<'a>(&'a self, id: &'a InstanceId) -> BoxFuture<'a, bool> {
        async move {
            let Some((pid, start)) = parts(id) else { return false };
            if !sys::is_same_process(pid, start) {
                return false;
            }
            sys::signal_group(pid, sys::SIGTERM);
            for _ in 0..50 {
                if !sys::is_same_process(pid, start) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            sys::kill_group_and_wait(pid, Duration::from_secs(5)).await;
            true
        }
        .boxed()
    }

    fn check_listener(&self, id: &InstanceId, port: u16) -> Result<(), String> {
        let leader = parts(id).map(|(pid, _)| pid).unwrap_or(0);
        match port_owner(port, leader) {
            PortOwner::Version => Ok(()),
            PortOwner::Nobody => Err(format!("nothing listens on port {port} any more; the app must keep listening on $PORT")),
            PortOwner::Other => Err(format!("port {port} is held by a process that is not part of this version (another app took it); deploy again")),
        }
    }

    fn follow(&self, spec: &StartSpec, live: watch::Receiver<bool>, done: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let sinks = Sinks { log: spec.log.clone(), deploy_log: spec.deploy_log.clone(), live };
        vec![
            tokio::spawn(output::follow(spec.output.stdout.clone(), "stdout", sinks.clone(), done.clone())),
            tokio::spawn(output::follow(spec.output.stderr.clone(), "stderr", sinks, done)),
        ]
    }
}

fn spawn(spec: &StartSpec) -> Result<Child> {
    let Some(command) = spec.command.as_deref() else {
        return Err(Error::invalid("start_command", "the build plan has no start command"));
    };
    let (out, err) = spec.output.open_for_process().map_err(|e| Error::internal("open output files", e))?;
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command).current_dir(&spec.dir);
    spec.sandbox.apply(&mut cmd);
    cmd.env("PORT", spec.port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(false);
    cmd.spawn().map_err(|e| Error::internal("start process", e))
}

fn describe_exit(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "exited".into(),
    }
}
