//! GitHub App installations, their repositories, the team each is connected to, and the one-use
//! states of the OAuth browser flows.

use sqlx::any::AnyRow;

use super::{get, now_ms, Store};
use crate::error::Result;
use crate::github::installations::{Installation, RepoRef, TeamRepo};

fn installation(r: &AnyRow) -> Result<Installation> {
    Ok(Installation {
        id: get(r, "id")?,
        account_login: get(r, "account_login")?,
        account_type: get(r, "account_type")?,
        team_id: get(r, "team_id")?,
        suspended: get::<i64>(r, "suspended")? != 0,
    })
}

/// A browser flow's state, taken back once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthState {
    pub purpose: String,
    pub user_id: Option<i64>,
    pub team_id: Option<i64>,
    pub verifier: Option<String>,
    /// Where the browser goes afterwards (a dashboard path).
    pub next: Option<String>,
    /// The nonce an OpenID Connect ID token must carry.
    pub nonce: Option<String>,
    pub created_at: i64,
}

impl Store {
    /// Records what GitHub says an installation is (its team stays as it was).
    pub async fn upsert_installation(&self, id: i64, login: &str, account_id: i64, kind: &str, suspended: bool) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO github_installations (id, account_login, account_id, account_type, suspended, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (id) DO UPDATE SET account_login = excluded.account_login, account_id = excluded.account_id,
             account_type = excluded.account_type, suspended = excluded.suspended, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(login)
        .bind(account_id)
        .bind(kind)
        .bind(i64::from(suspended))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn delete_installation(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM github_installations WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn installation(&self, id: i64) -> Result<Option<Installation>> {
        let row = sqlx::query("SELECT id, account_login, account_type, team_id, suspended FROM github_installations WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(installation).transpose()
    }

    pub async fn installations_of_team(&self, team_id: i64) -> Result<Vec<Installation>> {
        let rows = sqlx::query("SELECT id, account_login, account_type, team_id, suspended FROM github_installations WHERE team_id = $1 ORDER BY account_login")
            .bind(team_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(installation).collect()
    }

    /// Connects installation `id` to `team_id`; false if another team has it.
    pub async fn connect_installation(&self, id: i64, team_id: i64) -> Result<bool> {
        let done = sqlx::query("UPDATE github_installations SET team_id = $2, updated_at = $3 WHERE id = $1 AND (team_id IS NULL OR team_id = $2)")
            .bind(id)
            .bind(team_id)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the repositories an installation covers.
    pub async fn set_installation_repos(&self, id: i64, repos: &[RepoRef]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM github_installation_repos WHERE installation_id = $1").bind(id).execute(&mut *tx).await?;
        for r in repos {
            insert_repo(&mut tx, id, r).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_installation_repos(&self, id: i64, repos: &[RepoRef]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for r in repos {
            insert_repo(&mut tx, id, r).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_installation_repos(&self, id: i64, repo_ids: &[i64]) -> Result<()> {
        for repo in repo_ids {
            sqlx::query("DELETE FROM github_installation_repos WHERE installation_id = $1 AND repo_id = $2").bind(id).bind(repo).execute(self.pool()).await?;
        }
        Ok(())
    }

    pub async fn installation_repos(&self, id: i64) -> Result<Vec<RepoRef>> {
        let rows = sqlx::query("SELECT repo_id, full_name, private FROM github_installation_repos WHERE installation_id = $1 ORDER BY full_name")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(RepoRef { id: get(r, "repo_id")?, full_name: get(r, "full_name")?, private: get::<i64>(r, "private")? != 0 })).collect()
    }

    /// The repositories of the installations connected to `team_id` (suspended ones excluded).
    pub async fn team_repos(&self, team_id: i64) -> Result<Vec<TeamRepo>> {
        let rows = sqlx::query(
            "SELECT r.installation_id, r.repo_id, r.full_name, r.private FROM github_installation_repos r
             JOIN github_installations i ON i.id = r.installation_id
             WHERE i.team_id = $1 AND i.suspended = 0 ORDER BY r.full_name",
        )
        .bind(team_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TeamRepo {
                    installation_id: get(r, "installation_id")?,
                    repo_id: get(r, "repo_id")?,
                    full_name: get(r, "full_name")?,
                    private: get::<i64>(r, "private")? != 0,
                })
            })
            .collect()
    }

    /// Stores a browser flow's state (random, single use).
    pub async fn put_oauth_state(&self, state: &str, s: &OAuthState) -> Result<()> {
        sqlx::query("INSERT INTO oauth_states (state, purpose, user_id, team_id, verifier, next, nonce, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(state)
            .bind(&s.purpose)
            .bind(s.user_id)
            .bind(s.team_id)
            .bind(s.verifier.as_deref())
            .bind(s.next.as_deref())
            .bind(s.nonce.as_deref())
            .bind(s.created_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes a state back (once; a second take finds nothing). States older than `max_age_ms` are
    /// dropped unread.
    pub async fn take_oauth_state(&self, state: &str, max_age_ms: i64) -> Result<Option<OAuthState>> {
        let now = now_ms();
        sqlx::query("DELETE FROM oauth_states WHERE created_at < $1").bind(now - max_age_ms).execute(self.pool()).await?;
        let row = sqlx::query("DELETE FROM oauth_states WHERE state = $1 RETURNING purpose, user_id, team_id, verifier, next, nonce, created_at")
            .bind(state)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(OAuthState { purpose: get(&r, "purpose")?, user_id: get(&r, "user_id")?, team_id: get(&r, "team_id")?, verifier: get(&r, "verifier")?, next: get(&r, "next")?, nonce: get(&r, "nonce")?, created_at: get(&r, "created_at")? })
        })
        .transpose()
    }
}

/// A Rhone user's account at another identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    pub user_id: i64,
    pub login: String,
}

impl Store {
    pub async fn identity(&self, provider: &str, subject: &str) -> Result<Option<Identity>> {
        let row = sqlx::query("SELECT provider, subject, user_id, login FROM user_identities WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(Identity { provider: get(&r, "provider")?, subject: get(&r, "subject")?, user_id: get(&r, "user_id")?, login: get(&r, "login")? })).transpose()
    }

    pub async fn identity_of_user(&self, user_id: i64, provider: &str) -> Result<Option<Identity>> {
        let row = sqlx::query("SELECT provider, subject, user_id, login FROM user_identities WHERE user_id = $1 AND provider = $2")
            .bind(user_id)
            .bind(provider)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(Identity { provider: get(&r, "provider")?, subject: get(&r, "subject")?, user_id: get(&r, "user_id")?, login: get(&r, "login")? })).transpose()
    }

    /// Links an identity to a user; false if that identity (or a second one of the same provider
    /// for this user) is linked already.
    pub async fn link_identity(&self, i: &Identity) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO user_identities (provider, subject, user_id, login, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&i.provider)
        .bind(&i.subject)
        .bind(i.user_id)
        .bind(&i.login)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps the login shown for an identity current (GitHub logins can be renamed).
    pub async fn rename_identity(&self, provider: &str, subject: &str, login: &str) -> Result<()> {
        sqlx::query("UPDATE user_identities SET login = $3 WHERE provider = $1 AND subject = $2").bind(provider).bind(subject).bind(login).execute(self.pool()).await?;
        Ok(())
    }
}

impl Store {
    /// Sets an app's GitLab/Gitea webhook secret (sealed), replacing the old one.
    pub async fn put_webhook_secret(&self, app_id: i64, nonce: &[u8], ciphertext: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO app_webhook_secrets (app_id, nonce, ciphertext, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (app_id) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, created_at = excluded.created_at",
        )
        .bind(app_id)
        .bind(nonce)
        .bind(ciphertext)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// An app's sealed webhook secret: (nonce, ciphertext, made at).
    pub async fn webhook_secret(&self, app_id: i64) -> Result<Option<(Vec<u8>, Vec<u8>, i64)>> {
        let row = sqlx::query("SELECT nonce, ciphertext, created_at FROM app_webhook_secrets WHERE app_id = $1").bind(app_id).fetch_optional(self.pool()).await?;
        row.map(|r| Ok((get(&r, "nonce")?, get(&r, "ciphertext")?, get(&r, "created_at")?))).transpose()
    }
}

async fn insert_repo(conn: &mut sqlx::AnyConnection, id: i64, r: &RepoRef) -> Result<()> {
    sqlx::query(
        "INSERT INTO github_installation_repos (installation_id, repo_id, full_name, private) VALUES ($1, $2, $3, $4)
         ON CONFLICT (installation_id, repo_id) DO UPDATE SET full_name = excluded.full_name, private = excluded.private",
    )
    .bind(id)
    .bind(r.id)
    .bind(&r.full_name)
    .bind(i64::from(r.private))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
