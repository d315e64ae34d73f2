//! Metering and reporting: what each team used, measured by Rhone (machine time from each
//! instance's start and stop, builds from deployments), reported to Stripe's billing meters by a
//! periodic job in closed windows of `usage_report_secs`. Each report carries a deterministic
//! identifier (team, meter, window), so a retried or repeated report is never counted twice, and
//! is recorded once Stripe accepted it; `GET /teams/{team}/billing/usage` puts what was measured
//! next to what was reported.

use serde::{Deserialize, Serialize};
use wire::billing::MeterUsage;

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::policy::Action;
use crate::store::billing::UsageReportRow;
use crate::store::now_ms;
use crate::Services;

/// Stripe's limit on how old a meter event may be.
const MAX_AGE_MS: i64 = 35 * 24 * 3600 * 1000;

/// The meters Rhone reports, by their event names (the values are in exactly these units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meter {
    MachineSeconds,
    BandwidthBytes,
    Builds,
}

impl Meter {
    pub const ALL: [Meter; 3] = [Meter::MachineSeconds, Meter::BandwidthBytes, Meter::Builds];

    pub fn event_name(self) -> &'static str {
        match self {
            Meter::MachineSeconds => "rhone_machine_seconds",
            Meter::BandwidthBytes => "rhone_bandwidth_bytes",
            Meter::Builds => "rhone_builds",
        }
    }
}

impl Services {
    /// `meter`'s usage by team `team_id` in `[from, to)` (unix ms). Machine seconds are whole
    /// seconds of the running total, so consecutive ranges add up exactly to the whole.
    pub(crate) async fn measured(&self, team_id: i64, meter: Meter, from: i64, to: i64) -> Result<i64> {
        Ok(match meter {
            Meter::MachineSeconds => self.store.machine_ms_before(team_id, to).await? / 1000 - self.store.machine_ms_before(team_id, from).await? / 1000,
            Meter::BandwidthBytes => self.store.bandwidth_between(team_id, from, to).await?,
            Meter::Builds => self.store.builds_between(team_id, from, to).await?.0,
        })
    }

    /// Writes the proxy's byte counts (one row per app that sent any) while billing is on; a
    /// count that cannot be stored is put back for the next flush. Called by every scheduler tick
    /// and at shutdown.
    pub async fn flush_bandwidth(&self) {
        let taken = self.routes.take_sent();
        if self.settings.billing.is_none() {
            return;
        }
        let now = now_ms();
        for (slug, bytes) in taken {
            if let Err(e) = self.store.record_bandwidth(&slug, i64::try_from(bytes).unwrap_or(i64::MAX), now).await {
                tracing::warn!(app.slug = %slug, error = %e, "bandwidth could not be recorded; kept for the next flush");
                self.routes.return_sent(&slug, bytes);
            }
        }
    }

    /// Reports every closed window not yet reported, for every team with a Stripe customer.
    pub(crate) async fn report_usage(&self) -> Result<()> {
        let Some(b) = self.settings.billing.as_ref() else { return Ok(()) };
        let window = i64::try_from(b.usage_report.as_millis()).unwrap_or(3_600_000).max(1000);
        let now = now_ms();
        let closed = now / window * window;
        let mut stripe = None;
        let gap = std::time::Duration::from_secs(1) / b.meter_events_per_sec.max(1);
        for (team, customer, since) in self.store.billed_teams().await? {
            for meter in Meter::ALL {
                // a team reported before goes on from there; a new one from the window in which it
                // got its Stripe customer
                let first = since / window * window;
                let mut start = self.store.last_reported(team, meter.event_name()).await?.unwrap_or(first).max(closed / window * window - MAX_AGE_MS / window * window);
                while start + window <= closed {
                    let end = start + window;
                    let value = self.measured(team, meter, start, end).await?;
                    let row = UsageReportRow { team_id: team, meter: meter.event_name().into(), window_start: start, window_end: end, value, identifier: format!("rhone-{team}-{}-{start}", meter.event_name()) };
                    if value > 0 {
                        if stripe.is_none() {
                            stripe = Some(super::stripe::client(b)?);
                        }
                        if let Some(client) = &stripe {
                            self.meter_pace.wait(gap).await;
                            client.meter_event(b.meter_event_names.of(meter), &customer, value, &row.identifier, end / 1000 - 1).await?;
                        }
                    }
                    self.store.record_usage_report(&row).await?;
                    start = end;
                }
            }
        }
        Ok(())
    }

    /// Team `slug`'s usage per meter in `[from, to)` (unix s; default: the billing period so far):
    /// measured next to reported (its members).
    pub async fn team_usage(&self, actor: &Actor, slug: &str, from: Option<i64>, to: Option<i64>) -> Result<Vec<MeterUsage>> {
        let (team, _) = self.team_for(actor, slug, Action::ReadTeam).await?;
        let account = self.store.billing_account(team.id).await?;
        let (period_start, _) = Self::period(&account);
        let (from, to) = (from.unwrap_or(period_start).saturating_mul(1000), to.map_or_else(now_ms, |t| t.saturating_mul(1000)));
        if to < from {
            return Err(Error::invalid("to", "must not be before from"));
        }
        self.meters_between(team.id, from, to).await
    }

    /// Measured next to reported per meter in `[from, to)` (unix ms).
    pub(crate) async fn meters_between(&self, team_id: i64, from: i64, to: i64) -> Result<Vec<MeterUsage>> {
        let mut out = Vec::new();
        for meter in Meter::ALL {
            out.push(MeterUsage {
                meter: meter.event_name().into(),
                measured: self.measured(team_id, meter, from, to).await?,
                reported: self.store.reported_between(team_id, meter.event_name(), from, to).await?,
            });
        }
        Ok(out)
    }
}

/// Paces meter events: each starts at least a gap after the previous one, whichever report sent
/// it (within Stripe's rate limit).
#[derive(Clone, Default)]
pub(crate) struct Pace(std::sync::Arc<tokio::sync::Mutex<Option<tokio::time::Instant>>>);

impl Pace {
    async fn wait(&self, gap: std::time::Duration) {
        let mut next = self.0.lock().await;
        let now = tokio::time::Instant::now();
        let at = next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        *next = Some(at + gap);
    }
}

/// Reports usage to Stripe's meters (periodic, every `usage_report_secs`, while billing is on).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UsageReport {}

impl Job for UsageReport {
    const KIND: &'static str = "usage_report";
    const MAX_ATTEMPTS: i64 = 5;

    async fn run(&self, s: &Services) -> Result<()> {
        s.billing_alerts().await?;
        s.report_usage().await
    }
}
