//! Billing (`stripe_secret_key` turns it on): Stripe's keys and API URL, the plans' prices
//! (`stripe_prices`, `stripe_metered_prices`), the grace period after a failed payment and how
//! often usage is reported.

use std::time::Duration;

use domain::billing::{default_plans, BillingSettings, STRIPE_API};

use super::ConfigError;

/// `starter=price_1,pro=price_2` → (plan, value) pairs, each plan known.
fn per_plan(key: &str, v: &str, plans: &[domain::billing::Plan]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((plan, value)) = pair.split_once('=').map(|(p, v)| (p.trim().to_ascii_lowercase(), v.trim().to_string())) else {
            return Err(ConfigError(format!("{key} must be plan=value pairs separated by commas, got {pair:?}")));
        };
        if !plans.iter().any(|p| p.name == plan) || value.is_empty() {
            let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
            return Err(ConfigError(format!("{key}: {pair:?} names no plan (plans: {})", names.join(", "))));
        }
        out.push((plan, value));
    }
    Ok(out)
}

/// `plan.field=value` settings separated by commas (`free.builds=100, pro.apps=unlimited`): each as
/// (the plan's index, field, value, the setting as written), all trimmed; `bad` names a setting
/// without a `.` or `=`, or naming no plan.
fn plan_fields<'a>(raw: &'a str, plans: &[domain::billing::Plan], bad: impl Fn(&str) -> ConfigError) -> Result<Vec<(usize, &'a str, &'a str, &'a str)>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|setting| {
            let (name, value) = setting.split_once('=').ok_or_else(|| bad(setting))?;
            let (plan, field) = name.trim().split_once('.').ok_or_else(|| bad(setting))?;
            let i = plans.iter().position(|p| p.name == plan.trim().to_ascii_lowercase()).ok_or_else(|| bad(setting))?;
            Ok((i, field.trim(), value.trim(), setting))
        })
        .collect()
}

/// The plans offered: `billing_plans` (`free,starter,team`) keeps the named defaults and adds each
/// new name without limits (`plan_limits`, `stripe_prices` and `plan_overage` then shape it); `free`
/// is always one of them (a team without a subscription is on it).
fn choose_plans(names: Option<&str>) -> Result<Vec<domain::billing::Plan>, ConfigError> {
    let defaults = default_plans();
    let Some(names) = names.map(str::trim).filter(|n| !n.is_empty()) else { return Ok(defaults) };
    let mut plans: Vec<domain::billing::Plan> = Vec::new();
    for name in names.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()) {
        if name.len() > 40 || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') {
            return Err(ConfigError(format!("billing_plans: {name:?} is not a plan name (letters, digits, - and _)")));
        }
        if plans.iter().any(|p| p.name == name) {
            return Err(ConfigError(format!("billing_plans names {name:?} twice")));
        }
        let plan = defaults.iter().find(|p| p.name == name).cloned().unwrap_or_else(|| domain::billing::Plan {
            name: name.clone(),
            flat_price: None,
            metered_prices: Vec::new(),
            limits: domain::billing::Limits::default(),
            overage: domain::billing::Overage::default(),
        });
        plans.push(plan);
    }
    if !plans.iter().any(|p| p.name == "free") {
        return Err(ConfigError("billing_plans must include free (the plan of a team without a subscription)".into()));
    }
    Ok(plans)
}

pub(super) fn billing(get: &dyn Fn(&str) -> Option<String>, usage_report: Duration, grace_days: u64) -> Result<Option<BillingSettings>, ConfigError> {
    let Some(secret_key) = get("stripe_secret_key").filter(|k| !k.trim().is_empty()) else { return Ok(None) };
    // half of Stripe's meter-event limit in live mode (1000/s); its test mode allows 25/s
    let live = secret_key.trim().starts_with("sk_live_") || secret_key.trim().starts_with("rk_live_");
    let meter_events_per_sec = match get("stripe_meter_events_per_sec") {
        None => if live { 500 } else { 20 },
        Some(v) => v.trim().parse::<u32>().ok().filter(|n| (1..=10_000).contains(n)).ok_or_else(|| ConfigError(format!("stripe_meter_events_per_sec must be from 1 to 10000, got {v:?}")))?,
    };
    let api_url = get("stripe_api_url").unwrap_or_else(|| STRIPE_API.to_string());
    match url::Url::parse(&api_url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host_str().is_some() => {}
        _ => return Err(ConfigError(format!("stripe_api_url must be an http(s) URL, got {api_url:?}"))),
    }
    let mut plans = choose_plans(get("billing_plans").as_deref())?;
    for (plan, price) in per_plan("stripe_prices", &get("stripe_prices").unwrap_or_default(), &plans)? {
        if let Some(p) = plans.iter_mut().find(|p| p.name == plan) {
            p.flat_price = Some(price);
        }
    }
    for (plan, prices) in per_plan("stripe_metered_prices", &get("stripe_metered_prices").unwrap_or_default(), &plans)? {
        if let Some(p) = plans.iter_mut().find(|p| p.name == plan) {
            p.metered_prices = prices.split('|').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        }
    }
    let limits_bad = |setting: &str| ConfigError(format!("plan_limits must be plan.limit=number|unlimited pairs (limits: apps, members, custom_domains, machine_hours, builds, bandwidth_gb, regions), got {setting:?}"));
    for (i, limit, value, setting) in plan_fields(&get("plan_limits").unwrap_or_default(), &plans, limits_bad)? {
        let bad = || limits_bad(setting);
        let value = match value {
            "unlimited" => None,
            n => Some(n.parse::<u64>().map_err(|_| bad())?),
        };
        let l = &mut plans[i].limits;
        *match limit {
            "apps" => &mut l.apps,
            "members" => &mut l.members,
            "custom_domains" => &mut l.custom_domains,
            "machine_hours" => &mut l.machine_hours,
            "builds" => &mut l.builds,
            "bandwidth_gb" => &mut l.bandwidth_gb,
            "regions" => &mut l.regions,
            _ => return Err(bad()),
        } = value;
    }
    let overage_bad = |setting: &str| ConfigError(format!("plan_overage must be plan.rate=cents pairs (rates: machine_hour_cents, build_cents, gb_cents), got {setting:?}"));
    for (i, rate, value, setting) in plan_fields(&get("plan_overage").unwrap_or_default(), &plans, overage_bad)? {
        let bad = || overage_bad(setting);
        let value = value.parse::<u64>().ok().filter(|v| *v <= 1_000_000).ok_or_else(bad)?;
        let o = &mut plans[i].overage;
        *match rate {
            "machine_hour_cents" => &mut o.machine_hour_cents,
            "build_cents" => &mut o.build_cents,
            "gb_cents" => &mut o.gb_cents,
            _ => return Err(bad()),
        } = value;
    }
    let mut meter_event_names = domain::billing::MeterNames::default();
    for setting in get("stripe_meter_event_names").unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || ConfigError(format!("stripe_meter_event_names must be meter=event_name pairs (meters: machine_seconds, bandwidth_bytes, builds; names of letters, digits and _), got {setting:?}"));
        let (meter, name) = setting.split_once('=').map(|(m, n)| (m.trim(), n.trim())).ok_or_else(bad)?;
        if name.is_empty() || name.len() > 100 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad());
        }
        *match meter {
            "machine_seconds" => &mut meter_event_names.machine_seconds,
            "bandwidth_bytes" => &mut meter_event_names.bandwidth_bytes,
            "builds" => &mut meter_event_names.builds,
            _ => return Err(bad()),
        } = name.to_string();
    }
    Ok(Some(BillingSettings {
        secret_key: secret_key.trim().to_string(),
        webhook_secret: get("stripe_webhook_secret").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()),
        api_url: api_url.trim_end_matches('/').to_string(),
        plans,
        grace: Duration::from_secs(grace_days.saturating_mul(86_400)),
        usage_report,
        meter_events_per_sec,
        meter_event_names,
    }))
}
