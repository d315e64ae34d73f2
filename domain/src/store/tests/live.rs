//! Multi-step deployment writes are transactions: a deployment with its job; going live with
//! superseding the previous live version and the status events. At most one live deployment per app.

use super::backends::{both, Db};
use super::app_named;
use crate::model::DeploymentStatus as S;
use crate::model::DeploymentKind;
use crate::store::{NewDeployment, NewJob, Store};

fn new(app_id: i64) -> NewDeployment<'static> {
    NewDeployment { app_id, git_ref: "main", kind: DeploymentKind::Deploy, rollback_of: None, delivery: None }
}

both!(
    going_live_supersedes_the_previous_live_version_with_its_events,
    concurrent_go_lives_on_one_app_leave_exactly_one_live,
    the_database_refuses_a_second_live_deployment_of_an_app,
    a_deployment_is_inserted_only_together_with_its_job,
);

async fn deploying(s: &Store, app_id: i64) -> i64 {
    let d = s.insert_deployment(app_id, "main", None).await.unwrap();
    assert!(s.transition(d.id, &[S::Pending], S::Building, None).await.unwrap());
    assert!(s.transition(d.id, &[S::Building], S::Deploying, None).await.unwrap());
    d.id
}

async fn statuses(s: &Store, app_id: i64) -> Vec<(i64, S)> {
    let mut v: Vec<_> = s.list_deployments(app_id, None, 100).await.unwrap().into_iter().map(|d| (d.id, d.status)).collect();
    v.sort_by_key(|(id, _)| *id);
    v
}

async fn events(s: &Store, id: i64) -> Vec<S> {
    s.status_events(id).await.unwrap().into_iter().map(|e| e.status).collect()
}

async fn going_live_supersedes_the_previous_live_version_with_its_events(db: Db) {
    let s = &db.store;
    let a = app_named(s, "a").await;
    let other = app_named(s, "b").await;
    let b1 = deploying(s, other.id).await;
    assert!(s.go_live(b1, other.id).await.unwrap());
    let d1 = deploying(s, a.id).await;
    assert!(s.go_live(d1, a.id).await.unwrap());
    let d2 = deploying(s, a.id).await;
    assert!(s.go_live(d2, a.id).await.unwrap());
    assert_eq!(statuses(s, a.id).await, [(d1, S::Superseded), (d2, S::Live)]);
    assert_eq!(events(s, d1).await, [S::Pending, S::Building, S::Deploying, S::Live, S::Superseded]);
    assert_eq!(events(s, d2).await, [S::Pending, S::Building, S::Deploying, S::Live]);
    assert_eq!(statuses(s, other.id).await, [(b1, S::Live)], "another app's live version is untouched");
    // a deployment cancelled before it could go live changes nothing, not even the current live one
    let d3 = deploying(s, a.id).await;
    assert!(s.transition(d3, &[S::Deploying], S::Cancelled, None).await.unwrap());
    assert!(!s.go_live(d3, a.id).await.unwrap());
    assert_eq!(statuses(s, a.id).await, [(d1, S::Superseded), (d2, S::Live), (d3, S::Cancelled)]);
    assert_eq!(events(s, d2).await.last(), Some(&S::Live), "no superseded event for the version still live");
    // the app id must be the deployment's own
    let d4 = deploying(s, a.id).await;
    assert!(!s.go_live(d4, other.id).await.unwrap(), "wrong app: nothing happens");
    assert_eq!(statuses(s, other.id).await, [(b1, S::Live)]);
    assert_eq!(s.deployment(d4).await.unwrap().status, S::Deploying);
}

async fn concurrent_go_lives_on_one_app_leave_exactly_one_live(db: Db) {
    let a = app_named(&db.store, "a").await;
    let second = db.another_process().await;
    for round in 0..3 {
        let mut ids = Vec::new();
        for _ in 0..6 {
            ids.push(deploying(&db.store, a.id).await);
        }
        // half of the calls through a second pool, as another Rhone process would
        let calls = ids.iter().enumerate().map(|(i, id)| {
            let s = if i % 2 == 0 { db.store.clone() } else { second.clone() };
            let (id, app) = (*id, a.id);
            tokio::spawn(async move { s.go_live(id, app).await })
        });
        let results: Vec<bool> = futures::future::join_all(calls).await.into_iter().map(|r| r.unwrap().unwrap()).collect();
        assert!(results.iter().all(|went| *went), "round {round}: every deploying version went live in turn: {results:?}");
        let all = statuses(&db.store, a.id).await;
        let live: Vec<_> = all.iter().filter(|(_, st)| *st == S::Live).collect();
        assert_eq!(live.len(), 1, "round {round}: exactly one live: {all:?}");
        assert!(all.iter().all(|(_, st)| matches!(st, S::Live | S::Superseded)), "{all:?}");
        for (id, st) in &all {
            let ev = events(&db.store, *id).await;
            assert_eq!(ev.iter().filter(|e| **e == S::Live).count(), 1, "{id}: one live event: {ev:?}");
            assert_eq!(ev.last(), Some(st), "{id}: the last event is the current status: {ev:?}");
        }
    }
}

async fn the_database_refuses_a_second_live_deployment_of_an_app(db: Db) {
    let s = &db.store;
    let a = app_named(s, "a").await;
    let d1 = deploying(s, a.id).await;
    let d2 = deploying(s, a.id).await;
    assert!(s.go_live(d1, a.id).await.unwrap());
    // a plain status write (not go_live) cannot make a second live version
    let err = s.transition(d2, &[S::Deploying], S::Live, None).await;
    assert!(err.is_err(), "second live deployment accepted: {err:?}");
    assert_eq!(statuses(s, a.id).await, [(d1, S::Live), (d2, S::Deploying)]);
    assert_eq!(events(s, d2).await, [S::Pending, S::Building, S::Deploying], "no event for a write that did not happen");
}

async fn a_deployment_is_inserted_only_together_with_its_job(db: Db) {
    let s = &db.store;
    let a = app_named(s, "a").await;
    let job = |key: &str, id: i64| NewJob {
        kind: "deploy".into(),
        dedupe_key: Some(key.to_string()),
        payload: format!("{{\"deployment_id\":{id}}}"),
        max_attempts: 1,
        run_at: 0,
    };
    let d = s.insert_deployment_with_job(new(a.id), |id| Ok(job(&format!("deploy:{id}"), id))).await.unwrap();
    assert_eq!(d.status, S::Pending);
    let claimed = s.claim_job().await.unwrap().expect("the deployment's job is queued");
    assert_eq!(claimed.payload, format!("{{\"deployment_id\":{}}}", d.id));
    // the job cannot be inserted (its dedupe key is taken): no deployment either
    assert!(s.enqueue_job("deploy", Some("taken"), "{}").await.unwrap());
    let err = s.insert_deployment_with_job(new(a.id), |id| Ok(job("taken", id))).await;
    assert!(err.is_err(), "{err:?}");
    // making the job fails: no deployment either
    let err = s.insert_deployment_with_job(new(a.id), |_| Err(crate::Error::Internal("no job".into()))).await;
    assert!(err.is_err(), "{err:?}");
    let all = s.list_deployments(a.id, None, 100).await.unwrap();
    assert_eq!(all.iter().map(|d| d.id).collect::<Vec<_>>(), [d.id], "no deployment without a job");
}
