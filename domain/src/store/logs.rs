//! Stored log lines, bounded per channel (`deploy:<id>` build logs, `app:<id>` runtime logs).

use sqlx::any::AnyRow;

use super::{get, Store};
use crate::error::Result;
use crate::model::LogLine;

impl Store {
    pub async fn insert_log_lines(&self, channel: &str, lines: &[LogLine]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        for l in lines {
            sqlx::query("INSERT INTO log_lines (channel, seq, at, stream, line, release_no) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(channel)
                .bind(l.seq)
                .bind(l.at)
                .bind(&l.stream)
                .bind(&l.line)
                .bind(l.release)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` lines of a channel with `seq > after`, oldest first.
    pub async fn log_lines(&self, channel: &str, after: i64, limit: i64) -> Result<Vec<LogLine>> {
        self.newest_lines(channel, "seq > $2", after, limit).await
    }

    /// The newest `limit` lines of a channel with `seq < before`, oldest first (older pages).
    pub async fn log_lines_before(&self, channel: &str, before: i64, limit: i64) -> Result<Vec<LogLine>> {
        self.newest_lines(channel, "seq < $2", before, limit).await
    }

    /// Rhone's own lines (stream `rhone`) before `before`: the newest `limit` of them, oldest first.
    pub async fn rhone_lines_before(&self, channel: &str, before: i64, limit: i64) -> Result<Vec<LogLine>> {
        self.newest_lines(channel, "seq < $2 AND stream = 'rhone'", before, limit).await
    }

    /// The newest `limit` lines of a channel matching `condition` (a fixed SQL fragment over `$2`),
    /// oldest first.
    async fn newest_lines(&self, channel: &str, condition: &'static str, bound: i64, limit: i64) -> Result<Vec<LogLine>> {
        let rows = sqlx::query(&format!(
            "SELECT seq, at, stream, line, release_no FROM (SELECT seq, at, stream, line, release_no FROM log_lines
             WHERE channel = $1 AND {condition} ORDER BY seq DESC LIMIT $3) t ORDER BY seq"
        ))
        .bind(channel)
        .bind(bound)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(line_of).collect()
    }

    pub async fn last_log_seq(&self, channel: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM log_lines WHERE channel = $1")
            .bind(channel)
            .fetch_one(self.pool())
            .await?;
        get(&row, "n")
    }

    /// Keeps only the newest `keep` lines of a channel.
    pub async fn trim_log(&self, channel: &str, keep: i64) -> Result<()> {
        sqlx::query(
            "DELETE FROM log_lines WHERE channel = $1 AND seq <= (SELECT COALESCE(MAX(seq), 0) FROM log_lines WHERE channel = $1) - $2",
        )
        .bind(channel)
        .bind(keep)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn delete_log(&self, channel: &str) -> Result<()> {
        sqlx::query("DELETE FROM log_lines WHERE channel = $1").bind(channel).execute(self.pool()).await?;
        Ok(())
    }
}

fn line_of(r: &AnyRow) -> Result<LogLine> {
    Ok(LogLine { seq: get(r, "seq")?, at: get(r, "at")?, stream: get(r, "stream")?, line: get(r, "line")?, release: get(r, "release_no")? })
}
