//! Teams, memberships and the personal team every user gets.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::{get, now_ms, Store};
use crate::error::{Error, Result};
use crate::policy::Role;
use crate::teams::{Member, MyTeam, Team};
use crate::types::Slug;

pub(crate) const TEAM_COLS: &str = "t.id, t.slug, t.name, t.personal_of, t.require_2fa, t.created_at";

pub(crate) fn team(row: &AnyRow) -> Result<Team> {
    Ok(Team {
        id: get(row, "id")?,
        slug: get(row, "slug")?,
        name: get(row, "name")?,
        personal: get::<Option<i64>>(row, "personal_of")?.is_some(),
        require_2fa: get::<i64>(row, "require_2fa")? != 0,
        created_at: get(row, "created_at")?,
    })
}

pub(crate) fn role(row: &AnyRow, col: &str) -> Result<Option<Role>> {
    match get::<Option<String>>(row, col)? {
        None => Ok(None),
        Some(r) => Role::parse(&r).map(Some).ok_or_else(|| Error::internal("stored role", format!("unknown role {r:?}"))),
    }
}

/// The slug of a user's personal team: the email's local part and the user id (`ada-3`).
pub(crate) fn personal_slug(email: &str, user_id: i64) -> String {
    let local = email.split('@').next().unwrap_or_default();
    match Slug::from_name(local) {
        Ok(s) if s.as_str().len() <= 40 => format!("{s}-{user_id}"),
        _ => format!("user-{user_id}"),
    }
}

/// Creates `user_id`'s personal team, owned by them, on `conn` (inside the transaction that creates
/// the user).
pub(crate) async fn insert_personal_team(conn: &mut AnyConnection, user_id: i64, email: &str) -> Result<i64> {
    let now = now_ms();
    let mut slug = personal_slug(email, user_id);
    // a team someone named like this user's personal team: take a numbered variant
    for n in 2.. {
        let taken = sqlx::query("SELECT 1 AS x FROM teams WHERE slug = $1").bind(&slug).fetch_optional(&mut *conn).await?;
        if taken.is_none() || n > 50 {
            break;
        }
        slug = format!("{}-{n}", personal_slug(email, user_id));
    }
    let row = sqlx::query("INSERT INTO teams (slug, name, personal_of, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(&slug)
        .bind(email)
        .bind(user_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    let team_id: i64 = get(&row, "id")?;
    insert_member(conn, team_id, user_id, Role::Owner).await?;
    Ok(team_id)
}

pub(crate) async fn insert_member(conn: &mut AnyConnection, team_id: i64, user_id: i64, role: Role) -> Result<()> {
    sqlx::query("INSERT INTO team_members (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
        .bind(team_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Takes the team's row for this transaction before reading anything: two owners demoting each other
/// at once cannot both succeed, and on SQLite the transaction holds the write lock from its first
/// statement (a read-then-write transaction would fail with "database is locked" when another
/// connection wrote in between, whatever the busy timeout).
async fn lock_team(conn: &mut AnyConnection, team_id: i64) -> Result<()> {
    sqlx::query("UPDATE teams SET slug = slug WHERE id = $1").bind(team_id).execute(&mut *conn).await?;
    Ok(())
}

impl Store {
    /// Creates a team owned by `owner`.
    pub async fn insert_team(&self, slug: &str, name: &str, owner: i64) -> Result<Team> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query("INSERT INTO teams (slug, name, created_at) VALUES ($1, $2, $3) RETURNING id, slug, name, personal_of, require_2fa, created_at")
            .bind(slug)
            .bind(name)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match Error::from(e) {
                Error::Conflict(_) => Error::Conflict(format!("a team with slug {slug:?} already exists")),
                other => other,
            })?;
        let t = team(&row)?;
        insert_member(&mut tx, t.id, owner, Role::Owner).await?;
        tx.commit().await?;
        Ok(t)
    }

    /// The teams `user_id` is a member of, with their role, personal team first.
    pub async fn teams_of(&self, user_id: i64) -> Result<Vec<MyTeam>> {
        let rows = sqlx::query(&format!(
            "SELECT {TEAM_COLS}, m.role FROM teams t JOIN team_members m ON m.team_id = t.id
             WHERE m.user_id = $1 ORDER BY (t.personal_of IS NULL), t.slug"
        ))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(MyTeam { team: team(r)?, role: role(r, "role")?.ok_or_else(|| Error::internal("team role", "null"))?, billing_warning: None })).collect()
    }

    /// A team by slug and `user_id`'s role in it (`None`: not a member).
    pub async fn team_with_role(&self, slug: &str, user_id: i64) -> Result<Option<(Team, Option<Role>)>> {
        let row = sqlx::query(&format!(
            "SELECT {TEAM_COLS}, m.role FROM teams t LEFT JOIN team_members m ON m.team_id = t.id AND m.user_id = $2
             WHERE t.slug = $1"
        ))
        .bind(slug)
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((team(&r)?, role(&r, "role")?))).transpose()
    }

    /// `user_id`'s role in team `team_id`.
    pub async fn role_in(&self, team_id: i64, user_id: i64) -> Result<Option<Role>> {
        let row = sqlx::query("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => role(&r, "role"),
            None => Ok(None),
        }
    }

    /// The user's personal team.
    pub async fn personal_team(&self, user_id: i64) -> Result<Team> {
        let row = sqlx::query(&format!("SELECT {TEAM_COLS} FROM teams t WHERE t.personal_of = $1"))
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(team).transpose()?.ok_or(Error::NotFound("team"))
    }

    pub async fn team_by_id(&self, id: i64) -> Result<Team> {
        let row = sqlx::query(&format!("SELECT {TEAM_COLS} FROM teams t WHERE t.id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(team).transpose()?.ok_or(Error::NotFound("team"))
    }

    pub async fn update_team(&self, id: i64, slug: &str, name: &str) -> Result<Team> {
        let row = sqlx::query("UPDATE teams SET slug = $2, name = $3 WHERE id = $1 RETURNING id, slug, name, personal_of, require_2fa, created_at")
            .bind(id)
            .bind(slug)
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| match Error::from(e) {
                Error::Conflict(_) => Error::Conflict(format!("a team with slug {slug:?} already exists")),
                other => other,
            })?;
        row.as_ref().map(team).transpose()?.ok_or(Error::NotFound("team"))
    }

    /// Deletes a team that owns no apps (its memberships, invitations, audit log and tokens go with it).
    pub async fn delete_team(&self, id: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        lock_team(&mut tx, id).await?;
        let apps: i64 = get(&sqlx::query("SELECT COUNT(*) AS n FROM apps WHERE team_id = $1").bind(id).fetch_one(&mut *tx).await?, "n")?;
        if apps > 0 {
            return Err(Error::Conflict(format!("the team still has {apps} app(s): delete them first")));
        }
        sqlx::query("DELETE FROM teams WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn members(&self, team_id: i64) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, m.role, m.created_at FROM team_members m JOIN users u ON u.id = m.user_id
             WHERE m.team_id = $1 ORDER BY m.created_at, u.id",
        )
        .bind(team_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    user_id: get(r, "id")?,
                    email: get(r, "email")?,
                    role: role(r, "role")?.ok_or_else(|| Error::internal("member role", "null"))?,
                    joined_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    /// Changes a member's role (`None`: removes them, with their tokens limited to this team), in one
    /// transaction that re-checks the team keeps an owner. False if they were not a member.
    pub async fn set_member_role(&self, team_id: i64, user_id: i64, new_role: Option<Role>) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        lock_team(&mut tx, team_id).await?;
        let current = sqlx::query("SELECT role FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(current) = current else { return Ok(false) };
        let current = role(&current, "role")?;
        let owners: i64 = get(
            &sqlx::query("SELECT COUNT(*) AS n FROM team_members WHERE team_id = $1 AND role = 'owner'").bind(team_id).fetch_one(&mut *tx).await?,
            "n",
        )?;
        crate::policy::check_owner_change(owners as usize, current == Some(Role::Owner), new_role).map_err(|m| Error::Conflict(m.into()))?;
        match new_role {
            Some(r) => {
                sqlx::query("UPDATE team_members SET role = $3 WHERE team_id = $1 AND user_id = $2")
                    .bind(team_id)
                    .bind(user_id)
                    .bind(r.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2").bind(team_id).bind(user_id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM api_tokens WHERE team_id = $1 AND user_id = $2").bind(team_id).bind(user_id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }
}
