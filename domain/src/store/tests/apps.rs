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
    let updated = s.update_app(&changed).await.unwrap();
    assert_eq!((updated.runtime, updated.cpu_limit, updated.memory_limit_mb, updated.replicas), (RuntimeKind::Process, None, Some(16), 2));
    assert_eq!((updated.sticky_sessions, updated.dockerfile_path.as_deref(), updated.drain_timeout_secs), (false, None, 3600));
    assert_eq!(s.app_by_id(boxed.id).await.unwrap(), updated);
    assert_eq!(s.app_by_slug("plain").await.unwrap(), plain, "the other app is untouched");
}

both!(the_newest_deployment_status_of_every_app_comes_from_one_query);

async fn the_newest_deployment_status_of_every_app_comes_from_one_query(db: Db) {
    use crate::model::DeploymentStatus as S;
    let s = &db.store;
    let (a, b, never) = (app_named(s, "a").await, app_named(s, "b").await, app_named(s, "never").await);
    let a1 = s.insert_deployment(a.id, "main", None).await.unwrap();
    let b1 = s.insert_deployment(b.id, "main", None).await.unwrap();
    assert!(s.transition(a1.id, &[S::Pending], S::Failed, Some("boom")).await.unwrap());
    let a2 = s.insert_deployment(a.id, "main", None).await.unwrap();
    assert!(s.transition(b1.id, &[S::Pending], S::Cancelled, None).await.unwrap());
    let newest = s.newest_statuses().await.unwrap();
    assert_eq!(newest.get(&a.id), Some(&S::Pending), "a's newest is a2 ({}), not the failed a1", a2.id);
    assert_eq!(newest.get(&b.id), Some(&S::Cancelled));
    assert_eq!(newest.get(&never.id), None, "an app never deployed has no status");
    assert_eq!(newest.len(), 2);
}
