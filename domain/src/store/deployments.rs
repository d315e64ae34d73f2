//! Deployments and their status history. Every status change is a conditional write (`from` states)
//! plus an event row, so a cancel racing the pipeline has exactly one winner.

use sqlx::any::AnyRow;

use sqlx::AnyConnection;

use super::jobs::{insert_job, NewJob};
use super::{get, now_ms, Backend, Store};
use crate::error::{Error, Result};
use crate::model::{Deployment, DeploymentStatus, StatusEvent};

const DEP_COLS: &str = "d.id, d.app_id, a.slug AS app_slug, d.status, d.git_ref, d.commit_sha, d.commit_message, \
     d.rollback_of, d.error, d.build_ms, d.created_at, d.updated_at, d.finished_at, d.artifact_dir";

/// A stored status (an unknown one is a bug of ours, not of the caller).
fn status(s: &str) -> Result<DeploymentStatus> {
    DeploymentStatus::parse(s).ok_or_else(|| Error::internal("deployment status", format!("unknown status {s:?}")))
}

fn deployment(row: &AnyRow) -> Result<Deployment> {
    let artifact: Option<String> = get(row, "artifact_dir")?;
    Ok(Deployment {
        id: get(row, "id")?,
        app_id: get(row, "app_id")?,
        app_slug: get(row, "app_slug")?,
        status: status(&get::<String>(row, "status")?)?,
        git_ref: get(row, "git_ref")?,
        commit_sha: get(row, "commit_sha")?,
        commit_message: get(row, "commit_message")?,
        rollback_of: get(row, "rollback_of")?,
        error: get(row, "error")?,
        build_ms: get(row, "build_ms")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        finished_at: get(row, "finished_at")?,
        rollback_available: artifact.is_some(),
    })
}

async fn insert_pending(conn: &mut AnyConnection, app_id: i64, git_ref: &str, rollback_of: Option<i64>) -> Result<i64> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO deployments (app_id, status, git_ref, rollback_of, created_at, updated_at)
         VALUES ($1, 'pending', $2, $3, $4, $4) RETURNING id",
    )
    .bind(app_id)
    .bind(git_ref)
    .bind(rollback_of)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = get(&row, "id")?;
    insert_event(conn, id, DeploymentStatus::Pending, now).await?;
    Ok(id)
}

async fn insert_event(conn: &mut AnyConnection, id: i64, status: DeploymentStatus, at: i64) -> Result<()> {
    sqlx::query("INSERT INTO deployment_events (deployment_id, status, at) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(status.as_str())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The conditional status write plus its event row, on the caller's transaction.
async fn transition_in(conn: &mut AnyConnection, id: i64, from: &[DeploymentStatus], to: DeploymentStatus, error: Option<&str>) -> Result<bool> {
    let now = now_ms();
    let from_list = from.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(",");
    let finished = if to.build_finished() && to != DeploymentStatus::Superseded { Some(now) } else { None };
    let done = sqlx::query(&format!(
        "UPDATE deployments SET status = $2, updated_at = $3, error = COALESCE($4, error),
         finished_at = COALESCE(finished_at, $5) WHERE id = $1 AND status IN ({from_list})"
    ))
    .bind(id)
    .bind(to.as_str())
    .bind(now)
    .bind(error)
    .bind(finished)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    insert_event(conn, id, to, now).await?;
    Ok(true)
}

/// What the runtime needs to (re)start a built version.
#[derive(Debug, Clone)]
pub struct Release {
    pub deployment_id: i64,
    pub app_id: i64,
    pub plan: Option<String>,
    pub artifact_dir: Option<String>,
}

impl Store {
    pub async fn insert_deployment(&self, app_id: i64, git_ref: &str, rollback_of: Option<i64>) -> Result<Deployment> {
        let mut tx = self.pool().begin().await?;
        let id = insert_pending(&mut tx, app_id, git_ref, rollback_of).await?;
        tx.commit().await?;
        self.deployment(id).await
    }

    /// Inserts a pending deployment and its job (made from the new id) in one transaction, so no
    /// deployment is ever left `pending` without a job to run it.
    pub async fn insert_deployment_with_job(
        &self,
        app_id: i64,
        git_ref: &str,
        rollback_of: Option<i64>,
        job: impl FnOnce(i64) -> Result<NewJob>,
    ) -> Result<Deployment> {
        let mut tx = self.pool().begin().await?;
        let id = insert_pending(&mut tx, app_id, git_ref, rollback_of).await?;
        if !insert_job(&mut tx, &job(id)?).await? {
            return Err(Error::Internal(format!("a job for deployment {id} already exists")));
        }
        tx.commit().await?;
        self.deployment(id).await
    }

    pub async fn deployment(&self, id: i64) -> Result<Deployment> {
        let row = sqlx::query(&format!("SELECT {DEP_COLS} FROM deployments d JOIN apps a ON a.id = d.app_id WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(deployment).transpose()?.ok_or(Error::NotFound("deployment"))
    }

    /// Newest first; `before` is an id cursor for the next page.
    pub async fn list_deployments(&self, app_id: i64, before: Option<i64>, limit: i64) -> Result<Vec<Deployment>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEP_COLS} FROM deployments d JOIN apps a ON a.id = d.app_id
             WHERE d.app_id = $1 AND d.id < $2 ORDER BY d.id DESC LIMIT $3"
        ))
        .bind(app_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deployment).collect()
    }

    /// Each app's newest deployment status, in one query (apps without a deployment are absent).
    pub async fn newest_statuses(&self) -> Result<std::collections::HashMap<i64, DeploymentStatus>> {
        let rows = sqlx::query("SELECT app_id, status FROM deployments WHERE id IN (SELECT MAX(id) FROM deployments GROUP BY app_id)")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| Ok((get::<i64>(row, "app_id")?, status(&get::<String>(row, "status")?)?))).collect()
    }

    pub async fn deployments_with_status(&self, status: DeploymentStatus) -> Result<Vec<Deployment>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEP_COLS} FROM deployments d JOIN apps a ON a.id = d.app_id WHERE d.status = $1 ORDER BY d.id"
        ))
        .bind(status.as_str())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(deployment).collect()
    }

    pub async fn status_events(&self, id: i64) -> Result<Vec<StatusEvent>> {
        let rows = sqlx::query("SELECT status, at FROM deployment_events WHERE deployment_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok(StatusEvent { status: status(&get::<String>(r, "status")?)?, at: get(r, "at")? }))
            .collect()
    }

    /// Moves a deployment to `to` if it is currently in one of `from`; returns whether it moved.
    pub async fn transition(&self, id: i64, from: &[DeploymentStatus], to: DeploymentStatus, error: Option<&str>) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let moved = transition_in(&mut tx, id, from, to, error).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Makes a `deploying` deployment live and supersedes every other live deployment of its app, with
    /// their status events, in one transaction. Returns false (and changes nothing) if the deployment
    /// is no longer `deploying` (cancelled or superseded meanwhile). A partial unique index keeps at
    /// most one live deployment per app even if two of these race.
    pub async fn go_live(&self, id: i64, app_id: i64) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == Backend::Postgres {
            // serialize go-lives of one app: the second waits, then sees the first one's live row
            sqlx::query("SELECT id FROM apps WHERE id = $1 FOR UPDATE").bind(app_id).fetch_optional(&mut *tx).await?;
        }
        let now = now_ms();
        let others = sqlx::query(
            "UPDATE deployments SET status = 'superseded', updated_at = $3 WHERE app_id = $1 AND status = 'live' AND id <> $2
             AND EXISTS (SELECT 1 FROM deployments d WHERE d.id = $2 AND d.app_id = $1 AND d.status = 'deploying')
             RETURNING id",
        )
        .bind(app_id)
        .bind(id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let live = sqlx::query("UPDATE deployments SET status = 'live', updated_at = $3 WHERE id = $1 AND app_id = $2 AND status = 'deploying'")
            .bind(id)
            .bind(app_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if live.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_event(&mut tx, id, DeploymentStatus::Live, now).await?;
        for row in &others {
            insert_event(&mut tx, get(row, "id")?, DeploymentStatus::Superseded, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The live version `failed` right after its switch: it becomes `failed` (with `why`) and
    /// `previous` (superseded by it) is live again, with their events, in one transaction. False if
    /// `failed` is no longer live (a newer deploy switched meanwhile).
    pub async fn revert_live(&self, failed: i64, previous: i64, why: &str) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let now = now_ms();
        let down = sqlx::query("UPDATE deployments SET status = 'failed', error = $2, updated_at = $3 WHERE id = $1 AND status = 'live'")
            .bind(failed)
            .bind(why)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if down.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let up = sqlx::query(
            "UPDATE deployments SET status = 'live', updated_at = $2 WHERE id = $1 AND status = 'superseded'
             AND app_id = (SELECT app_id FROM deployments WHERE id = $3)",
        )
        .bind(previous)
        .bind(now)
        .bind(failed)
        .execute(&mut *tx)
        .await?;
        if up.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_event(&mut tx, failed, DeploymentStatus::Failed, now).await?;
        insert_event(&mut tx, previous, DeploymentStatus::Live, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_commit(&self, id: i64, sha: &str, message: &str) -> Result<()> {
        sqlx::query("UPDATE deployments SET commit_sha = $2, commit_message = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(sha)
            .bind(message)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn set_build(&self, id: i64, plan: &str, artifact_dir: &str, build_ms: i64) -> Result<()> {
        sqlx::query("UPDATE deployments SET plan = $2, artifact_dir = $3, build_ms = $4, updated_at = $5 WHERE id = $1")
            .bind(id)
            .bind(plan)
            .bind(artifact_dir)
            .bind(build_ms)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn release(&self, id: i64) -> Result<Release> {
        let row = sqlx::query("SELECT id, app_id, plan, artifact_dir FROM deployments WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(Error::NotFound("deployment"))?;
        Ok(Release {
            deployment_id: get(&row, "id")?,
            app_id: get(&row, "app_id")?,
            plan: get(&row, "plan")?,
            artifact_dir: get(&row, "artifact_dir")?,
        })
    }

    /// Successful builds of this app still on disk, newest first.
    pub async fn kept_builds(&self, app_id: i64) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT id, artifact_dir FROM deployments WHERE app_id = $1 AND artifact_dir IS NOT NULL
             AND status IN ('live', 'superseded') ORDER BY id DESC",
        )
        .bind(app_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            out.push((get(row, "id")?, get(row, "artifact_dir")?));
        }
        Ok(out)
    }

    pub async fn clear_artifact(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE deployments SET artifact_dir = NULL WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }
}

impl Store {
    /// True if any deployment still references this build directory.
    pub async fn artifact_in_use(&self, dir: &str) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM deployments WHERE artifact_dir = $1")
            .bind(dir)
            .fetch_one(self.pool())
            .await?;
        Ok(get::<i64>(&row, "n")? > 0)
    }
}
