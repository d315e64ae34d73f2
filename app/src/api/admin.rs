//! Accounts of the installation, for its administrator (the domain refuses everyone else).

use leptos::prelude::*;

use crate::error::AppError;

/// An account as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub instance_admin: bool,
    pub created_at: i64,
    pub disabled: bool,
    pub two_factor: bool,
    pub teams: i64,
    pub sessions: i64,
}

#[server]
pub async fn list_accounts() -> Result<Vec<Account>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let users = services.list_users(&actor).await?;
    Ok(users
        .into_iter()
        .map(|u| Account {
            id: u.id,
            email: u.email,
            instance_admin: u.instance_admin,
            created_at: u.created_at,
            disabled: u.disabled,
            two_factor: u.two_factor,
            teams: u.teams,
            sessions: u.sessions,
        })
        .collect())
}

#[server]
pub async fn set_account_disabled(id: i64, disabled: bool) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.set_user_disabled(&actor, id, disabled).await?)
}

#[server]
pub async fn reset_account_sessions(id: i64) -> Result<u64, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.reset_user_sessions(&actor, id).await?)
}
