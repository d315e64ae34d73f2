//! Environment variables of an app. Values are masked unless revealed.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;

/// The value shown instead of a secret; sending it back in a merge keeps the stored value.
pub const MASK: &str = "********";

#[server]
pub async fn get_env(slug: String, reveal: bool) -> Result<BTreeMap<String, String>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.env(&actor, &slug, reveal).await?)
}

/// Merges `vars` into the app's variables: `None` deletes a key, [`MASK`] keeps its stored value.
#[server(input = Json)]
pub async fn save_env(slug: String, vars: BTreeMap<String, Option<String>>) -> Result<BTreeMap<String, String>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.write_env(&actor, &slug, vars, false).await?)
}
