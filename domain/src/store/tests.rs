//! Store behaviour on a real SQLite file; the tests in `tests/` run on SQLite and on PostgreSQL
//! (`backends.rs`), as does the user story in `server/tests/api/story.rs`.

use super::*;
use crate::model::{App, DeploymentStatus as S};

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
    (s, dir)
}

async fn app(s: &Store) -> App {
    s.insert_app(&app_draft()).await.unwrap()
}

fn app_draft() -> App {
    App {
        id: 0,
        team_id: 0,
        slug: "a".into(),
        name: "a".into(),
        repo_url: "/r".into(),
        branch: String::new(),
        root_dir: ".".into(),
        build_command: None,
        start_command: None,
        health_check_path: "/".into(),
        runtime: crate::types::RuntimeKind::Process,
        cpu_limit: None,
        memory_limit_mb: None,
        replicas: 1,
        drain_timeout_secs: 30,
        stop_timeout_secs: 10,
        sticky_sessions: false,
        dockerfile_path: None,
        auto_deploy: true,
        watch_root_dir: true,
        previews: false,
        preview_of: None,
        pr_number: None,
        stopped_at: None,
        created_at: 0,
        updated_at: 0,
    }
}

#[tokio::test]
async fn a_transition_happens_only_from_the_listed_states() {
    let (s, _d) = store().await;
    let a = app(&s).await;
    let d = s.insert_deployment(a.id, "main", None).await.unwrap();
    assert!(!s.transition(d.id, &[S::Building], S::Deploying, None).await.unwrap(), "not building yet");
    assert!(s.transition(d.id, &[S::Pending], S::Building, None).await.unwrap());
    // two writers move the same state on (a cancel and the pipeline's next step): exactly one wins
    let cancel = s.transition(d.id, &[S::Building], S::Cancelled, Some("by user"));
    let advance = s.transition(d.id, &[S::Building], S::Deploying, None);
    let (c, a2) = tokio::join!(cancel, advance);
    assert!(c.unwrap() ^ a2.unwrap(), "exactly one of the racing transitions applies");
    let events: Vec<_> = s.status_events(d.id).await.unwrap().into_iter().map(|e| e.status).collect();
    assert_eq!(events.len(), 3, "{events:?}");
    // a cancel from any in-progress state still applies after the pipeline moved on
    let d2 = s.insert_deployment(a.id, "main", None).await.unwrap();
    s.transition(d2.id, &[S::Pending], S::Building, None).await.unwrap();
    s.transition(d2.id, &[S::Building], S::Deploying, None).await.unwrap();
    assert!(s.transition(d2.id, &[S::Pending, S::Building, S::Deploying], S::Cancelled, None).await.unwrap());
    assert!(!s.transition(d2.id, &[S::Deploying], S::Live, None).await.unwrap(), "a cancelled deployment never goes live");
}

#[tokio::test]
async fn final_states_record_when_they_finished() {
    let (s, _d) = store().await;
    let a = app(&s).await;
    let d = s.insert_deployment(a.id, "main", None).await.unwrap();
    assert!(d.finished_at.is_none());
    s.transition(d.id, &[S::Pending], S::Failed, Some("boom")).await.unwrap();
    let d = s.deployment(d.id).await.unwrap();
    assert_eq!(d.error.as_deref(), Some("boom"));
    assert!(d.finished_at.is_some());
}

#[tokio::test]
async fn jobs_are_deduplicated_and_claimed_once_in_order() {
    let (s, _d) = store().await;
    assert!(s.enqueue_job("deploy", Some("k1"), "{\"n\":1}").await.unwrap());
    assert!(!s.enqueue_job("deploy", Some("k1"), "{\"n\":1}").await.unwrap(), "same dedupe key");
    assert!(s.enqueue_job("deploy", Some("k2"), "{\"n\":2}").await.unwrap());
    let (j1, j2, j3) = tokio::join!(s.claim_job(), s.claim_job(), s.claim_job());
    let mut got: Vec<String> = [j1, j2, j3].into_iter().filter_map(|j| j.unwrap()).map(|j| j.payload).collect();
    got.sort();
    assert_eq!(got, ["{\"n\":1}", "{\"n\":2}"], "each job claimed exactly once");
    assert!(s.claim_job().await.unwrap().is_none());
}

#[tokio::test]
async fn interrupted_jobs_are_failed_on_recovery() {
    let (s, _d) = store().await;
    s.enqueue_job("deploy", Some("k"), "p").await.unwrap();
    s.enqueue_job("deploy", Some("q"), "queued").await.unwrap();
    s.claim_job().await.unwrap();
    let failed = s.fail_interrupted_jobs("restart").await.unwrap();
    assert_eq!(failed, [("deploy".to_string(), "p".to_string())]);
    assert_eq!(s.claim_job().await.unwrap().map(|j| j.payload).as_deref(), Some("queued"), "queued jobs survive");
}

mod apps;
mod backends;
mod domains;
mod github;
mod jobs;
mod live;
mod retention;
mod teams;
mod upgrade;

/// An app with its own slug (a store may hold several).
pub(crate) async fn app_named(s: &Store, slug: &str) -> App {
    let mut draft = app_draft();
    draft.slug = slug.into();
    draft.name = slug.into();
    s.insert_app(&draft).await.unwrap()
}
