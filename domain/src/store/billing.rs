//! Each team's billing state (Stripe customer, plan, subscription, payment) and the Stripe events
//! already handled; the counts plan limits are checked against.

use sqlx::any::AnyRow;

use super::{get, now_ms, Store};
use crate::billing::BillingAccount;
use crate::error::Result;

const COLUMNS: &str = "team_id, customer_id, plan, subscription_id, subscription_status, subscription_at, payment_at, period_start, period_end, payment_failed_at";

fn row(r: &AnyRow) -> Result<BillingAccount> {
    Ok(BillingAccount {
        team_id: get(r, "team_id")?,
        customer_id: get(r, "customer_id")?,
        plan: get(r, "plan")?,
        subscription_id: get(r, "subscription_id")?,
        subscription_status: get(r, "subscription_status")?,
        subscription_at: get(r, "subscription_at")?,
        payment_at: get(r, "payment_at")?,
        period_start: get(r, "period_start")?,
        period_end: get(r, "period_end")?,
        payment_failed_at: get(r, "payment_failed_at")?,
    })
}

impl Store {
    /// Team `team_id`'s billing state (a team that never paid: on the free plan).
    pub async fn billing_account(&self, team_id: i64) -> Result<BillingAccount> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM billing_accounts WHERE team_id = $1")).bind(team_id).fetch_optional(self.pool()).await?;
        Ok(match r {
            Some(r) => row(&r)?,
            None => BillingAccount::free(team_id),
        })
    }

    pub async fn billing_account_by_customer(&self, customer_id: &str) -> Result<Option<BillingAccount>> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM billing_accounts WHERE customer_id = $1")).bind(customer_id).fetch_optional(self.pool()).await?;
        r.as_ref().map(row).transpose()
    }

    /// Stores the whole state (inserting the row on first use).
    pub async fn put_billing_account(&self, a: &BillingAccount) -> Result<()> {
        sqlx::query(
            "INSERT INTO billing_accounts (team_id, customer_id, plan, subscription_id, subscription_status, subscription_at, payment_at, period_start, period_end, payment_failed_at, updated_at, metered_since)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $2 IS NULL THEN NULL ELSE $11 END)
             ON CONFLICT (team_id) DO UPDATE SET customer_id = excluded.customer_id,
               metered_since = COALESCE(billing_accounts.metered_since, excluded.metered_since), plan = excluded.plan, subscription_id = excluded.subscription_id,
               subscription_status = excluded.subscription_status, subscription_at = excluded.subscription_at, payment_at = excluded.payment_at,
               period_start = excluded.period_start, period_end = excluded.period_end, payment_failed_at = excluded.payment_failed_at, updated_at = excluded.updated_at",
        )
        .bind(a.team_id)
        .bind(a.customer_id.as_deref())
        .bind(&a.plan)
        .bind(a.subscription_id.as_deref())
        .bind(a.subscription_status.as_deref())
        .bind(a.subscription_at)
        .bind(a.payment_at)
        .bind(a.period_start)
        .bind(a.period_end)
        .bind(a.payment_failed_at)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Team `team_id`'s spend cap (cents) and whether reaching it stops its running apps.
    pub async fn spend_cap(&self, team_id: i64) -> Result<(Option<i64>, bool)> {
        let r = sqlx::query("SELECT spend_cap_cents, stop_at_cap FROM billing_accounts WHERE team_id = $1").bind(team_id).fetch_optional(self.pool()).await?;
        Ok(match r {
            Some(r) => (get(&r, "spend_cap_cents")?, get::<i64>(&r, "stop_at_cap")? != 0),
            None => (None, false),
        })
    }

    /// Sets team `team_id`'s spend cap (the rest of its billing state untouched).
    pub async fn set_spend_cap(&self, team_id: i64, cap_cents: Option<i64>, stop_at_cap: bool) -> Result<()> {
        sqlx::query(
            "INSERT INTO billing_accounts (team_id, updated_at, spend_cap_cents, stop_at_cap) VALUES ($1, $2, $3, $4)
             ON CONFLICT (team_id) DO UPDATE SET spend_cap_cents = excluded.spend_cap_cents, stop_at_cap = excluded.stop_at_cap, updated_at = excluded.updated_at",
        )
        .bind(team_id)
        .bind(now_ms())
        .bind(cap_cents)
        .bind(i64::from(stop_at_cap))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records billing alert `alert` of team `team_id` for the period starting `period_start`; false
    /// if it was recorded (sent) before.
    pub async fn record_billing_alert(&self, team_id: i64, period_start: i64, alert: &str) -> Result<bool> {
        let done = sqlx::query("INSERT INTO billing_alerts (team_id, period_start, alert, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, period_start, alert) DO NOTHING")
            .bind(team_id)
            .bind(period_start)
            .bind(alert)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every team's id.
    pub async fn team_ids(&self) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT id FROM teams ORDER BY id").fetch_all(self.pool()).await?;
        rows.iter().map(|r| get(r, "id")).collect()
    }

    /// Whether Stripe event `id` was handled already.
    pub async fn stripe_event_seen(&self, id: &str) -> Result<bool> {
        Ok(sqlx::query("SELECT id FROM stripe_events WHERE id = $1").bind(id).fetch_optional(self.pool()).await?.is_some())
    }

    /// Records Stripe event `id` as handled (false if it already was).
    pub async fn record_stripe_event(&self, id: &str, kind: &str, created: i64) -> Result<bool> {
        let done = sqlx::query("INSERT INTO stripe_events (id, type, created, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(kind)
            .bind(created)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn count(&self, sql: &str, team_id: i64, since: Option<i64>) -> Result<u64> {
        let mut q = sqlx::query(sql).bind(team_id);
        if let Some(s) = since {
            q = q.bind(s);
        }
        let n: i64 = get(&q.fetch_one(self.pool()).await?, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    pub async fn count_team_apps(&self, team_id: i64) -> Result<u64> {
        self.count("SELECT COUNT(*) AS n FROM apps WHERE team_id = $1", team_id, None).await
    }

    /// Members plus invitations still open (each would become a member).
    pub async fn count_team_seats(&self, team_id: i64) -> Result<u64> {
        let members = self.count("SELECT COUNT(*) AS n FROM team_members WHERE team_id = $1", team_id, None).await?;
        let open = self.count("SELECT COUNT(*) AS n FROM invitations WHERE team_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2", team_id, Some(now_ms())).await?;
        Ok(members + open)
    }

    pub async fn count_team_domains(&self, team_id: i64) -> Result<u64> {
        self.count("SELECT COUNT(*) AS n FROM app_domains d JOIN apps a ON a.id = d.app_id WHERE a.team_id = $1", team_id, None).await
    }
}

/// A usage report sent (or to send) to a Stripe meter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReportRow {
    pub team_id: i64,
    pub meter: String,
    pub window_start: i64,
    pub window_end: i64,
    pub value: i64,
    pub identifier: String,
}

impl Store {
    /// Machine time (ms) team `team_id`'s instances ran before `t` (unix ms), all runs together.
    pub async fn machine_ms_before(&self, team_id: i64, t: i64) -> Result<i64> {
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN stopped_at IS NULL OR stopped_at > $2 THEN $2 ELSE stopped_at END - started_at), 0) AS BIGINT) AS n
             FROM machine_runs WHERE team_id = $1 AND started_at < $2",
        )
        .bind(team_id)
        .bind(t)
        .fetch_one(self.pool())
        .await?;
        get(&r, "n")
    }

    /// Milliseconds team `team_id`'s instances ran within `[from, to)` (unix ms), by size.
    pub async fn machine_ms_by_size(&self, team_id: i64, from: i64, to: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT size, CAST(COALESCE(SUM((CASE WHEN stopped_at IS NULL OR stopped_at > $3 THEN $3 ELSE stopped_at END)
                                          - (CASE WHEN started_at < $2 THEN $2 ELSE started_at END)), 0) AS BIGINT) AS ms
             FROM machine_runs WHERE team_id = $1 AND started_at < $3 AND (stopped_at IS NULL OR stopped_at > $2)
             GROUP BY size ORDER BY size",
        )
        .bind(team_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((get(r, "size")?, get(r, "ms")?))).collect()
    }

    /// Builds started by team `team_id` within `[from, to)` (unix ms) and their build time (ms).
    pub async fn builds_between(&self, team_id: i64, from: i64, to: i64) -> Result<(i64, i64)> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(d.build_ms), 0) AS BIGINT) AS ms FROM deployments d JOIN apps a ON a.id = d.app_id
             WHERE a.team_id = $1 AND d.kind = 'deploy' AND d.created_at >= $2 AND d.created_at < $3",
        )
        .bind(team_id)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?;
        Ok((get(&r, "n")?, get(&r, "ms")?))
    }

    /// Records `bytes` sent for app `slug` at `at` (unix ms); apps without a team are not metered.
    pub async fn record_bandwidth(&self, slug: &str, bytes: i64, at: i64) -> Result<()> {
        sqlx::query("INSERT INTO bandwidth_usage (team_id, app_id, at, bytes) SELECT team_id, id, $2, $3 FROM apps WHERE slug = $1 AND team_id IS NOT NULL")
            .bind(slug)
            .bind(at)
            .bind(bytes)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Bytes team `team_id`'s apps sent in flushes within `[from, to)` (unix ms).
    pub async fn bandwidth_between(&self, team_id: i64, from: i64, to: i64) -> Result<i64> {
        let r = sqlx::query("SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS n FROM bandwidth_usage WHERE team_id = $1 AND at >= $2 AND at < $3")
            .bind(team_id)
            .bind(from)
            .bind(to)
            .fetch_one(self.pool())
            .await?;
        get(&r, "n")
    }

    /// Teams with a Stripe customer: (team id, customer id, metered since (unix ms)).
    pub async fn billed_teams(&self) -> Result<Vec<(i64, String, i64)>> {
        let rows = sqlx::query("SELECT team_id, customer_id, COALESCE(metered_since, updated_at) AS since FROM billing_accounts WHERE customer_id IS NOT NULL ORDER BY team_id").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((get(r, "team_id")?, get(r, "customer_id")?, get(r, "since")?))).collect()
    }

    /// The end of the last window reported for `team_id`'s `meter` (unix ms).
    pub async fn last_reported(&self, team_id: i64, meter: &str) -> Result<Option<i64>> {
        let r = sqlx::query("SELECT MAX(window_end) AS n FROM usage_reports WHERE team_id = $1 AND meter = $2").bind(team_id).bind(meter).fetch_one(self.pool()).await?;
        get(&r, "n")
    }

    /// Records a report Stripe accepted (a second record of the same window changes nothing).
    pub async fn record_usage_report(&self, u: &UsageReportRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO usage_reports (team_id, meter, window_start, window_end, value, identifier, reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (team_id, meter, window_start) DO NOTHING",
        )
        .bind(u.team_id)
        .bind(&u.meter)
        .bind(u.window_start)
        .bind(u.window_end)
        .bind(u.value)
        .bind(&u.identifier)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// What was reported for `team_id`'s `meter` in windows starting within `[from, to)`.
    pub async fn reported_between(&self, team_id: i64, meter: &str, from: i64, to: i64) -> Result<i64> {
        let r = sqlx::query("SELECT CAST(COALESCE(SUM(value), 0) AS BIGINT) AS n FROM usage_reports WHERE team_id = $1 AND meter = $2 AND window_start >= $3 AND window_start < $4")
            .bind(team_id)
            .bind(meter)
            .bind(from)
            .bind(to)
            .fetch_one(self.pool())
            .await?;
        get(&r, "n")
    }
}
