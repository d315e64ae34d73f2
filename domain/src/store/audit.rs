//! The audit log: append-only rows per team (retention deletes old ones, nothing updates them).

use sqlx::any::AnyRow;

use super::{get, now_ms, Store};
use crate::error::Result;
use crate::teams::{AuditEntry, AuditFilter, NewAuditEntry};

fn entry(row: &AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: get(row, "id")?,
        at: get(row, "at")?,
        user_id: get(row, "user_id")?,
        actor: get(row, "actor")?,
        token_id: get(row, "token_id")?,
        action: get(row, "action")?,
        target: get(row, "target")?,
        detail: get(row, "detail")?,
        ip: get(row, "ip")?,
    })
}

impl Store {
    /// Writes one entry into each of `team_ids`.
    pub async fn append_audit(&self, team_ids: &[i64], e: &NewAuditEntry) -> Result<()> {
        let now = now_ms();
        for team_id in team_ids {
            sqlx::query(
                "INSERT INTO audit_log (team_id, user_id, actor, token_id, action, target, detail, ip, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(team_id)
            .bind(e.user_id)
            .bind(&e.actor)
            .bind(e.token_id)
            .bind(e.action.as_str())
            .bind(&e.target)
            .bind(&e.detail)
            .bind(&e.ip)
            .bind(now)
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// A page of the team's entries, newest first.
    pub async fn audit(&self, team_id: i64, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, user_id, actor, token_id, action, target, detail, ip FROM audit_log
             WHERE team_id = $1 AND ($2 < 0 OR user_id = $2) AND ($3 = '' OR action = $3) AND id < $4
             ORDER BY id DESC LIMIT $5",
        )
        .bind(team_id)
        .bind(f.user_id.unwrap_or(-1))
        .bind(f.action.clone().unwrap_or_default())
        .bind(f.before.unwrap_or(i64::MAX))
        .bind(f.limit.clamp(1, 200))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry).collect()
    }

    /// Deletes entries older than `cutoff_ms`; returns how many.
    pub async fn prune_audit(&self, cutoff_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM audit_log WHERE at < $1").bind(cutoff_ms).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
