//! Two-factor state of users: the sealed TOTP secret, the last accepted step (a code works once) and
//! the hashes of recovery codes (each used once).

use super::{get, now_ms, Store};
use crate::error::Result;

/// A user's stored TOTP secret (sealed) and whether a code has confirmed it.
pub struct StoredTotp {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub enabled: bool,
    pub last_step: Option<i64>,
}

impl Store {
    pub async fn totp(&self, user_id: i64) -> Result<Option<StoredTotp>> {
        let row = sqlx::query(
            "SELECT totp_nonce, totp_ciphertext, totp_enabled_at, totp_last_step FROM users WHERE id = $1 AND totp_nonce IS NOT NULL",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(StoredTotp {
                nonce: get(&r, "totp_nonce")?,
                ciphertext: get(&r, "totp_ciphertext")?,
                enabled: get::<Option<i64>>(&r, "totp_enabled_at")?.is_some(),
                last_step: get(&r, "totp_last_step")?,
            })
        })
        .transpose()
    }

    /// Keeps a new secret waiting for its first code (an enabled one is replaced only after
    /// `disable_totp`).
    pub async fn set_pending_totp(&self, user_id: i64, nonce: &[u8], ciphertext: &[u8]) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_nonce = $2, totp_ciphertext = $3, totp_enabled_at = NULL, totp_last_step = NULL
             WHERE id = $1 AND totp_enabled_at IS NULL",
        )
        .bind(user_id)
        .bind(nonce)
        .bind(ciphertext)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Turns the pending secret on (its first code used `step`) with fresh recovery codes, in one
    /// transaction.
    pub async fn enable_totp(&self, user_id: i64, step: i64, code_hashes: &[String]) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_enabled_at = $2, totp_last_step = $3 WHERE id = $1 AND totp_nonce IS NOT NULL AND totp_enabled_at IS NULL",
        )
        .bind(user_id)
        .bind(now_ms())
        .bind(step)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        replace_codes(&mut tx, user_id, code_hashes).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records that a code of `step` was used, if no code of that step or a later one was: true
    /// for the one caller that may proceed.
    pub async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_enabled_at IS NOT NULL
             AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Uses one recovery code: true once per code.
    pub async fn use_recovery_code(&self, user_id: i64, code_hash: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
            .bind(user_id)
            .bind(code_hash)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn recovery_codes_left(&self, user_id: i64) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(self.pool())
            .await?;
        get(&row, "n")
    }

    pub async fn replace_recovery_codes(&self, user_id: i64, code_hashes: &[String]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        replace_codes(&mut tx, user_id, code_hashes).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn disable_totp(&self, user_id: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE users SET totp_nonce = NULL, totp_ciphertext = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_team_requires_2fa(&self, team_id: i64, required: bool) -> Result<()> {
        sqlx::query("UPDATE teams SET require_2fa = $2 WHERE id = $1").bind(team_id).bind(i64::from(required)).execute(self.pool()).await?;
        Ok(())
    }
}

async fn replace_codes(conn: &mut sqlx::AnyConnection, user_id: i64, code_hashes: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    for h in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)").bind(user_id).bind(h).execute(&mut *conn).await?;
    }
    Ok(())
}
