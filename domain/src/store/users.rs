//! Users, browser sessions and API tokens. Secrets (session ids, tokens) are stored as SHA-256 hashes.

use sqlx::any::AnyRow;

use super::teams::insert_personal_team;
use super::{get, now_ms, Backend, Store};
use crate::access::TokenUse;
use crate::error::{Error, Result};
use crate::model::{ApiToken, User};
use crate::policy::{Scope, TokenLimits};

fn user(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: get(row, "id")?,
        email: get(row, "email")?,
        role: get(row, "role")?,
        created_at: get(row, "created_at")?,
        disabled: get::<Option<i64>>(row, "disabled_at")?.is_some(),
        two_factor: get::<Option<i64>>(row, "totp_enabled_at")?.is_some(),
    })
}

impl Store {
    pub async fn count_users(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.pool()).await?;
        get(&row, "n")
    }

    /// Creates a user and their personal team.
    pub async fn insert_user(&self, email: &str, password_hash: &str, role: &str) -> Result<User> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id, email, role, created_at, disabled_at, totp_enabled_at",
        )
        .bind(email)
        .bind(password_hash)
        .bind(role)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Conflict("a user with this email already exists".into()),
            other => other,
        })?;
        let u = user(&row)?;
        insert_personal_team(&mut tx, u.id, &u.email).await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Inserts the owner if, and only if, there is no user yet: `None` when someone else was first.
    /// SQLite runs the statement under its write lock; PostgreSQL takes a table lock first. The owner
    /// gets a personal team, which adopts apps made before any user existed.
    pub async fn insert_first_owner(&self, email: &str, password_hash: &str) -> Result<Option<User>> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        }
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash, role, created_at)
             SELECT $1, $2, 'owner', $3 WHERE NOT EXISTS (SELECT 1 FROM users)
             RETURNING id, email, role, created_at, disabled_at, totp_enabled_at",
        )
        .bind(email)
        .bind(password_hash)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let owner = user(&row)?;
        let team_id = insert_personal_team(&mut tx, owner.id, &owner.email).await?;
        sqlx::query("UPDATE apps SET team_id = $1 WHERE team_id IS NULL").bind(team_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(owner))
    }

    /// Sets a new password hash and ends every session of the user except `keep` (a session hash);
    /// returns how many sessions ended.
    pub async fn set_password(&self, user_id: i64, password_hash: &str, keep: Option<&str>) -> Result<u64> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(ended)
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, email, role, created_at, disabled_at, totp_enabled_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose()
    }

    /// The user and their password hash.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query("SELECT id, email, role, created_at, disabled_at, totp_enabled_at, password_hash FROM users WHERE email = $1")
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
            "SELECT u.id, u.email, u.role, u.created_at, u.disabled_at, u.totp_enabled_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
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

    pub async fn insert_api_token(&self, user_id: i64, name: &str, token_hash: &str, prefix: &str, limits: TokenLimits) -> Result<ApiToken> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, team_id, scope) VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
        .bind(prefix)
        .bind(now_ms())
        .bind(limits.team_id)
        .bind(limits.scope.as_str())
        .fetch_one(self.pool())
        .await?;
        let id: i64 = get(&row, "id")?;
        self.list_api_tokens(user_id).await?.into_iter().find(|t| t.id == id).ok_or(Error::NotFound("token"))
    }

    /// The user behind a token (not disabled), and the token's limits; marks the token used.
    pub async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<(User, TokenUse)>> {
        let row = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 RETURNING id, user_id, prefix, team_id, scope",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user_id: i64 = get(&row, "user_id")?;
        let token = TokenUse {
            id: get(&row, "id")?,
            prefix: get(&row, "prefix")?,
            limits: TokenLimits { team_id: get(&row, "team_id")?, scope: parse_scope(&get::<String>(&row, "scope")?) },
        };
        let row = sqlx::query("SELECT id, email, role, created_at, disabled_at, totp_enabled_at FROM users WHERE id = $1 AND disabled_at IS NULL")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user).transpose().map(|u| u.map(|u| (u, token)))
    }

    pub async fn list_api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT k.id, k.name, k.prefix, k.created_at, k.last_used_at, k.scope, t.slug AS team
             FROM api_tokens k LEFT JOIN teams t ON t.id = k.team_id WHERE k.user_id = $1 ORDER BY k.id DESC",
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
        team: get(row, "team")?,
        scope: parse_scope(&get::<String>(row, "scope")?),
    })
}

/// A stored scope; anything unknown reads as the narrower `read`.
fn parse_scope(s: &str) -> Scope {
    if s == "write" {
        Scope::Write
    } else {
        Scope::Read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        (s, dir)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_first_owners_make_exactly_one() {
        let (s, _d) = store().await;
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move { s.insert_first_owner(&format!("o{i}@example.com"), "h").await })
            })
            .collect();
        let mut won = 0;
        for r in racers {
            if r.await.unwrap().unwrap().is_some() {
                won += 1;
            }
        }
        assert_eq!(won, 1);
        assert_eq!(s.count_users().await.unwrap(), 1);
        assert!(s.insert_first_owner("late@example.com", "h").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_new_password_ends_every_other_session() {
        let (s, _d) = store().await;
        let u = s.insert_first_owner("o@example.com", "old").await.unwrap().unwrap();
        let far = now_ms() + 60_000;
        for t in ["keep", "other-1", "other-2"] {
            s.insert_session(t, u.id, far).await.unwrap();
        }
        assert_eq!(s.set_password(u.id, "new", Some("keep")).await.unwrap(), 2);
        assert!(s.user_by_session("keep").await.unwrap().is_some());
        assert!(s.user_by_session("other-1").await.unwrap().is_none());
        assert_eq!(s.user_by_email("o@example.com").await.unwrap().unwrap().1, "new");
        assert_eq!(s.set_password(u.id, "newer", None).await.unwrap(), 1, "without a session to keep, all end");
    }
}
