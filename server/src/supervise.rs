//! Being the one Rhone that supervises a data dir: holding its lock, running the job workers and
//! the scheduler, owning the running apps. A handover moves all of it to a new process (`release`
//! here, `recover` there); a handover that fails half-way takes it back (`resume`).
//!
//! The lock is `flock(2)` on `<data_dir>/rhone.lock`: the kernel drops it when its holder exits,
//! however it exits, so a crash never leaves a stale lock, and two processes never both recover or
//! supervise the same apps.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::Services;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

/// How long stopping workers waits for the jobs they run (a cancelled deploy winds down) before
/// aborting them.
const WORKERS_GRACE: Duration = Duration::from_secs(15);

/// The exclusive lock on a data dir, held for as long as this value lives.
pub(crate) struct DataDirLock {
    _file: File,
}

pub(crate) fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("rhone.lock")
}

impl DataDirLock {
    /// Takes the lock, waiting at most `wait` for its holder to let go; `Ok(None)` if it did not.
    pub(crate) async fn acquire(data_dir: &Path, wait: Duration) -> std::io::Result<Option<DataDirLock>> {
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(lock_path(data_dir))?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(DataDirLock { _file: file })),
                Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

/// How taking the apps back after a failed handover went.
pub(crate) enum Resume {
    Supervising,
    /// Another process holds the data dir's lock: it supervises.
    Taken,
    Failed(String),
}

struct Workers {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

struct State {
    lock: Option<DataDirLock>,
    workers: Option<Workers>,
}

pub(crate) struct Supervision {
    services: Services,
    workers: usize,
    data_dir: PathBuf,
    state: Mutex<State>,
}

impl Supervision {
    /// Starts supervising: the caller holds the lock and has run recovery.
    pub(crate) fn start(services: Services, workers: usize, data_dir: PathBuf, lock: DataDirLock) -> Supervision {
        let running = spawn_workers(&services, workers);
        Supervision { services, workers, data_dir, state: Mutex::new(State { lock: Some(lock), workers: Some(running) }) }
    }

    /// True while this process supervises the data dir (not yet handed over, not stopped).
    pub(crate) async fn supervising(&self) -> bool {
        self.state.lock().await.lock.is_some()
    }

    /// Lets go of everything for a new process: no job is claimed any more, deployments in progress
    /// are failed as on a shutdown, the apps are detached (left running, not stopped), the logs are
    /// written and the lock is released. Queued jobs stay queued for the new process.
    pub(crate) async fn release(&self) {
        self.shut(false, std::future::ready(())).await;
        tracing::info!("released the apps and the job queue for the new process");
    }

    /// Takes everything back after a handover that did not complete: the lock, recovery (re-adopts
    /// the apps) and the workers.
    pub(crate) async fn resume(&self) -> Resume {
        let mut state = self.state.lock().await;
        if state.lock.is_some() {
            return Resume::Supervising;
        }
        let lock = match DataDirLock::acquire(&self.data_dir, Duration::from_secs(10)).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return Resume::Taken,
            Err(e) => return Resume::Failed(format!("cannot open {}: {e}", lock_path(&self.data_dir).display())),
        };
        // kept even if recovery fails: a later `rhone serve` can then take over from this process
        state.lock = Some(lock);
        if let Err(e) = self.services.recover().await {
            return Resume::Failed(format!("recovery failed: {e}"));
        }
        state.workers = Some(spawn_workers(&self.services, self.workers));
        Resume::Supervising
    }

    /// On `rhone serve`'s own stop: as `release`, stopping the apps instead when `stop_apps`, once
    /// `listeners_done` (the proxy's last requests) has resolved. Does nothing to the apps and
    /// deployments once handed over: they are the new process's.
    pub(crate) async fn stop(&self, stop_apps: bool, listeners_done: impl std::future::Future<Output = ()>) {
        self.shut(stop_apps, listeners_done).await;
    }

    async fn shut(&self, stop_apps: bool, before_apps: impl std::future::Future<Output = ()>) {
        let mut state = self.state.lock().await;
        if state.lock.is_none() {
            before_apps.await;
            return;
        }
        let workers = state.workers.take();
        if let Some(w) = &workers {
            let _ = w.stop.send(true);
        }
        // fail (and cancel) deployments in progress first, so their workers wind down promptly
        if let Err(e) = self.services.interrupt_in_progress().await {
            tracing::error!(error = %e, "could not mark running deployments as interrupted");
        }
        if let Some(w) = workers {
            join_or_abort(w.tasks).await;
        }
        before_apps.await;
        self.services.release_apps(stop_apps).await;
        self.services.logs.flush().await;
        self.services.flush_bandwidth().await;
        state.lock = None;
    }
}

fn spawn_workers(services: &Services, count: usize) -> Workers {
    let (stop, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for _ in 0..count {
        let (s, rx) = (services.clone(), rx.clone());
        tasks.push(tokio::spawn(async move { s.run_worker(rx).await }));
    }
    // periodic jobs (retention, session purge): each runs once per interval across all processes
    let (s, rx) = (services.clone(), rx);
    tasks.push(tokio::spawn(async move { s.run_scheduler(rx).await }));
    Workers { stop, tasks }
}

async fn join_or_abort(tasks: Vec<JoinHandle<()>>) {
    let deadline = tokio::time::Instant::now() + WORKERS_GRACE;
    for mut task in tasks {
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            tracing::warn!("a job was still running {WORKERS_GRACE:?} after the stop; aborted it");
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_data_dir_lock_is_exclusive_and_freed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path(), Duration::ZERO).await.unwrap();
        assert!(first.is_some());
        assert!(DataDirLock::acquire(dir.path(), Duration::from_millis(50)).await.unwrap().is_none(), "a second holder is refused");
        drop(first);
        assert!(DataDirLock::acquire(dir.path(), Duration::ZERO).await.unwrap().is_some(), "free again once dropped");
    }
}
