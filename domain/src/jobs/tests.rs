//! The job runner and the scheduler on real `Services` over a SQLite file.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Job, PurgeSessions, Retention};
use crate::error::{Error, Result};
use crate::model::LogLine;
use crate::pipeline::DeployJob;
use crate::runtime::sandbox::Isolation;
use crate::store::now_ms;
use crate::{Services, Settings};

/// A test kind that fails its first `failures` runs; it counts runs in a file (so a test sees them).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FailsUntil {
    pub counter: String,
    pub failures: u32,
    pub backoff_ms: u64,
}

impl Job for FailsUntil {
    const KIND: &'static str = "test_fails_until";
    const MAX_ATTEMPTS: i64 = 3;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.counter.clone())
    }

    async fn run(&self, _s: &Services) -> Result<()> {
        let runs = std::fs::read_to_string(&self.counter).map(|c| c.len()).unwrap_or(0) as u32 + 1;
        std::fs::write(&self.counter, "x".repeat(runs as usize)).map_err(|e| Error::internal("counter", e))?;
        if runs <= self.failures {
            return Err(Error::Internal(format!("failure on run {runs}")));
        }
        Ok(())
    }

    fn backoff(&self, _attempt: i64) -> Duration {
        Duration::from_millis(self.backoff_ms)
    }
}

pub(crate) async fn services(dir: &std::path::Path) -> Services {
    let mut settings = Settings::new(dir.join("data"), "localhost");
    settings.isolation = Isolation::SharedUid;
    let url = format!("sqlite://{}/data/rhone.db", dir.display());
    Services::open(settings, &url, crate::crypto::SecretKey::generate()).await.unwrap()
}

fn runs(counter: &std::path::Path) -> usize {
    std::fs::read_to_string(counter).map(|c| c.len()).unwrap_or(0)
}

#[tokio::test]
async fn a_failed_job_is_queued_again_with_run_at_in_the_future() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let counter = dir.path().join("runs");
    let job = FailsUntil { counter: counter.display().to_string(), failures: 1, backoff_ms: 600_000 };
    assert!(s.enqueue(&job).await.unwrap());
    let before = now_ms();
    assert!(s.run_next_job().await.unwrap());
    let row = &s.store.jobs_of_kind(FailsUntil::KIND).await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 1));
    assert!(row.run_at >= before + 600_000, "run_at {} is the backoff away from {before}", row.run_at);
    assert_eq!(row.last_error.as_deref(), Some("failure on run 1"));
    assert!(!s.run_next_job().await.unwrap(), "not due before its run_at");
    assert_eq!(runs(&counter), 1);
}

#[tokio::test]
async fn a_failing_job_is_retried_until_it_succeeds_or_runs_out_of_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let (c1, c2) = (dir.path().join("ok"), dir.path().join("never"));
    s.enqueue(&FailsUntil { counter: c1.display().to_string(), failures: 2, backoff_ms: 0 }).await.unwrap();
    s.enqueue(&FailsUntil { counter: c2.display().to_string(), failures: 99, backoff_ms: 0 }).await.unwrap();
    while s.run_next_job().await.unwrap() {}
    let rows = s.store.jobs_of_kind(FailsUntil::KIND).await.unwrap();
    assert_eq!((rows[0].status.as_str(), rows[0].attempts), ("done", 3), "succeeded on the third attempt");
    assert_eq!(runs(&c1), 3);
    assert_eq!((rows[1].status.as_str(), rows[1].attempts), ("failed", 3), "failed for good after MAX_ATTEMPTS");
    assert_eq!(rows[1].last_error.as_deref(), Some("failure on run 3"));
    assert_eq!(runs(&c2), 3, "never run again");
}

#[tokio::test]
async fn deploy_jobs_are_deduplicated_and_never_retried() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    assert!(s.enqueue(&DeployJob { deployment_id: 4242 }).await.unwrap());
    assert!(!s.enqueue(&DeployJob { deployment_id: 4242 }).await.unwrap(), "one job per deployment");
    assert!(s.run_next_job().await.unwrap());
    let rows = s.store.jobs_of_kind("deploy").await.unwrap();
    assert_eq!((rows.len(), rows[0].status.as_str(), rows[0].attempts), (1, "failed", 1), "{rows:?}");
    assert!(!s.run_next_job().await.unwrap(), "a deploy attempt is not repeated");
    // an unknown kind or a bad payload fails the row instead of stopping the worker
    s.store.enqueue_job("no_such_kind", None, "{}").await.unwrap();
    s.store.enqueue_job("deploy", None, "not json").await.unwrap();
    while s.run_next_job().await.unwrap() {}
    assert_eq!(s.store.queued_jobs().await.unwrap(), 0);
}

#[tokio::test]
async fn periodic_jobs_run_once_per_interval_with_several_processes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (services(dir.path()).await, services(dir.path()).await);
    a.register_schedules().await.unwrap();
    b.register_schedules().await.unwrap();
    let ticks = (0..6).map(|i| {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { s.run_scheduler_tick().await.unwrap() }
    });
    let fired: usize = futures::future::join_all(ticks).await.into_iter().sum();
    assert_eq!(fired, 3, "retention, purge_sessions and domain_checks, once each");
    assert_eq!(a.run_scheduler_tick().await.unwrap() + b.run_scheduler_tick().await.unwrap(), 0, "not due again yet");
    for kind in [Retention::KIND, PurgeSessions::KIND, crate::domains::DomainChecks::KIND] {
        let next = a.store.schedule_next_run(kind).await.unwrap().unwrap();
        assert!(next >= now_ms() + 3_500_000, "{kind}: next run an interval away");
    }
    while a.run_next_job().await.unwrap() {}
    for kind in [Retention::KIND, PurgeSessions::KIND, crate::domains::DomainChecks::KIND] {
        let rows = a.store.jobs_of_kind(kind).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(), ["done"], "{kind}");
    }
}

#[tokio::test]
async fn the_retention_and_session_jobs_prune_what_the_settings_say() {
    let dir = tempfile::tempdir().unwrap();
    let s = services(dir.path()).await;
    let old = LogLine { seq: 1, at: 1_000, stream: "stdout".into(), line: "old".into(), release: None };
    let new = LogLine { seq: 2, at: now_ms(), stream: "stdout".into(), line: "new".into(), release: None };
    s.store.insert_log_lines("app:1", &[old, new]).await.unwrap();
    let u = s.store.insert_user("o@example.com", "h", "owner").await.unwrap();
    s.store.insert_session("gone", u.id, now_ms() - 1).await.unwrap();
    s.enqueue(&Retention {}).await.unwrap();
    s.enqueue(&PurgeSessions {}).await.unwrap();
    while s.run_next_job().await.unwrap() {}
    let left: Vec<_> = s.store.log_lines("app:1", 0, 10).await.unwrap().into_iter().map(|l| l.line).collect();
    assert_eq!(left, ["new"], "lines older than log_max_age are gone");
    assert_eq!(s.store.purge_expired_sessions(now_ms()).await.unwrap(), 0, "the expired session was already purged");
}
