//! Periodic jobs: one `schedules` row per job. Firing is a conditional UPDATE that moves
//! `next_run_at` on; only the caller whose UPDATE matched enqueues the run (in the same transaction),
//! so several workers or several Rhone processes on one database run each job once per interval.

use super::jobs::{insert_job, NewJob};
use super::{get, Store};
use crate::error::Result;

impl Store {
    /// Creates the schedule (due at `now`) or updates its interval; a next run further away than one
    /// new interval is brought forward.
    pub async fn ensure_schedule(&self, name: &str, interval_ms: i64, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO schedules (name, interval_ms, next_run_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET interval_ms = excluded.interval_ms,
             next_run_at = CASE WHEN schedules.next_run_at > $3 + excluded.interval_ms
                                THEN $3 + excluded.interval_ms ELSE schedules.next_run_at END",
        )
        .bind(name)
        .bind(interval_ms.max(1))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// If the schedule is due at `now`, moves it to `now + interval` and enqueues `job`, atomically.
    /// Returns whether this caller fired it.
    pub async fn fire_schedule(&self, name: &str, now: i64, job: &NewJob) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let won = sqlx::query("UPDATE schedules SET next_run_at = $2 + interval_ms WHERE name = $1 AND next_run_at <= $2")
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if won {
            insert_job(&mut tx, job).await?;
        }
        tx.commit().await?;
        Ok(won)
    }

    /// When the schedule runs next (unix ms), if it exists.
    pub async fn schedule_next_run(&self, name: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT next_run_at FROM schedules WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        row.map(|r| get(&r, "next_run_at")).transpose()
    }
}
