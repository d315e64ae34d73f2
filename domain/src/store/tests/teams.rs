//! Teams in the store, on both backends: the migration gives every existing user a personal team and
//! the first owner's team the existing apps; an invitation is used once however many accept it at
//! the same time; a team keeps an owner.

use sqlx::AnyPool;

use super::backends::{fresh_postgres_database, postgres, sqlite, Db};
use crate::policy::Role;
use crate::store::{now_ms, Store};

#[tokio::test]
async fn existing_users_get_personal_teams_and_apps_go_to_the_first_owner_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    migrate(&format!("sqlite://{}/t.db", dir.path().display()), "sqlite").await;
}

#[tokio::test]
async fn existing_users_get_personal_teams_and_apps_go_to_the_first_owner_on_postgres() {
    migrate(&fresh_postgres_database().await, "postgres").await;
}

async fn migrate(url: &str, backend: &str) {
    // the schema before teams: migrations 1 to 6
    let old = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(format!("{}/../migrations/{backend}", env!("CARGO_MANIFEST_DIR"))).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0007" {
            std::fs::copy(&path, old.path().join(name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let connect_url = if backend == "sqlite" { format!("{url}?mode=rwc") } else { url.to_string() };
    let pool = AnyPool::connect(&connect_url).await.unwrap();
    sqlx::migrate::Migrator::new(old.path()).await.unwrap().run(&pool).await.unwrap();
    for sql in [
        "INSERT INTO users (email, password_hash, role, created_at) VALUES ('ada.l@example.com', 'h', 'owner', 1)",
        "INSERT INTO users (email, password_hash, role, created_at) VALUES ('Weird+Name@example.com', 'h', 'member', 2)",
        "INSERT INTO apps (slug, name, repo_url, branch, created_at, updated_at) VALUES ('old', 'old', '/r', '', 0, 0)",
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES (2, 'ci', 'hash', 'rhone_abcdef', 0)",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let s = Store::connect(url).await.unwrap();
    let ada = s.teams_of(1).await.unwrap();
    assert_eq!(ada.len(), 1, "{ada:?}");
    assert!(ada[0].team.personal && ada[0].role == Role::Owner, "{ada:?}");
    let weird = s.teams_of(2).await.unwrap();
    assert_eq!(weird.len(), 1);
    assert_eq!(weird[0].team.slug, "user-2", "a local part that is no slug gives a plain one");
    let app = s.app_by_slug("old").await.unwrap();
    assert_eq!(app.team_id, ada[0].team.id, "apps made before teams belong to the first owner's team");
    assert_eq!(s.app_with_role("old", 2).await.unwrap().unwrap().1, None, "and nobody else's");
    let (_, token) = s.user_by_api_token("hash").await.unwrap().unwrap();
    assert_eq!((token.limits.team_id, token.limits.scope), (None, crate::policy::Scope::Write), "old tokens keep their user's rights");
}

async fn user(s: &Store, email: &str) -> i64 {
    s.insert_user(email, "h", "member").await.unwrap().id
}

async fn one_invitation_accepted_by_many_at_once(db: Db) {
    let s = &db.store;
    let owner = user(s, "o@example.com").await;
    let team = s.insert_team("t", "T", owner).await.unwrap();
    s.insert_invitation(team.id, "x@example.com", Role::Member, "tok", owner, now_ms() + 60_000).await.unwrap();
    let mut takers = Vec::new();
    for i in 0..6 {
        takers.push(user(s, &format!("u{i}@example.com")).await);
    }
    let mut tasks = Vec::new();
    for (i, u) in takers.iter().copied().enumerate() {
        // half through a second connection pool, as from another Rhone process
        let s = if i % 2 == 0 { s.clone() } else { db.another_process().await };
        tasks.push(tokio::spawn(async move { s.accept_invitation("tok", u).await }));
    }
    let mut won = 0;
    for t in tasks {
        if t.await.unwrap().unwrap().is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1, "an invitation is used once");
    assert_eq!(s.members(team.id).await.unwrap().len(), 2, "the owner and the one who won");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_invitation_accepted_by_many_at_once_makes_one_member_on_sqlite() {
    one_invitation_accepted_by_many_at_once(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_invitation_accepted_by_many_at_once_makes_one_member_on_postgres() {
    one_invitation_accepted_by_many_at_once(postgres().await).await;
}

async fn a_team_keeps_an_owner(db: Db) {
    let s = &db.store;
    let (a, b) = (user(s, "a@example.com").await, user(s, "b@example.com").await);
    let team = s.insert_team("t", "T", a).await.unwrap();
    assert!(s.set_member_role(team.id, a, Some(Role::Admin)).await.is_err(), "the only owner cannot step down");
    assert!(s.set_member_role(team.id, a, None).await.is_err(), "nor leave");
    assert!(!s.set_member_role(team.id, b, Some(Role::Owner)).await.unwrap(), "b is no member yet");
    s.insert_invitation(team.id, "b@example.com", Role::Owner, "inv", a, now_ms() + 60_000).await.unwrap();
    s.accept_invitation("inv", b).await.unwrap().unwrap();
    assert!(s.set_member_role(team.id, a, None).await.unwrap(), "with a second owner, the first may leave");
    assert!(s.set_member_role(team.id, b, Some(Role::Viewer)).await.is_err(), "now b is the last owner");
    assert_eq!(s.role_in(team.id, a).await.unwrap(), None);
    assert!(s.delete_team(team.id).await.is_ok(), "a team without apps can go");
}

#[tokio::test]
async fn a_team_keeps_an_owner_on_sqlite() {
    a_team_keeps_an_owner(sqlite().await).await;
}

#[tokio::test]
async fn a_team_keeps_an_owner_on_postgres() {
    a_team_keeps_an_owner(postgres().await).await;
}
