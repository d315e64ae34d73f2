//! Deployments and their status history. Every status change is a conditional write (`from` states)
//! plus an event row, so a cancel racing the pipeline has exactly one winner.

use sqlx::any::AnyRow;

use sqlx::AnyConnection;

use super::jobs::{insert_job, NewJob};
use super::{get, now_ms, Backend, Store};
use crate::error::{Error, Result};
use crate::model::{Deployment, DeploymentKind, DeploymentStatus, StatusEvent};
use wire::Stage;

const DEP_COLS: &str = "d.id, d.number, d.kind, d.app_id, a.slug AS app_slug, d.status, d.git_ref, d.commit_sha, \
     d.commit_message, d.commit_author, d.stage, d.plan, d.rollback_of, d.error, d.build_ms, d.created_at, d.updated_at, \
     d.finished_at, d.live_at, d.artifact_dir, \
     (SELECT g.state FROM github_statuses g WHERE g.deployment_id = d.id) AS github_state, \
     (SELECT g.error FROM github_statuses g WHERE g.deployment_id = d.id) AS github_error";

/// A stored status (an unknown one is a bug of ours, not of the caller).
fn status(s: &str) -> Result<DeploymentStatus> {
    DeploymentStatus::parse(s).ok_or_else(|| Error::internal("deployment status", format!("unknown status {s:?}")))
}

fn deployment(row: &AnyRow) -> Result<Deployment> {
    let artifact: Option<String> = get(row, "artifact_dir")?;
    Ok(Deployment {
        id: get(row, "id")?,
        number: get(row, "number")?,
        kind: DeploymentKind::parse(&get::<String>(row, "kind")?).ok_or_else(|| Error::internal("deployment kind", "unknown kind"))?,
        app_id: get(row, "app_id")?,
        app_slug: get(row, "app_slug")?,
        status: status(&get::<String>(row, "status")?)?,
        git_ref: get(row, "git_ref")?,
        commit_sha: get(row, "commit_sha")?,
        commit_message: get(row, "commit_message")?,
        commit_author: get(row, "commit_author")?,
        stage: get::<Option<String>>(row, "stage")?.as_deref().and_then(Stage::parse),
        stack: get::<Option<String>>(row, "plan")?
            .and_then(|p| serde_json::from_str::<crate::detect::BuildPlan>(&p).ok())
            .map(|p| p.provider.name().to_string()),
        rollback_of: get(row, "rollback_of")?,
        error: get(row, "error")?,
        build_ms: get(row, "build_ms")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        finished_at: get(row, "finished_at")?,
        live_at: get(row, "live_at")?,
        rollback_available: artifact.is_some(),
        github_status: {
            let (state, error): (Option<String>, Option<String>) = (get(row, "github_state")?, get(row, "github_error")?);
            (state.is_some() || error.is_some()).then_some(wire::GitHubStatus { state, error })
        },
    })
}

/// What a new deployment releases: a build of a ref, or an earlier deployment's kept build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDeployment<'a> {
    pub app_id: i64,
    pub git_ref: &'a str,
    pub kind: DeploymentKind,
    /// The deployment whose build a rollback or restart releases again.
    pub rollback_of: Option<i64>,
    /// The webhook delivery it was made for (one deployment per app and delivery).
    pub delivery: Option<&'a str>,
}

/// Inserts a pending deployment with the app's next release number. One statement (a write from
/// its start: no SQLite read-then-write upgrade); on PostgreSQL the caller's transaction first locks
/// the app's row so that two deployments of one app never compute the same number.
async fn insert_pending(conn: &mut AnyConnection, backend: Backend, new: NewDeployment<'_>) -> Result<i64> {
    let now = now_ms();
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM apps WHERE id = $1 FOR UPDATE").bind(new.app_id).fetch_optional(&mut *conn).await?;
    }
    let row = sqlx::query(
        "INSERT INTO deployments (app_id, number, kind, status, stage, git_ref, rollback_of, created_at, updated_at, delivery_key)
         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, 'pending', 'queued', $3, $4, $5, $5, $6 FROM deployments WHERE app_id = $1
         RETURNING id",
    )
    .bind(new.app_id)
    .bind(new.kind.as_str())
    .bind(new.git_ref)
    .bind(new.rollback_of)
    .bind(now)
    .bind(new.delivery)
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
    super::github::queue_github_status(conn, id, status.as_str(), at).await
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
    /// A deployment without a job (tests and tools): a rollback when `rollback_of` is set.
    pub async fn insert_deployment(&self, app_id: i64, git_ref: &str, rollback_of: Option<i64>) -> Result<Deployment> {
        let kind = if rollback_of.is_some() { DeploymentKind::Rollback } else { DeploymentKind::Deploy };
        let mut tx = self.pool().begin().await?;
        let id = insert_pending(&mut tx, self.backend(), NewDeployment { app_id, git_ref, kind, rollback_of, delivery: None }).await?;
        tx.commit().await?;
        self.deployment(id).await
    }

    /// Inserts a pending deployment and its job (made from the new id) in one transaction, so no
    /// deployment is ever left `pending` without a job to run it.
    pub async fn insert_deployment_with_job(
        &self,
        new: NewDeployment<'_>,
        job: impl FnOnce(i64) -> Result<NewJob>,
    ) -> Result<Deployment> {
        let mut tx = self.pool().begin().await?;
        let id = insert_pending(&mut tx, self.backend(), new).await?;
        if !insert_job(&mut tx, &job(id)?).await? {
            return Err(Error::Internal(format!("a job for deployment {id} already exists")));
        }
        tx.commit().await?;
        self.deployment(id).await
    }

    /// The deployment of app `app_id` made for webhook delivery `key`, if one was.
    pub async fn deployment_for_delivery(&self, app_id: i64, key: &str) -> Result<Option<Deployment>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM deployments WHERE app_id = $1 AND delivery_key = $2").bind(app_id).bind(key).fetch_optional(self.pool()).await?;
        match id {
            Some(id) => self.deployment(id).await.map(Some),
            None => Ok(None),
        }
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

    /// Each app's live deployment and newest deployment (of one app, or of all), in one query.
    pub async fn live_and_newest(&self, app_id: Option<i64>) -> Result<std::collections::HashMap<i64, (Option<Deployment>, Option<Deployment>)>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEP_COLS} FROM deployments d JOIN apps a ON a.id = d.app_id
             WHERE ($1 = 0 OR d.app_id = $1)
               AND (d.status = 'live' OR d.id IN (SELECT MAX(id) FROM deployments WHERE $1 = 0 OR app_id = $1 GROUP BY app_id))"
        ))
        .bind(app_id.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        let mut out: std::collections::HashMap<i64, (Option<Deployment>, Option<Deployment>)> = std::collections::HashMap::new();
        let mut newest_id: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
        for row in &rows {
            let d = deployment(row)?;
            let entry = out.entry(d.app_id).or_default();
            if newest_id.get(&d.app_id).is_none_or(|id| d.id > *id) {
                newest_id.insert(d.app_id, d.id);
                entry.1 = Some(d.clone());
            }
            if d.status == DeploymentStatus::Live {
                entry.0 = Some(d);
            }
        }
        Ok(out)
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

    /// The app's live deployment, if any (at most one: a partial unique index).
    pub async fn live_deployment(&self, app_id: i64) -> Result<Option<Deployment>> {
        let row = sqlx::query(&format!("SELECT {DEP_COLS} FROM deployments d JOIN apps a ON a.id = d.app_id WHERE d.app_id = $1 AND d.status = 'live'"))
            .bind(app_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(deployment).transpose()
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
        let live = sqlx::query("UPDATE deployments SET status = 'live', updated_at = $3, live_at = $3 WHERE id = $1 AND app_id = $2 AND status = 'deploying'")
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

    /// Records the commit a deployment builds (and, for a GitHub App repository, queues its
    /// `pending` status now that the commit is known).
    pub async fn set_commit(&self, id: i64, sha: &str, author: &str, message: &str) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        let now = now_ms();
        sqlx::query("UPDATE deployments SET commit_sha = $2, commit_message = $3, commit_author = $4, updated_at = $5 WHERE id = $1")
            .bind(id)
            .bind(sha)
            .bind(message)
            .bind(Some(author).filter(|a| !a.is_empty()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        super::github::queue_github_status(&mut tx, id, "commit", now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records where the pipeline is (best effort: a lost write only makes the progress display lag).
    pub async fn set_stage(&self, id: i64, stage: Stage) -> Result<()> {
        sqlx::query("UPDATE deployments SET stage = $2 WHERE id = $1").bind(id).bind(stage.as_str()).execute(self.pool()).await?;
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
