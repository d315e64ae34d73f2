//! Retention: deleting rows nobody needs any more (finished jobs, old log lines, old finished
//! deployments, expired sessions). Each function returns how many rows it deleted.

use super::{get, Store};
use crate::error::Result;

impl Store {
    /// Deletes finished (`done`/`failed`) job rows that finished before `before`, and all but the
    /// newest `keep` finished rows. Queued and running jobs are never touched.
    pub async fn prune_jobs(&self, before: i64, keep: i64) -> Result<u64> {
        let old = sqlx::query("DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished_at < $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected();
        let extra = sqlx::query(
            "DELETE FROM jobs WHERE status IN ('done', 'failed') AND id <= (SELECT id FROM jobs
             WHERE status IN ('done', 'failed') ORDER BY id DESC LIMIT 1 OFFSET $1)",
        )
        .bind(keep.max(0))
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(old + extra)
    }

    /// Deletes log lines written before `before`, and in every channel all but its newest `keep` lines.
    pub async fn prune_log_lines(&self, before: i64, keep: i64) -> Result<u64> {
        let mut deleted = sqlx::query("DELETE FROM log_lines WHERE at < $1").bind(before).execute(self.pool()).await?.rows_affected();
        let keep = keep.max(1);
        let rows = sqlx::query("SELECT channel FROM log_lines GROUP BY channel HAVING COUNT(*) > $1")
            .bind(keep)
            .fetch_all(self.pool())
            .await?;
        for row in &rows {
            let channel: String = get(row, "channel")?;
            deleted += sqlx::query(
                "DELETE FROM log_lines WHERE channel = $1 AND seq < (SELECT seq FROM log_lines
                 WHERE channel = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
            )
            .bind(&channel)
            .bind(keep - 1)
            .execute(self.pool())
            .await?
            .rows_affected();
        }
        Ok(deleted)
    }

    /// Deletes finished deployments (failed, cancelled, superseded) beyond the newest `keep` of their
    /// app, with their status events and build logs. A live deployment, one still in progress and one
    /// whose build is kept (for rollback) are never deleted. Returns the deleted ids.
    pub async fn prune_deployments(&self, keep: i64) -> Result<Vec<i64>> {
        let mut tx = self.pool().begin().await?;
        let rows = sqlx::query(
            "DELETE FROM deployments WHERE status IN ('failed', 'cancelled', 'superseded') AND artifact_dir IS NULL
             AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.deployment_id = deployments.id) AND id < (SELECT d2.id FROM deployments d2 WHERE d2.app_id = deployments.app_id
                                       ORDER BY d2.id DESC LIMIT 1 OFFSET $1)
             RETURNING id",
        )
        .bind(keep.max(1) - 1)
        .fetch_all(&mut *tx)
        .await?;
        let ids = rows.iter().map(|r| get::<i64>(r, "id")).collect::<Result<Vec<_>>>()?;
        for id in &ids {
            sqlx::query("DELETE FROM log_lines WHERE channel = $1").bind(format!("deploy:{id}")).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Deletes sessions that expired at or before `now`.
    pub async fn purge_expired_sessions(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
