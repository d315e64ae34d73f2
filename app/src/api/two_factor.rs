//! Two-factor sign-in of the signed-in user: status, enrolment (QR code, first code, recovery codes
//! shown once), new recovery codes, turning it off.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorState {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

/// A new authenticator secret waiting for its first code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorEnrolment {
    /// An inline SVG of the `otpauth://` URL.
    pub qr_svg: String,
    /// The secret as text, for authenticators without a camera.
    pub secret: String,
    pub otpauth_url: String,
}

#[server]
pub async fn two_factor_status() -> Result<TwoFactorState, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let (enabled, recovery_codes_left) = services.totp_status(&actor).await?;
    Ok(TwoFactorState { enabled, recovery_codes_left })
}

#[server]
pub async fn begin_two_factor() -> Result<TwoFactorEnrolment, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let e = services.begin_totp(&actor).await?;
    Ok(TwoFactorEnrolment { qr_svg: e.qr_svg, secret: e.secret_base32, otpauth_url: e.otpauth_url })
}

/// Turns it on with the first code; the answer holds the recovery codes, shown once.
#[server]
pub async fn confirm_two_factor(code: String) -> Result<Vec<String>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.confirm_totp(&actor, &code).await?)
}

#[server]
pub async fn new_recovery_codes(code: String) -> Result<Vec<String>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.regenerate_recovery_codes(&actor, &code).await?)
}

#[server]
pub async fn disable_two_factor(password: String) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let ip = actor.ip.ok_or_else(|| {
        tracing::error!("the client address is missing from the request");
        AppError::Internal
    })?;
    Ok(services.disable_totp(&actor, &password, ip).await?)
}

/// Whether members of `team` must use two-factor sign-in (owners and admins change it).
#[server]
pub async fn set_team_two_factor(team: String, required: bool) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    services.update_team(&actor, &team, None, None, Some(required)).await?;
    Ok(())
}
