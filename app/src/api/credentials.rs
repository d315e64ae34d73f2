//! An app's git credential for a private repository. A token is write-only; a deploy key's private
//! half never leaves the server.

use std::fmt;

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the dashboard may show about the credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    /// `token`, `deploy_key`, or `None` (a public repository).
    pub kind: Option<String>,
    pub username: Option<String>,
    pub public_key: Option<String>,
}

/// A token typed into the form. Server-function arguments derive `Debug`; this one never shows it.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenInput(pub String);

impl fmt::Debug for TokenInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenInput([redacted])")
    }
}

#[cfg(feature = "ssr")]
fn view_of(c: domain::credentials::CredentialInfo) -> CredentialView {
    CredentialView { kind: c.kind.map(|k| k.as_str().to_string()), username: c.username, public_key: c.public_key }
}

#[server]
pub async fn get_credential(slug: String) -> Result<CredentialView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(view_of(services.credential(&actor, &slug).await?))
}

/// Sets an access token (an empty `username` means the default, `x-access-token`).
#[server(input = Json)]
pub async fn set_access_token(slug: String, token: TokenInput, username: String) -> Result<CredentialView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(view_of(services.set_access_token(&actor, &slug, &token.0, Some(&username)).await?))
}

/// Generates a new deploy key (the old one stops working for Rhone); returns its public key.
#[server]
pub async fn generate_deploy_key(slug: String) -> Result<CredentialView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(view_of(services.generate_deploy_key(&actor, &slug).await?))
}

#[server]
pub async fn remove_credential(slug: String) -> Result<CredentialView, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    services.delete_credential(&actor, &slug).await?;
    Ok(CredentialView::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_token_never_shows_in_debug_output() {
        let args = SetAccessToken { slug: "a".into(), token: TokenInput("ghp_secret".into()), username: String::new() };
        assert!(!format!("{args:?}").contains("ghp_secret"));
        assert_eq!(serde_json::to_value(&args.token).unwrap(), "ghp_secret", "sent as a plain string");
    }
}
