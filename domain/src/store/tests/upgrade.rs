//! A database written before the one-live index (possibly by a crash between two writes) is repaired
//! by the migration that adds it: one live deployment per app, no `pending` deployment without a job;
//! and a version's recorded process becomes its runtime instance id.

use sqlx::AnyPool;

use super::backends::fresh_postgres_database;
use crate::model::DeploymentStatus as S;
use crate::store::Store;

#[tokio::test]
async fn upgrading_repairs_two_live_versions_and_jobless_pending_ones_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    upgrade(&format!("sqlite://{}/t.db", dir.path().display()), "sqlite").await;
}

#[tokio::test]
async fn upgrading_repairs_two_live_versions_and_jobless_pending_ones_on_postgres() {
    upgrade(&fresh_postgres_database().await, "postgres").await;
}

async fn upgrade(url: &str, backend: &str) {
    // the schema as it was: only the first migration
    let old = tempfile::tempdir().unwrap();
    let first = format!("{}/../migrations/{backend}/0001_init.sql", env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(&first, old.path().join("0001_init.sql")).unwrap();
    sqlx::any::install_default_drivers();
    let connect_url = if backend == "sqlite" { format!("{url}?mode=rwc") } else { url.to_string() };
    let pool = AnyPool::connect(&connect_url).await.unwrap();
    sqlx::migrate::Migrator::new(old.path()).await.unwrap().run(&pool).await.unwrap();
    let exec = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query(sql).execute(&pool).await.unwrap() }
    };
    exec("INSERT INTO apps (slug, name, repo_url, branch, created_at, updated_at) VALUES ('a', 'a', '/r', '', 0, 0)").await;
    for status in ["live", "live", "pending", "pending"] {
        let sql = match status {
            "live" => "INSERT INTO deployments (app_id, status, git_ref, created_at, updated_at) VALUES (1, 'live', 'main', 0, 0)",
            _ => "INSERT INTO deployments (app_id, status, git_ref, created_at, updated_at) VALUES (1, 'pending', 'main', 0, 0)",
        };
        exec(sql).await;
    }
    // deployment 2 runs as a process recorded the old way (pid + start time)
    exec("UPDATE deployments SET pid = 1234, pid_start = 5678, port = 4000 WHERE id = 2").await;
    // deployment 4 has its job; deployment 3 lost it in a crash
    exec("INSERT INTO jobs (kind, dedupe_key, payload, created_at) VALUES ('deploy', 'deploy:4', '{\"deployment_id\":4}', 0)").await;
    pool.close().await;

    let s = Store::connect(url).await.unwrap();
    let mut all: Vec<_> = s.list_deployments(1, None, 10).await.unwrap();
    all.reverse();
    let statuses: Vec<_> = all.iter().map(|d| d.status).collect();
    assert_eq!(statuses, [S::Superseded, S::Live, S::Failed, S::Pending]);
    assert!(all[2].error.as_deref().unwrap_or("").contains("deploy again"), "{:?}", all[2].error);
    assert_eq!(s.claim_job().await.unwrap().map(|j| j.payload).as_deref(), Some("{\"deployment_id\":4}"), "queued work survives");
    // the process columns became the runtime's opaque instance id
    let recorded = s.recorded_instances().await.unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!((recorded[0].deployment_id, recorded[0].runtime.as_str(), recorded[0].instance_id.as_str(), recorded[0].port), (2, "process", "1234:5678", Some(4000)));
    // an app made before per-app runtime settings runs as a process, with the defaults
    let app = s.app_by_id(1).await.unwrap();
    assert_eq!((app.runtime.as_str(), app.cpu_limit, app.memory_limit_mb, app.replicas), ("process", None, None, 1));
    assert_eq!((app.drain_timeout_secs, app.stop_timeout_secs, app.sticky_sessions, app.dockerfile_path), (30, 10, false, None));
    // existing deployments got their app's release numbers in order, and the next one follows
    assert_eq!(all.iter().map(|d| (d.number, d.kind)).collect::<Vec<_>>(), (1..=4).map(|n| (n, crate::model::DeploymentKind::Deploy)).collect::<Vec<_>>());
    assert_eq!(s.insert_deployment(1, "main", Some(2)).await.unwrap().number, 5);
    assert_eq!(app.stopped_at, None, "apps upgrade in service");
    // and from now on the database itself refuses a second live version
    assert!(s.transition(1, &[S::Superseded], S::Live, None).await.is_err());
}
