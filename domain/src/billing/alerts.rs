//! What a team's owners are told without asking: a limit at 80 % and at 100 %, and the spend cap
//! reached — each once per billing period, recorded before it is sent (a restart never sends it
//! again), by email to the owners when a relay is configured (the billing page shows the same). A
//! team that opted in has its running apps stopped once its cap is reached.

use wire::billing::{Money, Threshold};
use wire::Role;

use super::BillingSettings;
use crate::error::Result;
use crate::mail::one_line;
use crate::teams::{AuditAction, NewAuditEntry};
use crate::Services;

/// The alert that stops a team's apps at its cap.
const STOP: &str = "cap.stop";

/// `Builds: 41 of 50 (80 %)`.
fn line(t: &Threshold) -> String {
    let what = wire::billing::limit_label(&t.limit);
    let state = if t.percent >= 100 { "reached" } else { "at 80 %" };
    format!("{what}: {} of {} ({state})", t.used, t.max)
}

/// `(subject, body)` of the email telling team `team`'s owners about `lines`.
pub(crate) fn alert_email(team: &str, lines: &[String], url: &str) -> (String, String) {
    let team = one_line(team);
    let subject = format!("Rhone: billing alert for team {team}");
    let items: String = lines.iter().map(|l| format!("- {}\n", one_line(l))).collect();
    let body = format!(
        "Hello,\n\
         \n\
         The team \"{team}\" on Rhone:\n\
         \n\
         {items}\n\
         See its usage, limits and plan on the billing page:\n\
         \n\
         {}\n",
        one_line(url)
    );
    (subject, body)
}

/// Whether the cap is reached: the period's projected charge at or over it.
pub(super) fn cap_reached(cap: Option<i64>, projected: &Money) -> bool {
    cap.is_some_and(|c| projected.cents >= c)
}

impl Services {
    /// Checks every team once: new thresholds and a reached cap are recorded, emailed to the owners,
    /// and (when the team opted in) the cap stops its running apps. Run by the usage report job.
    pub(crate) async fn billing_alerts(&self) -> Result<()> {
        let Some(b) = self.settings.billing.as_ref() else { return Ok(()) };
        for team_id in self.store.team_ids().await? {
            if let Err(e) = self.team_alerts(b, team_id).await {
                tracing::warn!(team.id = team_id, error = %e, "billing alerts could not be checked");
            }
        }
        Ok(())
    }

    async fn team_alerts(&self, b: &BillingSettings, team_id: i64) -> Result<()> {
        let account = self.store.billing_account(team_id).await?;
        let (plan, _, _) = self.effective(b, &account);
        let (period_start, _) = Self::period(&account);
        let usage = self.usage(team_id, period_start).await?;
        let mut due: Vec<(String, String)> = super::thresholds(&plan.limits, &usage).iter().map(|t| (format!("{}:{}", t.limit, t.percent), line(t))).collect();
        let (cap, stop) = self.store.spend_cap(team_id).await?;
        if cap.is_some() {
            let projected = self.projection(b, plan, &usage).await;
            if cap_reached(cap, &projected.total) {
                let cap = Money { cents: cap.unwrap_or_default(), currency: projected.total.currency.clone() };
                due.push(("cap".into(), format!("Spend cap reached: {} projected this period, cap {}: new deploys are refused", projected.total.shown(), cap.shown())));
                // its own alert: a team that opts in after the cap was reached is stopped then
                if stop {
                    due.push((STOP.into(), "Its running apps were stopped, as chosen for the cap".into()));
                }
            }
        }
        let mut new = Vec::new();
        for (key, text) in due {
            // recorded first: an alert is sent at most once, even if this process dies right after
            if self.store.record_billing_alert(team_id, period_start, &key).await? {
                if key == STOP {
                    self.stop_team_apps(team_id).await?;
                }
                new.push(text);
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let team = self.store.team_by_id(team_id).await?;
        tracing::info!(team.slug = %team.slug, alerts = ?new, "billing alerts");
        let Some(mailer) = &self.mailer else { return Ok(()) };
        let url = format!("{}/t/{}/billing", self.links().dashboard, team.slug);
        let (subject, body) = alert_email(&team.name, &new, &url);
        for owner in self.store.members(team_id).await?.into_iter().filter(|m| m.role == Role::Owner) {
            if let Err(e) = mailer.send(&owner.email, &subject, &body).await {
                tracing::warn!(team.slug = %team.slug, error = %e, relay = %mailer.relay(), "a billing alert email could not be sent");
            }
        }
        Ok(())
    }

    /// Stops each running app of team `team_id` (its cap reached, and it opted in), in its audit log.
    async fn stop_team_apps(&self, team_id: i64) -> Result<()> {
        for app in self.store.list_apps().await?.into_iter().filter(|a| a.team_id == team_id && a.stopped_at.is_none()) {
            if self.halt_app(&app).await? {
                let entry = NewAuditEntry {
                    user_id: None,
                    actor: "billing".into(),
                    token_id: None,
                    action: AuditAction::AppStop,
                    target: app.slug.clone(),
                    detail: "the team's spend cap was reached".into(),
                    ip: None,
                };
                self.record(&[team_id], entry).await;
                tracing::warn!(app.slug = %app.slug, "app stopped: its team's spend cap was reached");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_names_each_alert_on_a_line_of_its_own() {
        let lines = vec![line(&Threshold { limit: "builds".into(), used: 41, max: 50, percent: 80 }), "Spend cap\r\nBcc: x@example.com".to_string()];
        let (subject, body) = alert_email("Acme\nBcc: evil@example.com", &lines, "https://rhone.example.com/t/acme/billing");
        assert!(!subject.contains('\n') && subject.contains("Acme Bcc"), "{subject}");
        assert!(body.contains("- Builds: 41 of 50 (at 80 %)\n"), "{body}");
        assert!(body.contains("- Spend cap Bcc: x@example.com\n"), "no line of its own: {body}");
        assert!(body.contains("https://rhone.example.com/t/acme/billing"), "{body}");
    }

    #[test]
    fn the_cap_is_reached_at_the_cap() {
        let m = |cents| Money { cents, currency: "usd".into() };
        assert!(!cap_reached(None, &m(1_000_000)));
        assert!(!cap_reached(Some(5000), &m(4999)));
        assert!(cap_reached(Some(5000), &m(5000)));
    }
}
