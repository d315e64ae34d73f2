//! Retention deletes only what nobody needs: finished job rows, old log lines, old finished
//! deployments (never a live one, one in progress or one whose build is kept), expired sessions.

use super::app_named;
use super::backends::{both, Db};
use crate::model::{DeploymentStatus as S, LogLine};
use crate::store::{now_ms, NewJob, Store};

both!(
    finished_job_rows_are_pruned_by_age_and_count,
    log_lines_are_pruned_by_age_and_per_channel_count,
    old_finished_deployments_are_pruned_but_never_live_kept_or_in_progress_ones,
    expired_sessions_are_purged_and_valid_ones_kept,
);

async fn finished_job_rows_are_pruned_by_age_and_count(db: Db) {
    let s = &db.store;
    for i in 0..6 {
        let j = NewJob { kind: "k".into(), dedupe_key: Some(format!("j{i}")), payload: "{}".into(), max_attempts: 1, run_at: 0 };
        s.enqueue(&j).await.unwrap();
    }
    for i in 0..5 {
        let c = s.claim_job().await.unwrap().unwrap();
        if i < 4 {
            s.finish_job(c.id, if i % 2 == 0 { None } else { Some("failed") }).await.unwrap();
        }
    }
    let status = |rows: &[crate::store::JobRow]| rows.iter().map(|r| r.status.clone()).collect::<Vec<_>>();
    assert_eq!(status(&s.jobs_of_kind("k").await.unwrap()), ["done", "failed", "done", "failed", "running", "queued"]);
    assert_eq!(s.prune_jobs(0, 2).await.unwrap(), 2, "all but the newest 2 finished rows");
    let rows = s.jobs_of_kind("k").await.unwrap();
    assert_eq!(status(&rows), ["done", "failed", "running", "queued"]);
    assert_eq!(s.prune_jobs(0, 2).await.unwrap(), 0, "nothing more to prune");
    assert_eq!(s.prune_jobs(now_ms() + 1, 100).await.unwrap(), 2, "finished before the cutoff");
    assert_eq!(status(&s.jobs_of_kind("k").await.unwrap()), ["running", "queued"], "unfinished jobs are never pruned");
    // a pruned job's dedupe key may be used again
    let j = NewJob { kind: "k".into(), dedupe_key: Some("j0".into()), payload: "{}".into(), max_attempts: 1, run_at: 0 };
    assert!(s.enqueue(&j).await.unwrap());
}

fn lines(range: std::ops::RangeInclusive<i64>, at: i64) -> Vec<LogLine> {
    range.map(|seq| LogLine { seq, at, stream: "stdout".into(), line: format!("line {seq}"), release: None }).collect()
}

async fn log_lines_are_pruned_by_age_and_per_channel_count(db: Db) {
    let s = &db.store;
    let now = now_ms();
    s.insert_log_lines("deploy:1", &lines(1..=5, 1_000)).await.unwrap();
    s.insert_log_lines("deploy:1", &lines(6..=8, now)).await.unwrap();
    s.insert_log_lines("app:1", &lines(1..=30, now)).await.unwrap();
    s.insert_log_lines("app:2", &lines(1..=10, now)).await.unwrap();
    let deleted = s.prune_log_lines(now - 60_000, 10).await.unwrap();
    assert_eq!(deleted, 5 + 20);
    let seqs = |ch: &'static str| async move { s.log_lines(ch, 0, 1000).await.unwrap().into_iter().map(|l| l.seq).collect::<Vec<_>>() };
    assert_eq!(seqs("deploy:1").await, [6, 7, 8], "old lines gone");
    assert_eq!(seqs("app:1").await, (21..=30).collect::<Vec<_>>(), "the newest 10 kept");
    assert_eq!(seqs("app:2").await, (1..=10).collect::<Vec<_>>(), "a channel within bounds is untouched");
}

async fn finished(s: &Store, app_id: i64, to: S) -> i64 {
    let d = s.insert_deployment(app_id, "main", None).await.unwrap();
    if to != S::Pending {
        assert!(s.transition(d.id, &[S::Pending], to, None).await.unwrap());
    }
    d.id
}

async fn old_finished_deployments_are_pruned_but_never_live_kept_or_in_progress_ones(db: Db) {
    let s = &db.store;
    let a = app_named(s, "a").await;
    let b = app_named(s, "b").await;
    let live = s.insert_deployment(a.id, "main", None).await.unwrap().id;
    s.transition(live, &[S::Pending], S::Deploying, None).await.unwrap();
    assert!(s.go_live(live, a.id).await.unwrap());
    s.set_build(live, "{}", "/builds/live", 1).await.unwrap();
    let kept = finished(s, a.id, S::Superseded).await;
    s.set_build(kept, "{}", "/builds/kept", 1).await.unwrap();
    let running = finished(s, a.id, S::Superseded).await; // still draining: has a process
    s.set_instance(running, 0, Some(("process", "1:1", 1))).await.unwrap();
    let failed = finished(s, a.id, S::Failed).await;
    let cancelled = finished(s, a.id, S::Cancelled).await;
    let building = finished(s, a.id, S::Building).await;
    let newest = [finished(s, a.id, S::Failed).await, finished(s, a.id, S::Pending).await];
    let other_app = finished(s, b.id, S::Failed).await;
    s.insert_log_lines(&format!("deploy:{failed}"), &lines(1..=3, now_ms())).await.unwrap();
    s.insert_log_lines(&format!("deploy:{live}"), &lines(1..=3, now_ms())).await.unwrap();
    let deleted = s.prune_deployments(2).await.unwrap();
    let mut want = vec![failed, cancelled];
    want.sort();
    let mut got = deleted.clone();
    got.sort();
    assert_eq!(got, want, "only old finished deployments without a kept build or a process");
    let left: Vec<i64> = s.list_deployments(a.id, None, 100).await.unwrap().into_iter().map(|d| d.id).rev().collect();
    assert_eq!(left, [live, kept, running, building, newest[0], newest[1]]);
    assert_eq!(s.list_deployments(b.id, None, 100).await.unwrap()[0].id, other_app, "counted per app");
    assert!(s.status_events(failed).await.unwrap().is_empty(), "events go with the deployment");
    assert!(s.log_lines(&format!("deploy:{failed}"), 0, 10).await.unwrap().is_empty(), "build log goes too");
    assert_eq!(s.log_lines(&format!("deploy:{live}"), 0, 10).await.unwrap().len(), 3);
    assert!(s.prune_deployments(2).await.unwrap().is_empty());
}

async fn expired_sessions_are_purged_and_valid_ones_kept(db: Db) {
    let s = &db.store;
    let u = s.insert_user("owner@example.com", "hash", "owner").await.unwrap();
    let now = now_ms();
    s.insert_session("expired", u.id, now - 1).await.unwrap();
    s.insert_session("valid", u.id, now + 3_600_000).await.unwrap();
    assert_eq!(s.purge_expired_sessions(now).await.unwrap(), 1);
    assert!(s.user_by_session("valid").await.unwrap().is_some());
    assert_eq!(s.purge_expired_sessions(now).await.unwrap(), 0, "nothing left to purge");
    assert_eq!(s.purge_expired_sessions(now + 3_600_000).await.unwrap(), 1, "the other one once it expires");
    assert!(s.user_by_session("valid").await.unwrap().is_none());
}
