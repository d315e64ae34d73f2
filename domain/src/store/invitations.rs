//! Invitations to a team: single-use, expiring; only the token's SHA-256 is stored.

use sqlx::any::AnyRow;

use super::teams::{insert_member, role};
use super::{get, now_ms, Store};
use crate::error::{Error, Result};
use crate::policy::Role;
use crate::teams::{Invitation, InvitationState};

const COLS: &str = "i.id, i.team_id, i.email, i.role, i.created_at, i.expires_at, i.accepted_at, i.revoked_at, u.email AS invited_by";

fn invitation(row: &AnyRow, now: i64) -> Result<Invitation> {
    let accepted: Option<i64> = get(row, "accepted_at")?;
    let revoked: Option<i64> = get(row, "revoked_at")?;
    let expires_at: i64 = get(row, "expires_at")?;
    let state = if accepted.is_some() {
        InvitationState::Accepted
    } else if revoked.is_some() {
        InvitationState::Revoked
    } else if expires_at <= now {
        InvitationState::Expired
    } else {
        InvitationState::Pending
    };
    Ok(Invitation {
        id: get(row, "id")?,
        team_id: get(row, "team_id")?,
        email: get(row, "email")?,
        role: role(row, "role")?.ok_or_else(|| Error::internal("invitation role", "null"))?,
        invited_by: get(row, "invited_by")?,
        created_at: get(row, "created_at")?,
        expires_at,
        state,
    })
}

impl Store {
    pub async fn insert_invitation(&self, team_id: i64, email: &str, role: Role, token_hash: &str, invited_by: i64, expires_at: i64) -> Result<Invitation> {
        let row = sqlx::query(
            "INSERT INTO invitations (team_id, email, role, token_hash, invited_by, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(team_id)
        .bind(email)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(invited_by)
        .bind(now_ms())
        .bind(expires_at)
        .fetch_one(self.pool())
        .await?;
        self.invitation(team_id, get(&row, "id")?).await
    }

    pub async fn invitation(&self, team_id: i64, id: i64) -> Result<Invitation> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM invitations i LEFT JOIN users u ON u.id = i.invited_by WHERE i.team_id = $1 AND i.id = $2"
        ))
        .bind(team_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|r| invitation(r, now_ms())).transpose()?.ok_or(Error::NotFound("invitation"))
    }

    /// The team's invitations, newest first.
    pub async fn invitations(&self, team_id: i64) -> Result<Vec<Invitation>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM invitations i LEFT JOIN users u ON u.id = i.invited_by WHERE i.team_id = $1 ORDER BY i.id DESC LIMIT 200"
        ))
        .bind(team_id)
        .fetch_all(self.pool())
        .await?;
        let now = now_ms();
        rows.iter().map(|r| invitation(r, now)).collect()
    }

    pub async fn invitation_by_token(&self, token_hash: &str) -> Result<Option<Invitation>> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM invitations i LEFT JOIN users u ON u.id = i.invited_by WHERE i.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|r| invitation(r, now_ms())).transpose()
    }

    /// Revokes a pending invitation; false if it was not pending.
    pub async fn revoke_invitation(&self, team_id: i64, id: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE invitations SET revoked_at = $3 WHERE team_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
        )
        .bind(team_id)
        .bind(id)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Uses the invitation for `user_id`, once: marks it accepted and makes the user a member (or
    /// keeps their higher role if they already are one), in one transaction. `None` if the
    /// invitation is no longer pending (used, revoked, expired) — whoever came first won.
    pub async fn accept_invitation(&self, token_hash: &str, user_id: i64) -> Result<Option<Invitation>> {
        let mut tx = self.pool().begin().await?;
        let now = now_ms();
        let claimed = sqlx::query(
            "UPDATE invitations SET accepted_at = $2, accepted_by = $3
             WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
             RETURNING id, team_id, role",
        )
        .bind(token_hash)
        .bind(now)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(claimed) = claimed else { return Ok(None) };
        let team_id: i64 = get(&claimed, "team_id")?;
        let new_role = role(&claimed, "role")?.ok_or_else(|| Error::internal("invitation role", "null"))?;
        let existing = sqlx::query("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        match existing.map(|r| role(&r, "role")).transpose()?.flatten() {
            None => insert_member(&mut tx, team_id, user_id, new_role).await?,
            Some(old) if old < new_role => {
                sqlx::query("UPDATE team_members SET role = $3 WHERE team_id = $1 AND user_id = $2")
                    .bind(team_id)
                    .bind(user_id)
                    .bind(new_role.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            Some(_) => {}
        }
        tx.commit().await?;
        self.invitation(team_id, get(&claimed, "id")?).await.map(Some)
    }
}
