//! What the instance admin sees and changes of accounts.

use super::{get, now_ms, Store};
use crate::admin::UserSummary;
use crate::error::Result;

impl Store {
    /// Every account, oldest first, with how many teams it is in.
    pub async fn list_users(&self) -> Result<Vec<UserSummary>> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.role, u.created_at, u.disabled_at, u.totp_enabled_at,
             (SELECT COUNT(*) FROM team_members m WHERE m.user_id = u.id) AS teams,
             (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > $1) AS sessions
             FROM users u ORDER BY u.id",
        )
        .bind(now_ms())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UserSummary {
                    id: get(r, "id")?,
                    email: get(r, "email")?,
                    instance_admin: get::<String>(r, "role")? == "owner",
                    created_at: get(r, "created_at")?,
                    disabled: get::<Option<i64>>(r, "disabled_at")?.is_some(),
                    two_factor: get::<Option<i64>>(r, "totp_enabled_at")?.is_some(),
                    teams: get(r, "teams")?,
                    sessions: get(r, "sessions")?,
                })
            })
            .collect()
    }

    /// Disables (and logs out everywhere) or re-enables an account; false if there is none.
    pub async fn set_user_disabled(&self, user_id: i64, disabled: bool) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(disabled.then(now_ms))
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every browser session of the user; how many.
    pub async fn delete_sessions_of(&self, user_id: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}
