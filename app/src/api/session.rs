//! Who is logged in, whether the first-run setup is pending, and where apps are served.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{SiteInfo, SignedIn};

#[server]
pub async fn current_user() -> Result<Option<SignedIn>, AppError> {
    // The server's 404 fallback renders the app without `Services` in the context: nobody is logged
    // in there (every other server function treats a missing context as an internal error).
    let Some(services) = use_context::<domain::Services>() else {
        return Ok(None);
    };
    let warning = services.isolation_warning().map(str::to_string);
    Ok(super::ctx::user(&services).await?.map(|user| SignedIn { user, platform_warning: warning }))
}

#[server]
pub async fn needs_setup() -> Result<bool, AppError> {
    let services = super::ctx::services()?;
    Ok(services.needs_setup().await?)
}

/// The name of the installation's single sign-on provider, when one is configured (the login
/// page's "Sign in with …"; anyone may ask).
#[server]
pub async fn oidc_sign_in() -> Result<Option<String>, AppError> {
    let services = super::ctx::services()?;
    Ok(services.oidc_sign_in_name())
}

/// The account page's single sign-on line: the provider's name (none: not configured) and the
/// provider account linked to the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoAccount {
    pub name: Option<String>,
    pub linked: Option<String>,
}

#[server]
pub async fn oidc_account() -> Result<SsoAccount, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(SsoAccount { name: services.oidc_sign_in_name(), linked: services.linked_oidc(&actor).await? })
}

#[server]
pub async fn get_site_info() -> Result<SiteInfo, AppError> {
    let (services, _actor) = super::ctx::authorize().await?;
    Ok(SiteInfo { base_domain: services.routes.base_domain().to_string(), proxy_port: proxy_port() })
}

/// The port of the app proxy, provided as context by the server (it knows the bound address).
#[cfg(feature = "ssr")]
fn proxy_port() -> u16 {
    leptos::prelude::use_context::<crate::server::ProxyPort>().map(|p| p.0).unwrap_or(8080)
}

/// Changes the logged-in user's password after checking the current one; every other session of
/// theirs ends (this browser stays logged in).
#[server]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let Some(parts) = use_context::<http::request::Parts>() else {
        tracing::error!("the request is missing from the server function's context");
        return Err(AppError::Internal);
    };
    let Some(client) = parts.extensions.get::<domain::net::ClientIp>().copied() else {
        tracing::error!("the client address is missing from the request");
        return Err(AppError::Internal);
    };
    let keep = super::ctx::session_cookie(&parts.headers);
    services.change_password(&actor, &current, &new, keep.as_deref(), client.0).await?;
    Ok(())
}
