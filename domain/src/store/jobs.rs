//! The persisted job queue. Claiming is one conditional UPDATE (plus `SKIP LOCKED` on PostgreSQL), so
//! two workers never run the same job; a dedupe key makes enqueueing idempotent.

use super::{get, now_ms, Backend, Store};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

impl Store {
    /// Enqueues a job; returns false if a job with the same dedupe key already exists.
    pub async fn enqueue_job(&self, kind: &str, dedupe_key: Option<&str>, payload: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO jobs (kind, dedupe_key, payload, status, created_at) VALUES ($1, $2, $3, 'queued', $4)
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(kind)
        .bind(dedupe_key)
        .bind(payload)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn claim_job(&self) -> Result<Option<ClaimedJob>> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "UPDATE jobs SET status = 'running', locked_at = $1, attempts = attempts + 1
             WHERE status = 'queued' AND id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1 {lock})
             RETURNING id, kind, payload, attempts"
        ))
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(ClaimedJob { id: get(&r, "id")?, kind: get(&r, "kind")?, payload: get(&r, "payload")?, attempts: get(&r, "attempts")? })
        })
        .transpose()
    }

    pub async fn finish_job(&self, id: i64, error: Option<&str>) -> Result<()> {
        let status = if error.is_some() { "failed" } else { "done" };
        sqlx::query("UPDATE jobs SET status = $2, last_error = $3 WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(error)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Jobs that were running when the process stopped: returns their payloads and marks them failed.
    pub async fn fail_interrupted_jobs(&self, reason: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("UPDATE jobs SET status = 'failed', last_error = $1 WHERE status = 'running' RETURNING kind, payload")
            .bind(reason)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((get(r, "kind")?, get(r, "payload")?))).collect()
    }

    pub async fn queued_jobs(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'running')")
            .fetch_one(self.pool())
            .await?;
        get(&row, "n")
    }
}
