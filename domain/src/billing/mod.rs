//! Billing: plans with limits, Stripe Checkout and the Billing Portal for a team (the team is the
//! customer), and Stripe's webhook keeping each team's plan and payment state. Off (everything
//! unlimited) until a Stripe secret key is configured.
//!
//! Limits are checked here, where the action happens (create an app, invite, add a domain,
//! deploy), and refused with `PaymentRequired` (402) naming the limit, the usage and how to
//! upgrade. A failed payment leaves a grace period (`grace`), after which the team is held to the
//! free plan's limits until an invoice is paid.

mod alerts;
mod plans;
mod stripe;
mod usage;
mod webhook;

use std::time::Duration;

pub use plans::{default_plans, Limits, Overage, Plan};
pub use usage::{Meter, UsageReport};
pub(crate) use usage::Pace;
pub use wire::billing::{ChargeLine, Invoice, MeterUsage, Money, PlanShown, Projection, TeamBilling, Threshold, Usage};
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
    /// Meter events sent per second at most (Stripe allows 1000 in live mode, fewer in test mode).
    pub meter_events_per_sec: u32,
    /// The event names of the Stripe meters (`rhone_machine_seconds`, … unless configured).
    pub meter_event_names: MeterNames,
}

/// The event name each meter's events are sent under (its Stripe meter's `event_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterNames {
    pub machine_seconds: String,
    pub bandwidth_bytes: String,
    pub builds: String,
}

impl Default for MeterNames {
    fn default() -> Self {
        MeterNames { machine_seconds: Meter::MachineSeconds.event_name().into(), bandwidth_bytes: Meter::BandwidthBytes.event_name().into(), builds: Meter::Builds.event_name().into() }
    }
}

impl MeterNames {
    pub fn of(&self, meter: Meter) -> &str {
        match meter {
            Meter::MachineSeconds => &self.machine_seconds,
            Meter::BandwidthBytes => &self.bandwidth_bytes,
            Meter::Builds => &self.builds,
        }
    }
}

impl std::fmt::Debug for BillingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingSettings").field("api_url", &self.api_url).field("plans", &self.plans).field("grace", &self.grace).field("usage_report", &self.usage_report).field("meter_events_per_sec", &self.meter_events_per_sec).finish_non_exhaustive()
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

/// A limit checked where its action happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Apps,
    Members,
    CustomDomains,
    Builds,
    MachineHours,
    BandwidthGb,
    Regions,
}

impl Limit {
    const ALL: [Limit; 7] = [Limit::Apps, Limit::Members, Limit::CustomDomains, Limit::Builds, Limit::MachineHours, Limit::BandwidthGb, Limit::Regions];

    fn words(self) -> &'static str {
        match self {
            Limit::Apps => "apps",
            Limit::Members => "team members (open invitations included)",
            Limit::CustomDomains => "custom domains",
            Limit::Builds => "builds this billing period",
            Limit::MachineHours => "machine-hours this billing period",
            Limit::BandwidthGb => "GB of bandwidth this billing period",
            Limit::Regions => "regions (this installation is one)",
        }
    }

    /// Its name in `plan_limits` and in the API.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Apps => "apps",
            Limit::Members => "members",
            Limit::CustomDomains => "custom_domains",
            Limit::Builds => "builds",
            Limit::MachineHours => "machine_hours",
            Limit::BandwidthGb => "bandwidth_gb",
            Limit::Regions => "regions",
        }
    }

    /// The limit on it in `limits` (`None`: unlimited).
    pub fn max_in(self, limits: &Limits) -> Option<u64> {
        match self {
            Limit::Apps => limits.apps,
            Limit::Members => limits.members,
            Limit::CustomDomains => limits.custom_domains,
            Limit::Builds => limits.builds,
            Limit::MachineHours => limits.machine_hours,
            Limit::BandwidthGb => limits.bandwidth_gb,
            Limit::Regions => limits.regions,
        }
    }

    /// Measured units in one of the limit's (seconds in an hour, bytes in a GB).
    fn unit(self) -> u64 {
        match self {
            Limit::MachineHours => 3600,
            Limit::BandwidthGb => 1_000_000_000,
            _ => 1,
        }
    }

    /// What the team uses of it, in measured units.
    fn used_in(self, u: &Usage) -> u64 {
        match self {
            Limit::Apps => u.apps,
            Limit::Members => u.members,
            Limit::CustomDomains => u.custom_domains,
            Limit::Builds => u.builds,
            Limit::MachineHours => u.machine_seconds,
            Limit::BandwidthGb => u.bandwidth_bytes,
            Limit::Regions => u.regions,
        }
    }

    /// The price of a unit past the limit (cents); 0: the limit is hard (refused, never billed).
    fn overage_rate(self, o: &Overage) -> u64 {
        match self {
            Limit::Builds => o.build_cents,
            Limit::MachineHours => o.machine_hour_cents,
            Limit::BandwidthGb => o.gb_cents,
            _ => 0,
        }
    }

    /// `used` (measured units) against `max` (the limit's units): 100 at or past it, 80 from 80 %.
    fn threshold(self, used: u64, max: u64) -> Option<u8> {
        let max = u128::from(max) * u128::from(self.unit());
        let used = u128::from(used);
        if max == 0 {
            None
        } else if used >= max {
            Some(100)
        } else if used * 100 >= max * 80 {
            Some(80)
        } else {
            None
        }
    }
}

/// The subscription's status still bills (or there is none yet): its plan applies.
fn billing_status_active(account: &BillingAccount) -> bool {
    !matches!(account.subscription_status.as_deref(), Some("canceled" | "unpaid" | "incomplete_expired"))
}

/// A subscription that still bills (a plan changes on it rather than by a new one).
fn subscribed(account: &BillingAccount) -> bool {
    account.subscription_id.is_some() && billing_status_active(account)
}

/// The highest spend cap (a hundred million in the currency's units).
const MAX_CAP_CENTS: i64 = 10_000_000_000;

/// `"50"`, `"50.5"`, `"50.05"` (the currency's units) → cents; `""` → no cap.
pub fn parse_cap(s: &str) -> Result<Option<i64>> {
    let s = s.trim().trim_start_matches('$');
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || Error::invalid("cap", "must be an amount such as 50 or 49.99 (empty: no cap)");
    let (units, frac) = s.split_once('.').unwrap_or((s, ""));
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) || units.len() > 12 {
        return Err(bad());
    }
    let cents = units.parse::<i64>().map_err(|_| bad())?.saturating_mul(100) + format!("{frac:0<2}").parse::<i64>().map_err(|_| bad())?;
    if !(1..=MAX_CAP_CENTS).contains(&cents) {
        return Err(Error::invalid("cap", format!("must be more than 0 and at most {}", MAX_CAP_CENTS / 100)));
    }
    Ok(Some(cents))
}

/// The limits of `limits` at 80 % or more of their maximum in `usage`.
fn thresholds(limits: &Limits, usage: &Usage) -> Vec<Threshold> {
    Limit::ALL
        .into_iter()
        // one seat is the owner's own: nothing to warn about
        .filter(|l| !(*l == Limit::Members && limits.members.is_some_and(|m| m <= 1)))
        // every app runs in this installation's one region: nothing to grow into
        .filter(|l| *l != Limit::Regions)
        .filter_map(|l| {
            let max = l.max_in(limits)?;
            let used = l.used_in(usage);
            l.threshold(used, max).map(|percent| Threshold { limit: l.key().into(), used: used / l.unit(), max, percent })
        })
        .collect()
}

/// Stripe prices by id, kept an hour (the billing page shows the plan's price on every load).
#[derive(Clone)]
pub(crate) struct PriceCache(crate::ttl::TtlMap<String, Money>);

impl Default for PriceCache {
    fn default() -> Self {
        PriceCache(crate::ttl::TtlMap::new(Duration::from_secs(3600)))
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
        let paid = if billing_status_active(account) { b.plan(&account.plan).unwrap_or(b.free()) } else { b.free() };
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

    /// The banner a team's pages show about its payment (billing on): a failed payment, and the
    /// restriction after its grace period.
    pub(crate) async fn billing_warning(&self, team_id: i64) -> Result<Option<String>> {
        let Some(b) = self.billing_settings() else { return Ok(None) };
        let account = self.store.billing_account(team_id).await?;
        Ok(self.effective(b, &account).2)
    }

    /// How much of `limit` team `team_id` uses, in measured units (builds, machine time and
    /// bandwidth since `period_start`, unix s).
    async fn used(&self, team_id: i64, limit: Limit, period_start: i64) -> Result<u64> {
        let from = period_start.saturating_mul(1000);
        let n = match limit {
            Limit::Apps => return self.store.count_team_apps(team_id).await,
            Limit::Members => return self.store.count_team_seats(team_id).await,
            Limit::CustomDomains => return self.store.count_team_domains(team_id).await,
            Limit::Regions => return Ok(u64::from(self.store.count_team_apps(team_id).await? > 0)),
            Limit::Builds => self.store.builds_between(team_id, from, i64::MAX).await?.0,
            Limit::MachineHours => self.measured(team_id, Meter::MachineSeconds, from, now_ms()).await?,
            Limit::BandwidthGb => self.measured(team_id, Meter::BandwidthBytes, from, now_ms()).await?,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn usage(&self, team_id: i64, period_start: i64) -> Result<Usage> {
        // one query for the count and the build time
        let (builds, build_ms) = self.store.builds_between(team_id, period_start.saturating_mul(1000), i64::MAX).await?;
        Ok(Usage {
            apps: self.used(team_id, Limit::Apps, period_start).await?,
            members: self.used(team_id, Limit::Members, period_start).await?,
            custom_domains: self.used(team_id, Limit::CustomDomains, period_start).await?,
            builds: u64::try_from(builds).unwrap_or(0),
            build_seconds: u64::try_from(build_ms / 1000).unwrap_or(0),
            machine_seconds: self.used(team_id, Limit::MachineHours, period_start).await?,
            bandwidth_bytes: self.used(team_id, Limit::BandwidthGb, period_start).await?,
            regions: self.used(team_id, Limit::Regions, period_start).await?,
            machine_by_size: self
                .store
                .machine_ms_by_size(team_id, period_start.saturating_mul(1000), now_ms())
                .await?
                .into_iter()
                .map(|(size, ms)| wire::billing::SizeUsage { size, seconds: u64::try_from(ms / 1000).unwrap_or(0) })
                .collect(),
        })
    }

    /// Refuses one more of `limit` for team `team_id` when its plan's limit is reached and the
    /// plan bills nothing past it (402).
    pub(crate) async fn check_limit(&self, team_id: i64, limit: Limit) -> Result<()> {
        let Some(b) = self.billing_settings() else { return Ok(()) };
        let account = self.store.billing_account(team_id).await?;
        let (plan, restricted, _) = self.effective(b, &account);
        let Some(max) = limit.max_in(&plan.limits) else { return Ok(()) };
        if limit.overage_rate(&plan.overage) > 0 {
            return Ok(());
        }
        let (start, _) = Self::period(&account);
        let used = self.used(team_id, limit, start).await?;
        if u128::from(used) < u128::from(max) * u128::from(limit.unit()) {
            return Ok(());
        }
        let team = self.store.team_by_id(team_id).await?;
        let held = if restricted { " (held to it after a failed payment)" } else { "" };
        Err(Error::PaymentRequired(format!(
            "the {} plan{held} allows {max} {} and team {} has {}: upgrade on the team's billing page (/t/{}/billing, or POST /api/v1/teams/{}/billing/checkout)",
            plan.name,
            limit.words(),
            team.slug,
            used / limit.unit(),
            team.slug,
            team.slug
        )))
    }

    /// Refuses a team's first app when its plan allows no region (its apps would run in this
    /// installation's one; a team with an app is in it already).
    pub(crate) async fn check_region(&self, team_id: i64) -> Result<()> {
        if self.billing_settings().is_none() || self.store.count_team_apps(team_id).await? > 0 {
            return Ok(());
        }
        self.check_limit(team_id, Limit::Regions).await
    }

    /// Refuses a deploy (a build and more machine time) past the plan's builds, machine-hours or
    /// bandwidth when it bills nothing past them (402).
    pub(crate) async fn check_deploy(&self, team_id: i64) -> Result<()> {
        for limit in [Limit::Builds, Limit::MachineHours, Limit::BandwidthGb] {
            self.check_limit(team_id, limit).await?;
        }
        let Some(b) = self.billing_settings() else { return Ok(()) };
        let (Some(cap), _) = self.store.spend_cap(team_id).await? else { return Ok(()) };
        let account = self.store.billing_account(team_id).await?;
        let (plan, _, _) = self.effective(b, &account);
        let usage = self.usage(team_id, Self::period(&account).0).await?;
        let projected = self.projection(b, plan, &usage).await.total;
        if !alerts::cap_reached(Some(cap), &projected) {
            return Ok(());
        }
        let team = self.store.team_by_id(team_id).await?;
        let cap = Money { cents: cap, currency: projected.currency.clone() };
        Err(Error::PaymentRequired(format!(
            "team {} reached its spend cap of {} ({} projected this billing period): raise or remove the cap on the team's billing page (/t/{}/billing)",
            team.slug,
            cap.shown(),
            projected.shown(),
            team.slug
        )))
    }

    /// Sets team `slug`'s spend cap (cents; `None`: no cap): new deploys are refused once the
    /// period's projected charge reaches it, and with `stop_apps` its running apps are stopped then
    /// (owners).
    pub async fn set_spend_cap(&self, actor: &Actor, slug: &str, cap_cents: Option<i64>, stop_apps: bool) -> Result<TeamBilling> {
        let (team, _) = self.team_for(actor, slug, Action::ManageBilling).await?;
        self.billing_settings().ok_or(Error::NotFound("billing (it is not configured on this installation)"))?;
        if let Some(c) = cap_cents {
            if !(1..=MAX_CAP_CENTS).contains(&c) {
                return Err(Error::invalid("cap_cents", format!("must be between 1 and {MAX_CAP_CENTS} (cents)")));
            }
        } else if stop_apps {
            return Err(Error::invalid("stop_apps", "stops the apps at the cap: set a cap first"));
        }
        self.store.set_spend_cap(team.id, cap_cents, stop_apps).await?;
        let detail = match cap_cents {
            Some(c) => format!("spend cap {c} cents{}", if stop_apps { ", stopping the apps at it" } else { "" }),
            None => "spend cap removed".into(),
        };
        self.record(&[team.id], actor.audit(crate::teams::AuditAction::TeamUpdate, &team.slug, &detail)).await;
        self.team_billing(actor, slug).await
    }

    /// Team `slug`'s plan, limits, usage, projected charge and meters (its members).
    pub async fn team_billing(&self, actor: &Actor, slug: &str) -> Result<TeamBilling> {
        let (team, role) = self.team_for(actor, slug, Action::ReadTeam).await?;
        let can_manage = crate::access::enforce(actor, team.id, Some(role), Action::ManageBilling, "team", team.require_2fa).is_ok();
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
                thresholds: Vec::new(),
                projected: None,
                meters: Vec::new(),
                can_manage,
                spend_cap: None,
                stop_at_cap: false,
                cap_reached: false,
            });
        };
        let account = self.store.billing_account(team.id).await?;
        let (plan, restricted, warning) = self.effective(b, &account);
        let (period_start, period_end) = Self::period(&account);
        let usage = self.usage(team.id, period_start).await?;
        let thresholds = thresholds(&plan.limits, &usage);
        let projected = self.projection(b, plan, &usage).await;
        let (cap, stop_at_cap) = self.store.spend_cap(team.id).await?;
        let cap_reached = alerts::cap_reached(cap, &projected.total);
        let spend_cap = cap.map(|cents| Money { cents, currency: projected.total.currency.clone() });
        Ok(TeamBilling {
            enabled: true,
            plan: account.plan.clone(),
            limits: plan.limits.clone(),
            usage,
            subscription_status: account.subscription_status.clone(),
            period_start,
            period_end,
            payment_failed_at: account.payment_failed_at,
            restricted,
            warning,
            plans: b.plans.iter().map(|p| PlanShown { name: p.name.clone(), limits: p.limits.clone(), purchasable: p.flat_price.is_some() }).collect(),
            thresholds,
            projected: Some(projected),
            meters: self.meters_between(team.id, period_start.saturating_mul(1000), now_ms()).await?,
            can_manage,
            spend_cap,
            stop_at_cap,
            cap_reached,
        })
    }

    /// The period's charge so far: the plan's price (from Stripe) and usage past its limits at its
    /// overage rates.
    async fn projection(&self, b: &BillingSettings, plan: &Plan, usage: &Usage) -> Projection {
        let mut lines = Vec::new();
        let mut note = None;
        let mut currency = "usd".to_string();
        if let Some(price) = &plan.flat_price {
            match self.price(b, price).await {
                Ok(m) => {
                    currency = m.currency.clone();
                    lines.push(ChargeLine { what: format!("{} plan", plan.name), quantity: 1, amount: m });
                }
                Err(e) => {
                    tracing::warn!(error = ?e, price = %price, "the plan's price could not be read from Stripe");
                    note = Some(format!("the {} plan's price is not shown: {e}", plan.name));
                }
            }
        }
        for l in [Limit::MachineHours, Limit::Builds, Limit::BandwidthGb] {
            let (Some(max), rate) = (l.max_in(&plan.limits), l.overage_rate(&plan.overage)) else { continue };
            let included = u128::from(max) * u128::from(l.unit());
            let used = u128::from(l.used_in(usage));
            if rate == 0 || used <= included {
                continue;
            }
            // a started unit counts whole
            let over = u64::try_from((used - included).div_ceil(u128::from(l.unit()))).unwrap_or(u64::MAX);
            let cents = i64::try_from(over.saturating_mul(rate)).unwrap_or(i64::MAX);
            let what = format!("{} over {max}", l.key().replace('_', " ").replace("bandwidth gb", "bandwidth GB").replace("machine hours", "machine-hours"));
            lines.push(ChargeLine { what, quantity: over, amount: Money { cents, currency: currency.clone() } });
        }
        let total = Money { cents: lines.iter().map(|l| l.amount.cents).fold(0i64, i64::saturating_add), currency };
        Projection { lines, total, note }
    }

    /// A Stripe price's amount, read once an hour at most.
    async fn price(&self, b: &BillingSettings, id: &str) -> Result<Money> {
        if let Some(m) = self.prices.0.get(id) {
            return Ok(m);
        }
        let m = stripe::client(b)?.price(id).await?;
        self.prices.0.put(id.to_string(), m.clone());
        Ok(m)
    }

    /// Team `slug`'s invoices from Stripe, newest first (owners and billing admins).
    pub async fn team_invoices(&self, actor: &Actor, slug: &str) -> Result<Vec<Invoice>> {
        let (team, _) = self.team_for(actor, slug, Action::ManageBilling).await?;
        let b = self.billing_settings().ok_or(Error::NotFound("billing (it is not configured on this installation)"))?;
        let account = self.store.billing_account(team.id).await?;
        let Some(customer) = account.customer_id else { return Ok(Vec::new()) };
        stripe::client(b)?.invoices(&customer).await
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
        // subscribed already: the plan changes on that subscription, in the Billing Portal (a second
        // Checkout would start a second subscription)
        let account = self.store.billing_account(team.id).await?;
        if let Some(subscription) = account.subscription_id.as_deref().filter(|_| subscribed(&account)) {
            if account.plan == chosen.name {
                return Err(Error::Conflict(format!("team {} is on the {} plan already", team.slug, chosen.name)));
            }
            let url = stripe::client(b)?.portal_plan_change(&customer, subscription, &back).await?;
            self.record(&[team.id], actor.audit(crate::teams::AuditAction::TeamUpdate, &team.slug, &format!("plan change to {} in the Billing Portal", chosen.name))).await;
            return Ok(url);
        }
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
    fn a_cap_is_read_as_an_amount() {
        for (text, cents) in [("50", Some(5000)), ("$49.99", Some(4999)), ("0.5", Some(50)), (" 12.05 ", Some(1205)), ("", None)] {
            assert_eq!(super::parse_cap(text).unwrap(), cents, "{text}");
        }
        for bad in ["-5", "0", "1.234", "abc", "1e3", ".5", "100000000.01", "99999999999999"] {
            assert!(super::parse_cap(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_calendar_month_holds_now() {
        let (s, e) = super::calendar_month(1_764_979_200); // 2025-12-06
        assert_eq!((super::date(s).as_str(), super::date(e).as_str()), ("2025-12-01", "2026-01-01"));
        let (s, e) = super::calendar_month(1_738_368_000); // 2025-02-01 00:00
        assert_eq!((super::date(s).as_str(), super::date(e).as_str()), ("2025-02-01", "2025-03-01"));
    }
}
