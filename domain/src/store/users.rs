//! Users, browser sessions and API tokens. Secrets (session ids, tokens) are stored as SHA-256 hashes.

use sqlx::any::AnyRow;

use super::{get, now_ms, Store};
use crate::error::{Error, Result};
use crate::model::{ApiToken, User};

fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        email: get(row, "email")?,
        role: get(row, "role")?,
        created_at: get(row, "created_at")?,
    })
}

impl Store {
    pub async fn count_users(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.pool()).await?;
        get(&row, "n")
    }

    pub async fn insert_user(&self, email: &str, password_hash: &str, role: &str) -> Result<User> {
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id, email, role, created_at",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict("a user with this email already exists".into()),
            other => other,
        })?;
        user(&row)
    }

    /// The user and their password hash.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query("SELECT id, email, role, created_at, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((user(&r)?, get(&r, "password_hash")?))).transpose()
    }

    pub async fn insert_session(&self, token_hash: &str, user_id: i64, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now_ms())
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn user_by_session(&self, token_hash: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.role, u.created_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn insert_api_token(&self, user_id: i64, name: &str, token_hash: &str, prefix: &str) -> Result<ApiToken> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING id, name, prefix, created_at, last_used_at",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(prefix)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?;
        api_token(&row)
    }

    pub async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id: i64 = get(&row, "user_id")?;
        let row = sqlx::query("SELECT id, email, role, created_at FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn list_api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, created_at, last_used_at FROM api_tokens WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(api_token).collect()
    }

    /// Revokes a token of this user; false if there was none with that id.
    pub async fn delete_api_token(&self, user_id: i64, id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn api_token(row: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: get(row, "id")?,
        name: get(row, "name")?,
        prefix: get(row, "prefix")?,
        created_at: get(row, "created_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}
