//! The persisted job queue. Claiming is one conditional UPDATE (plus `SKIP LOCKED` on PostgreSQL), so
//! two workers never run the same job; a dedupe key makes enqueueing idempotent. A failed attempt goes
//! back to `queued` with `run_at` in the future until the row's `max_attempts` is used up.

use sqlx::AnyConnection;

use super::{get, now_ms, Backend, Store};
use crate::error::Result;

/// A job row to insert (see `crate::jobs::Job` for where these come from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    pub dedupe_key: Option<String>,
    pub payload: String,
    /// 1 = never retried.
    pub max_attempts: i64,
    /// Not claimed before this time (unix ms).
    pub run_at: i64,
}

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// Including the attempt just claimed.
    pub attempts: i64,
    pub max_attempts: i64,
}

/// A job row as stored (for tests and diagnostics).
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub last_error: Option<String>,
    pub finished_at: Option<i64>,
}

/// Inserts a job on any connection (a transaction's too); false if the dedupe key is taken.
pub(super) async fn insert_job(conn: &mut AnyConnection, job: &NewJob) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO jobs (kind, dedupe_key, payload, status, created_at, run_at, max_attempts)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&job.kind)
    .bind(job.dedupe_key.as_deref())
    .bind(&job.payload)
    .bind(now_ms())
    .bind(job.run_at)
    .bind(job.max_attempts.max(1))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

impl Store {
    /// Enqueues a job that runs once (no retry); returns false if its dedupe key already exists.
    pub async fn enqueue_job(&self, kind: &str, dedupe_key: Option<&str>, payload: &str) -> Result<bool> {
        let job = NewJob { kind: kind.into(), dedupe_key: dedupe_key.map(Into::into), payload: payload.into(), max_attempts: 1, run_at: 0 };
        self.enqueue(&job).await
    }

    /// Enqueues a job; returns false if a job with the same dedupe key already exists.
    pub async fn enqueue(&self, job: &NewJob) -> Result<bool> {
        let mut conn = self.pool().acquire().await?;
        insert_job(&mut conn, job).await
    }

    /// Claims the oldest queued job that is due now.
    pub async fn claim_job(&self) -> Result<Option<ClaimedJob>> {
        self.claim_job_at(now_ms()).await
    }

    /// Claims the oldest queued job due at `now` (unix ms).
    pub async fn claim_job_at(&self, now: i64) -> Result<Option<ClaimedJob>> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "UPDATE jobs SET status = 'running', locked_at = $1, attempts = attempts + 1
             WHERE status = 'queued' AND id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $1 ORDER BY id LIMIT 1 {lock})
             RETURNING id, kind, payload, attempts, max_attempts"
        ))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(ClaimedJob {
                id: get(&r, "id")?,
                kind: get(&r, "kind")?,
                payload: get(&r, "payload")?,
                attempts: get(&r, "attempts")?,
                max_attempts: get(&r, "max_attempts")?,
            })
        })
        .transpose()
    }

    /// Ends a job for good: `done`, or `failed` with the error.
    pub async fn finish_job(&self, id: i64, error: Option<&str>) -> Result<()> {
        let status = if error.is_some() { "failed" } else { "done" };
        sqlx::query("UPDATE jobs SET status = $2, last_error = COALESCE($3, last_error), finished_at = $4 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(error)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A failed attempt that will be tried again at `run_at`.
    pub async fn retry_job(&self, id: i64, error: &str, run_at: i64) -> Result<()> {
        sqlx::query("UPDATE jobs SET status = 'queued', last_error = $2, run_at = $3, locked_at = NULL WHERE id = $1 AND status = 'running'")
            .bind(id)
            .bind(error)
            .bind(run_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Jobs that were running when the process stopped: those with attempts left are queued again;
    /// the others are failed and returned as (kind, payload).
    pub async fn fail_interrupted_jobs(&self, reason: &str) -> Result<Vec<(String, String)>> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE jobs SET status = 'queued', last_error = $1, locked_at = NULL WHERE status = 'running' AND attempts < max_attempts")
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(
            "UPDATE jobs SET status = 'failed', last_error = $1, finished_at = $2 WHERE status = 'running' RETURNING kind, payload",
        )
        .bind(reason)
        .bind(now_ms())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(|r| Ok((get(r, "kind")?, get(r, "payload")?))).collect()
    }

    /// Whether a job whose dedupe key starts with `prefix` is queued or running.
    pub async fn active_job_with_prefix(&self, prefix: &str) -> Result<bool> {
        let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running') AND dedupe_key LIKE $1 ESCAPE '\\'")
            .bind(pattern)
            .fetch_one(self.pool())
            .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }

    pub async fn queued_jobs(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running')")
            .fetch_one(self.pool())
            .await?;
        get(&row, "n")
    }

    /// Job rows of a kind, oldest first.
    pub async fn jobs_of_kind(&self, kind: &str) -> Result<Vec<JobRow>> {
        let rows = sqlx::query(
            "SELECT id, kind, status, attempts, max_attempts, run_at, last_error, finished_at FROM jobs WHERE kind = $1 ORDER BY id",
        )
        .bind(kind)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobRow {
                    id: get(r, "id")?,
                    kind: get(r, "kind")?,
                    status: get(r, "status")?,
                    attempts: get(r, "attempts")?,
                    max_attempts: get(r, "max_attempts")?,
                    run_at: get(r, "run_at")?,
                    last_error: get(r, "last_error")?,
                    finished_at: get(r, "finished_at")?,
                })
            })
            .collect()
    }
}
