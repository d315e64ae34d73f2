//! Accounts of the installation, for its administrator (the domain refuses everyone else).

use leptos::prelude::*;

use wire::UserSummary;

use crate::error::AppError;

#[server]
pub async fn list_accounts() -> Result<Vec<UserSummary>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.list_users(&actor).await?)
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
