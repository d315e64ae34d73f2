//! Plans: a name, Stripe price ids and limits. The defaults mirror a common shape (Free, Starter,
//! Pro); the operator sets prices (`stripe_prices`) and may replace limits in `rhone.toml`.

use serde::{Deserialize, Serialize};

pub use wire::billing::Limits;

/// Overage rates (US cents per unit) shown in the projected charge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overage {
    pub machine_hour_cents: u64,
    pub build_cents: u64,
    pub gb_cents: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    /// The flat (licensed) price subscribed to; `None`: not for sale (the free plan).
    pub flat_price: Option<String>,
    /// Metered prices added to the subscription (machine time, bandwidth, builds).
    pub metered_prices: Vec<String>,
    pub limits: Limits,
    pub overage: Overage,
}

/// Free (100 machine-hours, 50 builds, 10 GB, 1 member, no custom domains), Starter and Pro.
pub fn default_plans() -> Vec<Plan> {
    let plan = |name: &str, limits: Limits, overage: Overage| Plan { name: name.into(), flat_price: None, metered_prices: Vec::new(), limits, overage };
    vec![
        plan(
            "free",
            Limits { apps: Some(3), members: Some(1), custom_domains: Some(0), machine_hours: Some(100), builds: Some(50), bandwidth_gb: Some(10), regions: Some(1) },
            Overage::default(),
        ),
        plan(
            "starter",
            Limits { apps: Some(10), members: Some(5), custom_domains: Some(10), machine_hours: Some(750), builds: Some(500), bandwidth_gb: Some(100), regions: Some(1) },
            Overage { machine_hour_cents: 2, build_cents: 1, gb_cents: 10 },
        ),
        plan(
            "pro",
            Limits { apps: None, members: Some(25), custom_domains: Some(100), machine_hours: Some(3000), builds: Some(3000), bandwidth_gb: Some(1000), regions: Some(3) },
            Overage { machine_hour_cents: 1, build_cents: 1, gb_cents: 5 },
        ),
    ]
}
