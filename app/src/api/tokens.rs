//! The logged-in user's API tokens.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{IssuedToken, ApiToken};

#[server]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.list_api_tokens(&actor).await?)
}

/// Creates a token; the secret is in the answer and nowhere else.
#[server]
pub async fn create_token(name: String) -> Result<IssuedToken, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let issued = services.issue_api_token(&actor, name.trim(), None, domain::policy::Scope::Write).await?;
    Ok(IssuedToken { secret: issued.secret, token: issued.record })
}

#[server]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    services.revoke_api_token(&actor, id).await?;
    Ok(())
}
