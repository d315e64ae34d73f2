//! An app's runtime settings are stored and read back exactly, on both backends: set, changed and
//! cleared again.

use super::app_named;
use super::backends::{both, Db};
use crate::types::{CpuLimit, RuntimeKind};

both!(runtime_settings_round_trip_through_insert_update_and_reads);

async fn runtime_settings_round_trip_through_insert_update_and_reads(db: Db) {
    let s = &db.store;
    let plain = app_named(s, "plain").await;
    assert_eq!(
        (plain.runtime, plain.cpu_limit, plain.memory_limit_mb, plain.replicas, plain.drain_timeout_secs, plain.stop_timeout_secs, plain.sticky_sessions, plain.dockerfile_path.as_deref()),
        (RuntimeKind::Process, None, None, 1, 30, 10, false, None)
    );

    let mut draft = plain.clone();
    draft.slug = "boxed".into();
    draft.runtime = RuntimeKind::Docker;
    draft.cpu_limit = Some(CpuLimit::from_cores(0.25).unwrap());
    draft.memory_limit_mb = Some(1_048_576);
    draft.replicas = 20;
    draft.drain_timeout_secs = 3600;
    draft.stop_timeout_secs = 600;
    draft.sticky_sessions = true;
    draft.dockerfile_path = Some("deploy/web.Dockerfile".into());
    // a pull request preview of `plain`
    draft.preview_of = Some(plain.id);
    draft.pr_number = Some(42);
    draft.previews = false;
    let boxed = s.insert_app(&draft).await.unwrap();
    let expect = |a: &crate::model::App| crate::model::App { id: a.id, created_at: a.created_at, updated_at: a.updated_at, ..draft.clone() };
    assert_eq!(boxed, expect(&boxed));
    // every read path decodes the same values
    assert_eq!(s.app_by_slug("boxed").await.unwrap(), boxed);
    assert_eq!(s.app_by_id(boxed.id).await.unwrap(), boxed);
    assert!(s.list_apps().await.unwrap().contains(&boxed));
    // another Rhone process on the same database reads them too
    assert_eq!(db.another_process().await.app_by_slug("boxed").await.unwrap(), boxed);

    let mut changed = boxed.clone();
    changed.runtime = RuntimeKind::Process;
    changed.cpu_limit = None;
    changed.memory_limit_mb = Some(16);
    changed.replicas = 2;
    changed.sticky_sessions = false;
    changed.dockerfile_path = None;
    changed.auto_deploy = false;
    changed.watch_root_dir = false;
    changed.previews = true;
    let updated = s.update_app(&changed).await.unwrap();
    assert!(updated.previews);
    assert_eq!((updated.preview_of, updated.pr_number), (Some(plain.id), Some(42)), "an update keeps what the app previews");
    assert_eq!((updated.auto_deploy, updated.watch_root_dir), (false, false));
    assert_eq!((updated.runtime, updated.cpu_limit, updated.memory_limit_mb, updated.replicas), (RuntimeKind::Process, None, Some(16), 2));
    assert_eq!((updated.sticky_sessions, updated.dockerfile_path.as_deref(), updated.drain_timeout_secs), (false, None, 3600));
    assert_eq!(s.app_by_id(boxed.id).await.unwrap(), updated);
    assert_eq!(s.app_by_slug("plain").await.unwrap(), plain, "the other app is untouched");
}

both!(the_live_and_newest_deployments_of_every_app_come_from_one_query);

async fn the_live_and_newest_deployments_of_every_app_come_from_one_query(db: Db) {
    use crate::model::DeploymentStatus as S;
    let s = &db.store;
    let (a, b, never) = (app_named(s, "a").await, app_named(s, "b").await, app_named(s, "never").await);
    let a1 = s.insert_deployment(a.id, "main", None).await.unwrap();
    let b1 = s.insert_deployment(b.id, "main", None).await.unwrap();
    for (from, to) in [(S::Pending, S::Building), (S::Building, S::Deploying)] {
        assert!(s.transition(a1.id, &[from], to, None).await.unwrap());
    }
    assert!(s.go_live(a1.id, a.id).await.unwrap());
    let a2 = s.insert_deployment(a.id, "main", None).await.unwrap();
    assert!(s.transition(a2.id, &[S::Pending], S::Failed, Some("boom")).await.unwrap());
    let a3 = s.insert_deployment(a.id, "main", None).await.unwrap();
    assert!(s.transition(b1.id, &[S::Pending], S::Cancelled, None).await.unwrap());
    let all = s.live_and_newest(None).await.unwrap();
    let (live, newest) = &all[&a.id];
    assert_eq!(live.as_ref().map(|d| (d.id, d.number, d.status)), Some((a1.id, 1, S::Live)), "a still runs v1");
    assert!(live.as_ref().is_some_and(|d| d.live_at.is_some()), "with the time it went live");
    assert_eq!(newest.as_ref().map(|d| (d.id, d.number, d.status)), Some((a3.id, 3, S::Pending)), "a's newest is v3, not the failed v2 ({})", a2.id);
    assert_eq!(all[&b.id].0, None, "b never went live");
    assert_eq!(all[&b.id].1.as_ref().map(|d| (d.number, d.status)), Some((1, S::Cancelled)), "release numbers are per app");
    assert!(!all.contains_key(&never.id), "an app never deployed has nothing");
    assert_eq!(all.len(), 2);
    let one = s.live_and_newest(Some(b.id)).await.unwrap();
    assert_eq!(one.keys().collect::<Vec<_>>(), [&b.id], "one app only");
}

both!(concurrent_deployments_of_one_app_get_distinct_release_numbers);

async fn concurrent_deployments_of_one_app_get_distinct_release_numbers(db: Db) {
    let s = &db.store;
    let a = app_named(s, "busy").await;
    let inserts = (0..8).map(|_| s.insert_deployment(a.id, "main", None));
    let mut numbers: Vec<i64> = futures::future::join_all(inserts).await.into_iter().map(|d| d.unwrap().number).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=8).collect::<Vec<_>>());
}
