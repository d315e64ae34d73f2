//! A team's billing: its plan, usage, projected charge and meters; its invoices (from Stripe); and
//! the ways to pay (Stripe Checkout, the Billing Portal), each a redirect to Stripe.

use leptos::prelude::*;
use wire::billing::{Invoice, TeamBilling};

use crate::error::AppError;

#[server]
pub async fn get_billing(team: String) -> Result<TeamBilling, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.team_billing(&actor, &team).await?)
}

#[server]
pub async fn list_invoices(team: String) -> Result<Vec<Invoice>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.team_invoices(&actor, &team).await?)
}

/// Sends the browser to a Stripe Checkout page subscribing the team to `plan`.
#[server]
pub async fn billing_checkout(team: String, plan: String) -> Result<String, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let url = services.billing_checkout(&actor, &team, &plan).await?;
    leptos_axum::redirect(&url);
    Ok(url)
}

/// Sends the browser to the team's Stripe Billing Portal (payment method, invoices, cancel).
#[server]
pub async fn billing_portal(team: String) -> Result<String, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let url = services.billing_portal(&actor, &team).await?;
    leptos_axum::redirect(&url);
    Ok(url)
}

/// Sets the team's spend cap from the billing page: `cap` in the currency's units (`49.99`; empty:
/// no cap), `stop_apps` a checkbox.
#[server]
pub async fn set_spend_cap(team: String, cap: String, #[server(default)] stop_apps: Option<String>) -> Result<TeamBilling, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let cents = domain::billing::parse_cap(&cap)?;
    Ok(services.set_spend_cap(&actor, &team, cents, stop_apps.is_some()).await?)
}
