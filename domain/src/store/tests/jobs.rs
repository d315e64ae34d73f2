//! The job queue with retries, and the schedule rows of periodic jobs.

use super::backends::{both, Db};
use crate::store::{now_ms, NewJob};

both!(
    a_failed_attempt_waits_for_its_run_at_and_attempts_are_counted,
    interrupted_jobs_with_attempts_left_are_queued_again,
    a_schedule_fires_once_per_interval_across_processes,
);

fn job(kind: &str, key: &str, max_attempts: i64) -> NewJob {
    NewJob { kind: kind.into(), dedupe_key: Some(key.into()), payload: "{}".into(), max_attempts, run_at: 0 }
}

async fn a_failed_attempt_waits_for_its_run_at_and_attempts_are_counted(db: Db) {
    let s = &db.store;
    let now = now_ms();
    assert!(s.enqueue(&job("k", "j1", 3)).await.unwrap());
    assert!(!s.enqueue(&job("k", "j1", 3)).await.unwrap(), "deduped");
    let later = NewJob { run_at: now + 60_000, ..job("k", "later", 1) };
    assert!(s.enqueue(&later).await.unwrap());
    let c = s.claim_job_at(now).await.unwrap().expect("due job");
    assert_eq!((c.attempts, c.max_attempts), (1, 3));
    assert!(s.claim_job_at(now).await.unwrap().is_none(), "the other job is not due yet");
    s.retry_job(c.id, "boom 1", now + 10_000).await.unwrap();
    assert!(s.claim_job_at(now + 9_999).await.unwrap().is_none(), "a retried job waits for its run_at");
    let c2 = s.claim_job_at(now + 10_000).await.unwrap().expect("retry due");
    assert_eq!((c2.id, c2.attempts), (c.id, 2));
    s.finish_job(c2.id, Some("boom 2")).await.unwrap();
    let rows = s.jobs_of_kind("k").await.unwrap();
    let r = rows.iter().find(|r| r.id == c.id).unwrap();
    assert_eq!((r.status.as_str(), r.attempts, r.last_error.as_deref()), ("failed", 2, Some("boom 2")));
    assert!(r.finished_at.is_some());
    let l = s.claim_job_at(now + 60_000).await.unwrap().expect("the later job is due at its run_at");
    assert_eq!(l.max_attempts, 1);
}

async fn interrupted_jobs_with_attempts_left_are_queued_again(db: Db) {
    let s = &db.store;
    s.enqueue(&job("deploy", "d", 1)).await.unwrap();
    s.enqueue(&job("retention", "r", 3)).await.unwrap();
    s.claim_job().await.unwrap().unwrap();
    s.claim_job().await.unwrap().unwrap();
    let failed = s.fail_interrupted_jobs("restart").await.unwrap();
    assert_eq!(failed, [("deploy".to_string(), "{}".to_string())], "only the job without attempts left fails");
    let again = s.claim_job().await.unwrap().expect("the retention job runs again");
    assert_eq!((again.kind.as_str(), again.attempts), ("retention", 2));
    assert_eq!(s.jobs_of_kind("deploy").await.unwrap()[0].status, "failed");
}

async fn a_schedule_fires_once_per_interval_across_processes(db: Db) {
    let other = db.another_process().await;
    let t0 = 1_000_000;
    for s in [&db.store, &other] {
        s.ensure_schedule("tidy", 60_000, t0).await.unwrap();
    }
    let fire = |n: usize, at: i64| {
        let stores = [db.store.clone(), other.clone()];
        futures::future::join_all((0..n).map(move |i| {
            let s = stores[i % 2].clone();
            async move { s.fire_schedule("tidy", at, &job("tidy", &format!("tidy@{at}"), 1)).await.unwrap() }
        }))
    };
    let won = fire(8, t0).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    assert_eq!(db.store.jobs_of_kind("tidy").await.unwrap().len(), 1, "one run enqueued");
    assert_eq!(db.store.schedule_next_run("tidy").await.unwrap(), Some(t0 + 60_000));
    let early = fire(4, t0 + 59_999).await;
    assert!(early.iter().all(|w| !w), "not due before the interval is over");
    let won = fire(8, t0 + 61_000).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    assert_eq!(db.store.jobs_of_kind("tidy").await.unwrap().len(), 2);
    assert_eq!(db.store.schedule_next_run("tidy").await.unwrap(), Some(t0 + 121_000), "next run counts from the firing");
    // a shorter interval brings a far-away next run forward; registering again does not reset it
    db.store.ensure_schedule("tidy", 1_000, t0 + 62_000).await.unwrap();
    assert_eq!(db.store.schedule_next_run("tidy").await.unwrap(), Some(t0 + 63_000));
    other.ensure_schedule("tidy", 1_000, t0 + 62_500).await.unwrap();
    assert_eq!(db.store.schedule_next_run("tidy").await.unwrap(), Some(t0 + 63_000));
}
