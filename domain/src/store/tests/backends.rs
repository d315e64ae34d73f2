//! Runs a store test on both backends: a fresh SQLite file, and a fresh database on the PostgreSQL
//! server named by `RHONE_TEST_POSTGRES_URL` (`make test` starts one with `server/tests/postgres.sh`).

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::store::{now_ms, Store};

pub(crate) struct Db {
    pub store: Store,
    /// Opens more `Store`s on the same database (another Rhone process).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub async fn another_process(&self) -> Store {
        Store::connect(&self.url).await.expect("second connection to the test database")
    }
}

pub(crate) async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    Db { store: Store::connect(&url).await.unwrap(), url, _dir: Some(dir) }
}

pub(crate) async fn postgres() -> Db {
    let url = fresh_postgres_database().await;
    Db { store: Store::connect(&url).await.unwrap(), url, _dir: None }
}

/// The URL of a new, empty database on the test PostgreSQL server.
pub(crate) async fn fresh_postgres_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let server = std::env::var("RHONE_TEST_POSTGRES_URL")
        .expect("RHONE_TEST_POSTGRES_URL must point at a PostgreSQL server (run: export RHONE_TEST_POSTGRES_URL=$(bash server/tests/postgres.sh))");
    let server = server.trim_end_matches('/');
    let name = format!("rhone_store_{}_{}_{}", std::process::id(), now_ms(), N.fetch_add(1, Ordering::Relaxed));
    let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres")).await.expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
    format!("{server}/{name}")
}

/// `both!(a, b)` makes `a::sqlite`, `a::postgres`, ... tests calling `async fn a(db: Db)`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::store::tests::backends::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::store::tests::backends::postgres().await).await
            }
        }
    )*};
}
pub(crate) use both;
