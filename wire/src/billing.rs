//! A team's billing as the API and the billing page show it: the plan and its limits, what the team
//! uses of them, the charge projected for the period, what was measured next to what was reported to
//! Stripe, and the invoices.

use serde::{Deserialize, Serialize};

/// A plan's limits (`None`: unlimited).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub apps: Option<u64>,
    pub members: Option<u64>,
    pub custom_domains: Option<u64>,
    pub machine_hours: Option<u64>,
    pub builds: Option<u64>,
    pub bandwidth_gb: Option<u64>,
    /// Regions the team's apps may run in (an installation is one region).
    #[serde(default)]
    pub regions: Option<u64>,
}

/// What a team uses of its limits this period (machine time and bandwidth in their metered units).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    pub apps: u64,
    pub members: u64,
    pub custom_domains: u64,
    pub builds: u64,
    #[serde(default)]
    pub build_seconds: u64,
    #[serde(default)]
    pub machine_seconds: u64,
    #[serde(default)]
    pub bandwidth_bytes: u64,
    /// Regions the team's apps run in (this installation's one, once it has an app).
    #[serde(default)]
    pub regions: u64,
    /// Machine seconds by instance size (its memory limit in MB, or `default`).
    #[serde(default)]
    pub machine_by_size: Vec<SizeUsage>,
}

/// Machine time of one instance size.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SizeUsage {
    /// The memory limit in MB, or `default`.
    pub size: String,
    pub seconds: u64,
}

/// A plan one can choose.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlanShown {
    pub name: String,
    pub limits: Limits,
    /// It can be bought (a flat price is configured).
    pub purchasable: bool,
}

/// An amount of money in the currency's smallest unit (cents).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Money {
    pub cents: i64,
    /// ISO code, lower case as Stripe writes it (`usd`).
    pub currency: String,
}

impl Money {
    /// `$12.34`, `€5.00`, or `12.34 CHF`.
    pub fn shown(&self) -> String {
        let (sign, abs) = if self.cents < 0 { ("-", self.cents.unsigned_abs()) } else { ("", self.cents.unsigned_abs()) };
        let n = format!("{}.{:02}", abs / 100, abs % 100);
        match self.currency.as_str() {
            "usd" => format!("{sign}${n}"),
            "eur" => format!("{sign}€{n}"),
            "gbp" => format!("{sign}£{n}"),
            other => format!("{sign}{n} {}", other.to_uppercase()),
        }
    }
}

/// One line of the projected charge: the plan's price, or usage past what it includes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChargeLine {
    /// `starter plan`, `machine-hours over 750`, …
    pub what: String,
    /// Units charged (1 for the plan).
    pub quantity: u64,
    pub amount: Money,
}

/// What the period will cost if usage goes on as measured so far (the plan's price and overage to
/// date; Stripe's invoice is the final word).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Projection {
    pub lines: Vec<ChargeLine>,
    pub total: Money,
    /// Why a part is missing (e.g. Stripe could not be reached for the plan's price).
    pub note: Option<String>,
}

/// One meter's figures over a time range: what Rhone measured and what was reported to Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterUsage {
    pub meter: String,
    pub measured: i64,
    /// Windows closed and accepted by Stripe so far.
    pub reported: i64,
}

/// A limit's name as people read it (`machine_hours` → `Machine-hours`).
pub fn limit_label(key: &str) -> &'static str {
    match key {
        "apps" => "Apps",
        "members" => "Members",
        "custom_domains" => "Custom domains",
        "builds" => "Builds",
        "machine_hours" => "Machine-hours",
        "bandwidth_gb" => "Bandwidth (GB)",
        "regions" => "Regions",
        _ => "A limit",
    }
}

/// A limit the team is near (80 %) or at (100 %).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Threshold {
    /// `apps`, `builds`, `machine_hours`, …
    pub limit: String,
    pub used: u64,
    pub max: u64,
    /// 80 or 100.
    pub percent: u8,
}

/// An invoice as Stripe keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Invoice {
    pub id: String,
    pub number: Option<String>,
    /// `draft`, `open`, `paid`, `uncollectible`, `void`.
    pub status: String,
    pub amount_due: Money,
    pub amount_paid: i64,
    /// Unix seconds.
    pub created: i64,
    /// Stripe's page for the invoice (pay or download).
    pub url: Option<String>,
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
    /// Limits at 80 % or more of their maximum.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// The charge projected for the period (billing on).
    #[serde(default)]
    pub projected: Option<Projection>,
    /// Measured next to reported, per meter, this period so far.
    #[serde(default)]
    pub meters: Vec<MeterUsage>,
    /// The caller may change the plan and open the portal (the team's owner).
    #[serde(default)]
    pub can_manage: bool,
    /// New deploys are refused once the projected charge reaches it.
    #[serde(default)]
    pub spend_cap: Option<Money>,
    /// Reaching the cap also stops the team's running apps (an explicit opt-in).
    #[serde(default)]
    pub stop_at_cap: bool,
    /// The projected charge is at or over the cap.
    #[serde(default)]
    pub cap_reached: bool,
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn money_reads_as_people_write_it() {
        let m = |cents, c: &str| Money { cents, currency: c.into() }.shown();
        assert_eq!(m(2000, "usd"), "$20.00");
        assert_eq!(m(5, "eur"), "€0.05");
        assert_eq!(m(-1234, "gbp"), "-£12.34");
        assert_eq!(m(100_001, "chf"), "1000.01 CHF");
    }
}
