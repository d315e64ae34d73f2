//! Apps and their (encrypted) environment variables.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Any;

use super::{get, now_ms, Store};
use crate::error::{Error, Result};
use crate::model::App;
use crate::types::{CpuLimit, RuntimeKind};

const APP_COLS: &str = "id, COALESCE(team_id, 0) AS team_id, slug, name, repo_url, branch, root_dir, build_command, start_command, \
                        health_check_path, runtime, cpu_millicores, memory_limit_mb, replicas, \
                        drain_timeout_secs, stop_timeout_secs, sticky_sessions, dockerfile_path, \
                        auto_deploy, watch_root_dir, previews, preview_of, pr_number, stopped_at, created_at, updated_at";

fn app(row: &AnyRow) -> Result<App> {
    Ok(App {
        id: get(row, "id")?,
        team_id: get(row, "team_id")?,
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        repo_url: get(row, "repo_url")?,
        branch: get(row, "branch")?,
        root_dir: get(row, "root_dir")?,
        build_command: get(row, "build_command")?,
        start_command: get(row, "start_command")?,
        health_check_path: get(row, "health_check_path")?,
        runtime: RuntimeKind::parse(&get::<String>(row, "runtime")?).map_err(|e| Error::internal("stored app runtime", e))?,
        cpu_limit: get::<Option<i64>>(row, "cpu_millicores")?
            .map(CpuLimit::from_millicores)
            .transpose()
            .map_err(|e| Error::internal("stored app cpu limit", e))?,
        memory_limit_mb: get::<Option<i64>>(row, "memory_limit_mb")?.map(|v| small(v, "memory_limit_mb")).transpose()?,
        replicas: small(get(row, "replicas")?, "replicas")?,
        drain_timeout_secs: small(get(row, "drain_timeout_secs")?, "drain_timeout_secs")?,
        stop_timeout_secs: small(get(row, "stop_timeout_secs")?, "stop_timeout_secs")?,
        sticky_sessions: get::<i64>(row, "sticky_sessions")? != 0,
        dockerfile_path: get(row, "dockerfile_path")?,
        auto_deploy: get::<i64>(row, "auto_deploy")? != 0,
        watch_root_dir: get::<i64>(row, "watch_root_dir")? != 0,
        previews: get::<i64>(row, "previews")? != 0,
        preview_of: get(row, "preview_of")?,
        pr_number: get(row, "pr_number")?,
        stopped_at: get(row, "stopped_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// A stored count or size (the columns are i64 on both backends).
fn small(v: i64, col: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::internal("decode row", format!("{col} out of range: {v}")))
}

/// Binds `$2` to `$20` of the insert and the update: every stored field of `a` after the slug or id
/// (`now` is `$9`, the update time; the insert's `created_at` reuses it).
fn bind_fields<'q>(query: Query<'q, Any, AnyArguments<'q>>, a: &'q App, now: i64) -> Query<'q, Any, AnyArguments<'q>> {
    query
        .bind(&a.name)
        .bind(&a.repo_url)
        .bind(&a.branch)
        .bind(&a.root_dir)
        .bind(&a.build_command)
        .bind(&a.start_command)
        .bind(&a.health_check_path)
        .bind(now)
        .bind(a.runtime.as_str())
        .bind(a.cpu_limit.map(|c| i64::from(c.millicores())))
        .bind(a.memory_limit_mb.map(i64::from))
        .bind(i64::from(a.replicas))
        .bind(i64::from(a.drain_timeout_secs))
        .bind(i64::from(a.stop_timeout_secs))
        .bind(i64::from(a.sticky_sessions))
        .bind(&a.dockerfile_path)
        .bind(i64::from(a.auto_deploy))
        .bind(i64::from(a.watch_root_dir))
        .bind(i64::from(a.previews))
}

/// An encrypted env var as stored.
#[derive(Debug, Clone)]
pub struct SealedVar {
    pub key: String,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl Store {
    pub async fn insert_app(&self, a: &App) -> Result<App> {
        let now = now_ms();
        let sql = format!(
            "INSERT INTO apps (slug, name, repo_url, branch, root_dir, build_command, start_command,
             health_check_path, created_at, updated_at, runtime, cpu_millicores, memory_limit_mb, replicas,
             drain_timeout_secs, stop_timeout_secs, sticky_sessions, dockerfile_path, auto_deploy, watch_root_dir, previews, team_id,
             preview_of, pr_number)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
             RETURNING {APP_COLS}"
        );
        let query = sqlx::query(&sql).bind(&a.slug);
        let row = bind_fields(query, a, now)
            .bind((a.team_id > 0).then_some(a.team_id)).bind(a.preview_of).bind(a.pr_number).fetch_one(self.pool()).await.map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict(format!("an app with slug {:?} already exists", a.slug)),
            other => other,
        })?;
        app(&row)
    }

    pub async fn update_app(&self, a: &App) -> Result<App> {
        let sql = format!(
            "UPDATE apps SET name = $2, repo_url = $3, branch = $4, root_dir = $5, build_command = $6,
             start_command = $7, health_check_path = $8, updated_at = $9, runtime = $10, cpu_millicores = $11,
             memory_limit_mb = $12, replicas = $13, drain_timeout_secs = $14, stop_timeout_secs = $15,
             sticky_sessions = $16, dockerfile_path = $17, auto_deploy = $18, watch_root_dir = $19, previews = $20 WHERE id = $1 RETURNING {APP_COLS}"
        );
        let query = sqlx::query(&sql).bind(a.id);
        let row = bind_fields(query, a, now_ms()).fetch_optional(self.pool()).await?;
        row.as_ref().map(app).transpose()?.ok_or(Error::NotFound("app"))
    }

    pub async fn list_apps(&self) -> Result<Vec<App>> {
        let rows = sqlx::query(&format!("SELECT {APP_COLS} FROM apps ORDER BY slug"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(app).collect()
    }

    /// The apps of the teams `user_id` belongs to (only team `team_id`'s, if given), by slug.
    pub async fn apps_of_user(&self, user_id: i64, team_id: Option<i64>) -> Result<Vec<App>> {
        let rows = sqlx::query(&format!(
            "SELECT {APP_COLS} FROM apps WHERE team_id IN (SELECT team_id FROM team_members WHERE user_id = $1)
             AND ($2 < 0 OR team_id = $2) ORDER BY slug"
        ))
        .bind(user_id)
        .bind(team_id.unwrap_or(-1))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(app).collect()
    }

    /// The app, `user_id`'s role in its team (`None`: not a member) and whether the team requires
    /// two-factor sign-in, in one query.
    pub async fn app_with_role(&self, slug: &str, user_id: i64) -> Result<Option<(App, Option<crate::policy::Role>, bool)>> {
        let row = sqlx::query(&format!(
            "SELECT {APP_COLS}, (SELECT m.role FROM team_members m WHERE m.team_id = apps.team_id AND m.user_id = $2) AS member_role,
             COALESCE((SELECT t.require_2fa FROM teams t WHERE t.id = apps.team_id), 0) AS team_2fa
             FROM apps WHERE slug = $1"
        ))
        .bind(slug)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((app(&r)?, super::teams::role(&r, "member_role")?, get::<i64>(&r, "team_2fa")? != 0))).transpose()
    }

    pub async fn app_by_slug(&self, slug: &str) -> Result<App> {
        let row = sqlx::query(&format!("SELECT {APP_COLS} FROM apps WHERE slug = $1"))
            .bind(slug)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(app).transpose()?.ok_or(Error::NotFound("app"))
    }

    pub async fn app_by_id(&self, id: i64) -> Result<App> {
        let row = sqlx::query(&format!("SELECT {APP_COLS} FROM apps WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(app).transpose()?.ok_or(Error::NotFound("app"))
    }

    /// Marks the app stopped (`true`) or in service; false if it already was (one winner).
    pub async fn set_app_stopped(&self, id: i64, stopped: bool) -> Result<bool> {
        let query = if stopped {
            sqlx::query("UPDATE apps SET stopped_at = $2 WHERE id = $1 AND stopped_at IS NULL").bind(id).bind(now_ms())
        } else {
            sqlx::query("UPDATE apps SET stopped_at = NULL WHERE id = $1 AND stopped_at IS NOT NULL").bind(id)
        };
        let done = query.execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_app(&self, id: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for table in ["env_vars", "deployment_events", "deployments"] {
            let sql = match table {
                "deployment_events" => {
                    "DELETE FROM deployment_events WHERE deployment_id IN (SELECT id FROM deployments WHERE app_id = $1)"
                        .to_string()
                }
                t => format!("DELETE FROM {t} WHERE app_id = $1"),
            };
            sqlx::query(&sql).bind(id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM apps WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn env_vars(&self, app_id: i64) -> Result<Vec<SealedVar>> {
        let rows = sqlx::query("SELECT key, nonce, ciphertext FROM env_vars WHERE app_id = $1 ORDER BY key")
            .bind(app_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok(SealedVar { key: get(r, "key")?, nonce: get(r, "nonce")?, ciphertext: get(r, "ciphertext")? }))
            .collect()
    }

    /// Applies a change set in one transaction: `None` deletes a key. `replace` first deletes all keys.
    pub async fn write_env_vars(&self, app_id: i64, replace: bool, changes: &[(String, Option<SealedVar>)]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        if replace {
            sqlx::query("DELETE FROM env_vars WHERE app_id = $1").bind(app_id).execute(&mut *tx).await?;
        }
        let now = now_ms();
        for (key, value) in changes {
            sqlx::query("DELETE FROM env_vars WHERE app_id = $1 AND key = $2")
                .bind(app_id)
                .bind(key)
                .execute(&mut *tx)
                .await?;
            if let Some(v) = value {
                sqlx::query(
                    "INSERT INTO env_vars (app_id, key, nonce, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(app_id)
                .bind(key)
                .bind(&v.nonce)
                .bind(&v.ciphertext)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
