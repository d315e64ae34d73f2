//! `POST /api/v1/webhooks/stripe`: the signature (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 of
//! `{t}.{body}` under the endpoint's secret, any `v1` may match, `t` within 300 s) is checked
//! before anything is parsed; each event id is handled once; events may arrive twice or out of
//! order, so a team's subscription and payment state only move forward in each event's `created`.

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use super::{BillingAccount, BillingSettings};
use crate::error::Error;
use crate::store::now_ms;
use crate::Services;

/// How far a signature's timestamp may be from now.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum StripeReply {
    /// Applied (or older than what the team's state already reflects).
    Handled { event: String },
    /// This event id was handled before.
    Duplicate { event: String },
    /// An event type Rhone does not act on, or about no team of this installation.
    Ignored { event: String, why: String },
}

#[derive(Debug)]
pub enum StripeWebhookError {
    NotConfigured,
    BadSignature,
    Malformed(String),
    Internal,
}

/// Whether `header` signs `body` under `secret` at `now` (unix s).
pub fn verify_signature(header: &str, body: &[u8], secret: &str, now: i64) -> bool {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > TOLERANCE_SECS {
        return false;
    }
    signatures.iter().any(|sig| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(sig).is_ok()
    })
}

/// The `Stripe-Signature` header Stripe sends for `body` at `t` (unix s) under `secret`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str)
}

/// An id field that may be expanded into an object (`"cus_1"` or `{"id": "cus_1", …}`).
fn id_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    match v.get(key)? {
        Value::String(s) => Some(s),
        o => o.get("id").and_then(Value::as_str),
    }
}

impl Services {
    pub async fn stripe_webhook(&self, signature: Option<&str>, body: &[u8]) -> Result<StripeReply, StripeWebhookError> {
        let b = self.settings.billing.as_ref().ok_or(StripeWebhookError::NotConfigured)?;
        let secret = b.webhook_secret.as_deref().ok_or(StripeWebhookError::NotConfigured)?;
        if !signature.is_some_and(|s| verify_signature(s, body, secret, now_ms() / 1000)) {
            return Err(StripeWebhookError::BadSignature);
        }
        let event: Value = serde_json::from_slice(body).map_err(|e| StripeWebhookError::Malformed(format!("the body is not JSON: {e}")))?;
        let (Some(id), Some(kind), Some(created)) = (event["id"].as_str(), event["type"].as_str(), event["created"].as_i64()) else {
            return Err(StripeWebhookError::Malformed("an event needs id, type and created".into()));
        };
        let internal = |e: Error| {
            tracing::error!(event = id, error = %e, "a Stripe event could not be handled");
            StripeWebhookError::Internal
        };
        if self.store.stripe_event_seen(id).await.map_err(internal)? {
            return Ok(StripeReply::Duplicate { event: id.into() });
        }
        let object = &event["data"]["object"];
        let outcome = match kind {
            "checkout.session.completed" => self.checkout_completed(b, object, created).await,
            "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => self.subscription_changed(b, kind, object, created).await,
            "invoice.paid" | "invoice.payment_succeeded" => self.payment_state(object, created, None).await,
            "invoice.payment_failed" => self.payment_state(object, created, Some(created)).await,
            _ => Ok(Some(format!("Rhone does not act on {kind}"))),
        };
        let ignored = outcome.map_err(internal)?;
        // recorded once applied: a crash before this makes Stripe deliver it again, and applying it
        // twice changes nothing (each state only moves forward in `created`)
        self.store.record_stripe_event(id, kind, created).await.map_err(internal)?;
        Ok(match ignored {
            None => {
                tracing::info!(event = id, kind, "Stripe event applied");
                StripeReply::Handled { event: id.into() }
            }
            Some(why) => StripeReply::Ignored { event: id.into(), why },
        })
    }

    /// The team a Stripe object is about: by its customer (linked at checkout), else by the team
    /// id the session or subscription carries.
    async fn account_for(&self, object: &Value) -> crate::error::Result<Option<BillingAccount>> {
        if let Some(customer) = id_at(object, "customer") {
            if let Some(a) = self.store.billing_account_by_customer(customer).await? {
                return Ok(Some(a));
            }
        }
        let team = object["client_reference_id"].as_str().or_else(|| str_at(object, &["metadata", "rhone_team"])).and_then(|t| t.parse::<i64>().ok());
        let Some(team) = team else { return Ok(None) };
        if self.store.team_by_id(team).await.is_err() {
            return Ok(None);
        }
        let mut account = self.store.billing_account(team).await?;
        if account.customer_id.is_none() {
            account.customer_id = id_at(object, "customer").map(str::to_string);
        }
        Ok(Some(account))
    }

    async fn checkout_completed(&self, b: &BillingSettings, session: &Value, created: i64) -> crate::error::Result<Option<String>> {
        let Some(mut account) = self.account_for(session).await? else { return Ok(Some("the session names no team of this installation".into())) };
        if created >= account.subscription_at {
            if let Some(plan) = str_at(session, &["metadata", "rhone_plan"]).and_then(|p| b.plan(p)) {
                account.plan = plan.name.clone();
            }
            account.subscription_id = id_at(session, "subscription").map(str::to_string).or(account.subscription_id);
            account.subscription_status = Some("active".into());
            account.subscription_at = created;
        }
        self.store.put_billing_account(&account).await?;
        Ok(None)
    }

    async fn subscription_changed(&self, b: &BillingSettings, kind: &str, sub: &Value, created: i64) -> crate::error::Result<Option<String>> {
        let Some(mut account) = self.account_for(sub).await? else { return Ok(Some("the subscription is about no team of this installation".into())) };
        if created < account.subscription_at {
            // an older state than the one applied: nothing to do
            return Ok(None);
        }
        let items = sub["items"]["data"].as_array().cloned().unwrap_or_default();
        let prices: Vec<&str> = items.iter().filter_map(|i| i["price"]["id"].as_str().or_else(|| i["plan"]["id"].as_str())).collect();
        let status = sub["status"].as_str().unwrap_or("active");
        account.plan = if kind.ends_with(".deleted") {
            "free".into()
        } else {
            b.plan_of_prices(prices.iter().copied()).map_or_else(|| account.plan.clone(), |p| p.name.clone())
        };
        account.subscription_id = sub["id"].as_str().map(str::to_string);
        account.subscription_status = Some(if kind.ends_with(".deleted") { "canceled" } else { status }.to_string());
        let period = |k: &str| sub[k].as_i64().or_else(|| items.first().and_then(|i| i[k].as_i64()));
        account.period_start = period("current_period_start");
        account.period_end = period("current_period_end");
        account.subscription_at = created;
        self.store.put_billing_account(&account).await?;
        Ok(None)
    }

    /// `failed`: when a payment failed; `None`: an invoice was paid.
    async fn payment_state(&self, invoice: &Value, created: i64, failed: Option<i64>) -> crate::error::Result<Option<String>> {
        let Some(mut account) = self.account_for(invoice).await? else { return Ok(Some("the invoice is about no team of this installation".into())) };
        if created < account.payment_at {
            return Ok(None);
        }
        account.payment_failed_at = match failed {
            // the first failure starts the grace period; later ones do not extend it
            Some(at) => Some(account.payment_failed_at.unwrap_or(at)),
            None => None,
        };
        account.payment_at = created;
        self.store.put_billing_account(&account).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::verify_signature;

    /// The test vector of `server/tests/fixtures/stripe/` (from the shared fixtures; async-stripe's tests).
    const BODY: &[u8] = include_bytes!("../../../server/tests/fixtures/stripe/signature-vector.body.json");
    const V1: &str = "d7373bc68f4bd320b253cd7461f87af6e1cdf1b4d7db1614d8d1d746972d2d0a";

    #[test]
    fn what_sign_makes_verifies() {
        assert_eq!(super::sign("secret", 1_533_204_620, BODY), format!("t=1533204620,v1={V1}"));
    }

    #[test]
    fn the_reference_vector_verifies_and_nothing_else_does() {
        let t = 1_533_204_620;
        let header = format!("t={t},v1={V1}");
        assert!(verify_signature(&header, BODY, "secret", t));
        assert!(verify_signature(&format!("t={t},v1=00ff,v1={V1}"), BODY, "secret", t + 299), "any v1 may match");
        assert!(!verify_signature(&header, BODY, "secret", t + 301), "too old");
        assert!(!verify_signature(&header, BODY, "secret", t - 301), "from the future");
        assert!(!verify_signature(&header, BODY, "other", t), "another secret");
        let mut changed = BODY.to_vec();
        changed[10] ^= 1;
        assert!(!verify_signature(&header, &changed, "secret", t), "another body");
        assert!(!verify_signature(&format!("t={},v1={V1}", t + 1), BODY, "secret", t), "another timestamp");
        assert!(!verify_signature(&format!("v1={V1}"), BODY, "secret", t), "no timestamp");
        assert!(!verify_signature(&format!("t={t},v0={V1}"), BODY, "secret", t), "only v1 counts");
        assert!(!verify_signature("", BODY, "secret", t));
    }
}
