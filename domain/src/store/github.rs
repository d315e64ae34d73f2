//! GitHub bookkeeping: webhook deliveries handled (each once), the repository (id, owner/name) and
//! App installation each app takes pushes from, and the commit status posted per deployment.

use super::{get, now_ms, Store};
use crate::error::Result;
use crate::github::Claim;

impl Store {
    /// Takes delivery `id` for handling: new, taken over from a handler that stopped more than
    /// `stale_ms` ago, already handled, or being handled now.
    /// `payload` is kept until the delivery is finished or released.
    pub async fn claim_delivery(&self, id: &str, event: &str, now: i64, stale_ms: i64, payload: &str) -> Result<Claim> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (delivery_id, event, received_at, outcome, payload) VALUES ($1, $2, $3, NULL, $4)
             ON CONFLICT (delivery_id) DO NOTHING",
        )
        .bind(id)
        .bind(event)
        .bind(now)
        .bind(payload)
        .execute(self.pool())
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::New);
        }
        let taken = sqlx::query("UPDATE webhook_deliveries SET received_at = $2, payload = $4 WHERE delivery_id = $1 AND outcome IS NULL AND received_at <= $3")
            .bind(id)
            .bind(now)
            .bind(now - stale_ms)
            .bind(payload)
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
        sqlx::query("UPDATE webhook_deliveries SET outcome = $2, payload = NULL WHERE delivery_id = $1").bind(id).bind(outcome).execute(self.pool()).await?;
        Ok(())
    }

    /// Deliveries claimed and never finished (a crash stopped their handling): key and payload.
    pub async fn unfinished_deliveries(&self) -> Result<Vec<(String, Option<String>)>> {
        let rows = sqlx::query("SELECT delivery_id, payload FROM webhook_deliveries WHERE outcome IS NULL ORDER BY received_at, delivery_id").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((get(r, "delivery_id")?, get(r, "payload")?))).collect()
    }

    /// Deletes handled deliveries received before `before` (ms); unfinished ones stay.
    pub async fn prune_deliveries(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM webhook_deliveries WHERE outcome IS NOT NULL AND received_at < $1").bind(before).execute(self.pool()).await?;
        Ok(done.rows_affected())
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

    /// The repository an app takes pushes from, once a push recorded it.
    pub async fn app_github(&self, app_id: i64) -> Result<Option<AppGitHub>> {
        let row = sqlx::query("SELECT repo_id, full_name, installation_id FROM app_github WHERE app_id = $1")
            .bind(app_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(AppGitHub { repo_id: get(&r, "repo_id")?, full_name: get(&r, "full_name")?, installation_id: get(&r, "installation_id")? }))
            .transpose()
    }

    /// Records the repository's current owner/name and the App installation a push came through
    /// (repositories are renamed and Apps reinstalled; the id stays).
    pub async fn set_app_github_source(&self, app_id: i64, full_name: Option<&str>, installation_id: Option<i64>) -> Result<()> {
        sqlx::query(
            "UPDATE app_github SET full_name = COALESCE($2, full_name), installation_id = COALESCE($3, installation_id) WHERE app_id = $1",
        )
        .bind(app_id)
        .bind(full_name)
        .bind(installation_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// What became of deployment `id`'s commit status: the state posted last (`state`), or why the
    /// last attempt failed (`error`).
    pub async fn record_github_status(&self, id: i64, state: Option<&str>, error: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO github_statuses (deployment_id, state, error, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (deployment_id) DO UPDATE SET state = COALESCE(excluded.state, github_statuses.state),
             error = excluded.error, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(state)
        .bind(error)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// Where an app's pushes come from on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppGitHub {
    pub repo_id: i64,
    /// `owner/name`, as of the last push.
    pub full_name: Option<String>,
    /// The App installation the last push came through (`None`: a plain repository webhook).
    pub installation_id: Option<i64>,
}

/// Queues the commit-status job of deployment `id` having reached `status`, on the caller's
/// transaction, when the deployment's app takes pushes through the GitHub App (once per status).
pub(super) async fn queue_github_status(conn: &mut sqlx::AnyConnection, id: i64, status: &str, now: i64) -> Result<()> {
    let payload = format!("{{\"deployment_id\":{id}}}");
    sqlx::query(
        "INSERT INTO jobs (kind, dedupe_key, payload, status, created_at, run_at, max_attempts)
         SELECT $1, $2, $3, 'queued', $4, $4, $5 FROM deployments d JOIN app_github g ON g.app_id = d.app_id
         WHERE d.id = $6 AND g.installation_id IS NOT NULL
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(crate::github::status::KIND)
    .bind(format!("github-status:{id}:{status}"))
    .bind(payload)
    .bind(now)
    .bind(crate::github::status::STATUS_ATTEMPTS)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
