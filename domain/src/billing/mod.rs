//! Billing: plans with limits, Stripe Checkout and the Billing Portal for a team (the team is the
//! customer), and Stripe's webhook keeping each team's plan and payment state. Off (everything
//! unlimited) until a Stripe secret key is configured.
//!
//! Limits are checked here, where the action happens (create an app, invite, add a domain,
//! deploy), and refused with `PaymentRequired` (402) naming the limit, the usage and how to
//! upgrade. A failed payment leaves a grace period (`grace`), after which the team is held to the
//! free plan's limits until an invoice is paid.

mod plans;
mod stripe;
mod usage;
mod webhook;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use plans::{default_plans, Limits, Plan};
pub use usage::{Meter, MeterUsage, UsageReport};
pub use webhook::{sign, verify_signature, StripeReply, StripeWebhookError};

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::policy::Action;
use crate::store::now_ms;
use crate::Services;

/// Stripe's API.
pub const STRIPE_API: &str = "https://api.stripe.com";

/// The installation's billing (`stripe_*` settings). `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct BillingSettings {
    pub secret_key: String,
    /// `whsec_…`: without it the webhook answers 404.
    pub webhook_secret: Option<String>,
    /// Stripe's API base URL (tests point it at a stand-in).
    pub api_url: String,
    pub plans: Vec<Plan>,
    /// How long a team keeps its plan after a failed payment.
    pub grace: Duration,
    /// How often usage is reported to Stripe's meters.
    pub usage_report: Duration,
}

impl std::fmt::Debug for BillingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingSettings").field("api_url", &self.api_url).field("plans", &self.plans).field("grace", &self.grace).field("usage_report", &self.usage_report).finish_non_exhaustive()
    }
}

impl BillingSettings {
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.name == name)
    }

    /// The plan a subscription's price ids stand for (its flat price).
    pub fn plan_of_prices<'a>(&self, prices: impl IntoIterator<Item = &'a str>) -> Option<&Plan> {
        let prices: Vec<&str> = prices.into_iter().collect();
        self.plans.iter().find(|p| p.flat_price.as_deref().is_some_and(|f| prices.contains(&f)))
    }

    fn free(&self) -> &Plan {
        self.plan("free").or(self.plans.first()).expect("a free plan exists")
    }
}

/// One team's billing state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingAccount {
    pub team_id: i64,
    pub customer_id: Option<String>,
    pub plan: String,
    pub subscription_id: Option<String>,
    pub subscription_status: Option<String>,
    /// `created` (unix s) of the newest Stripe event applied to the subscription.
    pub subscription_at: i64,
    /// `created` (unix s) of the newest invoice event applied to the payment state.
    pub payment_at: i64,
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
    /// When a payment failed (unix s), until an invoice is paid.
    pub payment_failed_at: Option<i64>,
}

impl BillingAccount {
    pub fn free(team_id: i64) -> BillingAccount {
        BillingAccount { team_id, customer_id: None, plan: "free".into(), subscription_id: None, subscription_status: None, subscription_at: 0, payment_at: 0, period_start: None, period_end: None, payment_failed_at: None }
    }
}

/// What a team's billing page and `GET /teams/{team}/billing` show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TeamBilling {
    /// Billing is configured on this installation (else everything is unlimited).
    pub enabled: bool,
    /// The plan paid for (`free` without a subscription).
    pub plan: String,
    /// The limits in force: the plan's, or the free plan's while restricted.
    pub limits: Limits,
    pub usage: Usage,
    pub subscription_status: Option<String>,
    /// The billing period (unix s): the subscription's, else the calendar month (UTC).
    pub period_start: i64,
    pub period_end: i64,
    pub payment_failed_at: Option<i64>,
    /// Held to the free plan's limits (a failed payment past its grace period).
    pub restricted: bool,
    /// Said in a banner: a failed payment and what follows.
    pub warning: Option<String>,
    /// The plans one can choose.
    pub plans: Vec<PlanShown>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlanShown {
    pub name: String,
    pub limits: Limits,
    /// It can be bought (a flat price is configured).
    pub purchasable: bool,
}

/// What a team uses of its limits this period.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    pub apps: u64,
    pub members: u64,
    pub custom_domains: u64,
    pub builds: u64,
}

/// A limit checked where its action happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Apps,
    Members,
    CustomDomains,
    Builds,
}

impl Limit {
    fn words(self) -> &'static str {
        match self {
            Limit::Apps => "apps",
            Limit::Members => "team members (open invitations included)",
            Limit::CustomDomains => "custom domains",
            Limit::Builds => "builds this billing period",
        }
    }
}

/// The calendar month (UTC) around `now_s`, as unix seconds.
fn calendar_month(now_s: i64) -> (i64, i64) {
    use chrono::{Datelike, TimeZone};
    let now = chrono::Utc.timestamp_opt(now_s, 0).single().unwrap_or_default();
    let start = chrono::Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single().unwrap_or_default();
    let (y, m) = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    let end = chrono::Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or_default();
    (start.timestamp(), end.timestamp())
}

fn date(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

impl Services {
    fn billing_settings(&self) -> Option<&BillingSettings> {
        self.settings.billing.as_ref()
    }

    /// The plan whose limits apply to `account` now, whether that is a restriction, and the
    /// banner to show.
    fn effective<'a>(&self, b: &'a BillingSettings, account: &BillingAccount) -> (&'a Plan, bool, Option<String>) {
        let active = !matches!(account.subscription_status.as_deref(), Some("canceled" | "unpaid" | "incomplete_expired"));
        let paid = if active { b.plan(&account.plan).unwrap_or(b.free()) } else { b.free() };
        let Some(failed) = account.payment_failed_at else { return (paid, false, None) };
        let grace = i64::try_from(b.grace.as_secs()).unwrap_or(i64::MAX / 4);
        let deadline = failed.saturating_add(grace);
        if now_ms() / 1000 >= deadline {
            let why = format!(
                "A payment failed on {}: this team is held to the {} plan's limits until the invoice is paid (Manage billing).",
                date(failed),
                b.free().name
            );
            (b.free(), true, Some(why))
        } else {
            let why = format!("A payment failed on {}: pay the invoice by {} (Manage billing) or this team is held to the {} plan's limits.", date(failed), date(deadline), b.free().name);
            (paid, false, Some(why))
        }
    }

    pub(crate) fn period(account: &BillingAccount) -> (i64, i64) {
        match (account.period_start, account.period_end) {
            (Some(s), Some(e)) if e > s => (s, e),
            _ => calendar_month(now_ms() / 1000),
        }
    }

    /// How much of `limit` team `team_id` uses (builds: since `period_start`, unix s).
    async fn used(&self, team_id: i64, limit: Limit, period_start: i64) -> Result<u64> {
        match limit {
            Limit::Apps => self.store.count_team_apps(team_id).await,
            Limit::Members => self.store.count_team_seats(team_id).await,
            Limit::CustomDomains => self.store.count_team_domains(team_id).await,
            Limit::Builds => Ok(u64::try_from(self.store.builds_between(team_id, period_start * 1000, i64::MAX).await?).unwrap_or(0)),
        }
    }

    async fn usage(&self, team_id: i64, period_start: i64) -> Result<Usage> {
        Ok(Usage {
            apps: self.used(team_id, Limit::Apps, period_start).await?,
            members: self.used(team_id, Limit::Members, period_start).await?,
            custom_domains: self.used(team_id, Limit::CustomDomains, period_start).await?,
            builds: self.used(team_id, Limit::Builds, period_start).await?,
        })
    }

    /// Refuses one more of `limit` for team `team_id` when its plan's limit is reached (402).
    pub(crate) async fn check_limit(&self, team_id: i64, limit: Limit) -> Result<()> {
        let Some(b) = self.billing_settings() else { return Ok(()) };
        let account = self.store.billing_account(team_id).await?;
        let (plan, restricted, _) = self.effective(b, &account);
        let Some(max) = plan.limits.of(limit) else { return Ok(()) };
        let (start, _) = Self::period(&account);
        let used = self.used(team_id, limit, start).await?;
        if used < max {
            return Ok(());
        }
        let team = self.store.team_by_id(team_id).await?;
        let held = if restricted { " (held to it after a failed payment)" } else { "" };
        Err(Error::PaymentRequired(format!(
            "the {} plan{held} allows {max} {} and team {} has {used}: upgrade on the team's billing page (/t/{}/billing, or POST /api/v1/teams/{}/billing/checkout)",
            plan.name,
            limit.words(),
            team.slug,
            team.slug,
            team.slug
        )))
    }

    /// Team `slug`'s plan, limits and usage (its members).
    pub async fn team_billing(&self, actor: &Actor, slug: &str) -> Result<TeamBilling> {
        let (team, _) = self.team_for(actor, slug, Action::ReadTeam).await?;
        let Some(b) = self.billing_settings() else {
            let (period_start, period_end) = calendar_month(now_ms() / 1000);
            return Ok(TeamBilling {
                enabled: false,
                plan: "unlimited".into(),
                limits: Limits::default(),
                usage: self.usage(team.id, period_start).await?,
                subscription_status: None,
                period_start,
                period_end,
                payment_failed_at: None,
                restricted: false,
                warning: None,
                plans: Vec::new(),
            });
        };
        let account = self.store.billing_account(team.id).await?;
        let (plan, restricted, warning) = self.effective(b, &account);
        let (period_start, period_end) = Self::period(&account);
        Ok(TeamBilling {
            enabled: true,
            plan: account.plan.clone(),
            limits: plan.limits.clone(),
            usage: self.usage(team.id, period_start).await?,
            subscription_status: account.subscription_status.clone(),
            period_start,
            period_end,
            payment_failed_at: account.payment_failed_at,
            restricted,
            warning,
            plans: b.plans.iter().map(|p| PlanShown { name: p.name.clone(), limits: p.limits.clone(), purchasable: p.flat_price.is_some() }).collect(),
        })
    }

    /// The team's Stripe customer: stored, else created once (named after the team).
    async fn stripe_customer(&self, b: &BillingSettings, team: &wire::Team, email: &str) -> Result<String> {
        let mut account = self.store.billing_account(team.id).await?;
        if let Some(c) = &account.customer_id {
            return Ok(c.clone());
        }
        let id = stripe::client(b)?.create_customer(team.id, &team.slug, &team.name, email).await?;
        account.customer_id = Some(id.clone());
        self.store.put_billing_account(&account).await?;
        Ok(id)
    }

    /// A Stripe Checkout session subscribing team `slug` to `plan` (owners and billing admins);
    /// the URL to send the browser to.
    pub async fn billing_checkout(&self, actor: &Actor, slug: &str, plan: &str) -> Result<String> {
        let (team, _) = self.team_for(actor, slug, Action::ManageBilling).await?;
        let b = self.billing_settings().ok_or(Error::NotFound("billing (it is not configured on this installation)"))?;
        let chosen = b.plan(plan.trim()).ok_or_else(|| Error::invalid("plan", format!("is not a plan here (one of {})", b.plans.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "))))?;
        let price = chosen.flat_price.clone().ok_or_else(|| Error::invalid("plan", format!("{} cannot be bought (no price configured)", chosen.name)))?;
        let customer = self.stripe_customer(b, &team, actor.user.email.as_str()).await?;
        let back = format!("{}/t/{}/billing", self.links().dashboard, team.slug);
        let url = stripe::client(b)?
            .checkout(&customer, &price, &chosen.metered_prices, team.id, &chosen.name, &format!("{back}?checkout=done"), &format!("{back}?checkout=canceled"))
            .await?;
        self.record(&[team.id], actor.audit(crate::teams::AuditAction::TeamUpdate, &team.slug, &format!("checkout for the {} plan", chosen.name))).await;
        Ok(url)
    }

    /// A Stripe Billing Portal session for team `slug` (payment method, invoices, cancel).
    pub async fn billing_portal(&self, actor: &Actor, slug: &str) -> Result<String> {
        let (team, _) = self.team_for(actor, slug, Action::ManageBilling).await?;
        let b = self.billing_settings().ok_or(Error::NotFound("billing (it is not configured on this installation)"))?;
        let customer = self.stripe_customer(b, &team, actor.user.email.as_str()).await?;
        let back = format!("{}/t/{}/billing", self.links().dashboard, team.slug);
        stripe::client(b)?.portal(&customer, &back).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_calendar_month_holds_now() {
        let (s, e) = super::calendar_month(1_764_979_200); // 2025-12-06
        assert_eq!((super::date(s).as_str(), super::date(e).as_str()), ("2025-12-01", "2026-01-01"));
        let (s, e) = super::calendar_month(1_738_368_000); // 2025-02-01 00:00
        assert_eq!((super::date(s).as_str(), super::date(e).as_str()), ("2025-02-01", "2025-03-01"));
    }
}
