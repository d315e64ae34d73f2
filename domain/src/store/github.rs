//! GitHub webhook bookkeeping: deliveries handled (each once) and the repository id each app takes
//! pushes from.

use super::Store;
use crate::error::Result;
use crate::github::Claim;

impl Store {
    /// Takes delivery `id` for handling: new, taken over from a handler that stopped more than
    /// `stale_ms` ago, already handled, or being handled now.
    pub async fn claim_delivery(&self, id: &str, event: &str, now: i64, stale_ms: i64) -> Result<Claim> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, event, received_at, outcome) VALUES ($1, $2, $3, NULL)
             ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(id)
        .bind(event)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::New);
        }
        let taken = sqlx::query("UPDATE webhook_deliveries SET received_at = $2 WHERE delivery_id = $1 AND outcome IS NULL AND received_at < $3")
            .bind(id)
            .bind(now)
            .bind(now - stale_ms)
            .execute(self.pool())
            .await?
            .rows_affected();
        if taken == 1 {
            return Ok(Claim::New);
        }
        let outcome: Option<Option<String>> = sqlx::query_scalar("SELECT outcome FROM webhook_deliveries WHERE delivery_id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match outcome {
            Some(Some(_)) => Claim::Done,
            _ => Claim::Busy,
        })
    }

    /// Records what a delivery did; from now on it is a duplicate.
    pub async fn finish_delivery(&self, id: &str, outcome: &str) -> Result<()> {
        sqlx::query("UPDATE webhook_deliveries SET outcome = $2 WHERE delivery_id = $1").bind(id).bind(outcome).execute(self.pool()).await?;
        Ok(())
    }

    /// Gives up an unfinished claim (handling failed), so a redelivery is handled anew.
    pub async fn release_delivery(&self, id: &str) -> Result<()> {
        sqlx::query("DELETE FROM webhook_deliveries WHERE delivery_id = $1 AND outcome IS NULL").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// The GitHub repository id app `app_id` takes pushes from, once recorded.
    pub async fn app_github_repo(&self, app_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT repo_id FROM app_github WHERE app_id = $1").bind(app_id).fetch_optional(self.pool()).await?)
    }

    /// Records the repository id of the first push that matched the app's repository URL (a
    /// concurrent first push records nothing more: the first id stays).
    pub async fn link_app_github_repo(&self, app_id: i64, repo_id: i64) -> Result<()> {
        sqlx::query("INSERT INTO app_github (app_id, repo_id) VALUES ($1, $2) ON CONFLICT (app_id) DO NOTHING")
            .bind(app_id)
            .bind(repo_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
