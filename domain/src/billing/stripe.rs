//! The calls Rhone makes to Stripe, through async-stripe (its base URL configurable: tests point it
//! at a stand-in speaking the same endpoints).

use std::collections::HashMap;

use stripe_checkout::checkout_session::{CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData};
use stripe_checkout::CheckoutSessionMode;

use stripe_client_core::{RequestBuilder, RequestStrategy, StripeMethod, StripeRequest};
use wire::billing::{Invoice, Money};

use super::BillingSettings;
use crate::error::{Error, Result};

pub(super) struct Stripe {
    client: stripe::Client,
}

/// A client for the configured Stripe API.
pub(super) fn client(b: &BillingSettings) -> Result<Stripe> {
    // rustls has two crypto providers linked in here; async-stripe's connector takes the default one
    let _ = rustls::crypto::ring::default_provider().install_default();
    // async-stripe joins its base and `v1/…` without a separator
    let base = format!("{}/", b.api_url.trim_end_matches('/'));
    let client = stripe::ClientBuilder::new(b.secret_key.clone()).url(base).build().map_err(|e| Error::internal("stripe client", e))?;
    Ok(Stripe { client })
}

/// A Stripe failure in words a user may read (never the key).
fn refused(e: stripe::StripeError) -> Error {
    match e {
        stripe::StripeError::Stripe(api, status) => {
            let why = api.message.clone().unwrap_or_else(|| "no message".into());
            Error::Conflict(format!("Stripe refused ({status}): {}", why.chars().filter(|c| !c.is_control()).take(300).collect::<String>()))
        }
        stripe::StripeError::ClientError(_) | stripe::StripeError::Timeout => Error::Conflict("Stripe could not be reached; try again in a minute".into()),
        other => Error::internal("stripe", other),
    }
}

impl Stripe {
    /// A customer for team `team_id` (named after it, its id in the metadata).
    pub(super) async fn create_customer(&self, team_id: i64, slug: &str, name: &str, email: &str) -> Result<String> {
        let metadata = HashMap::from([("rhone_team".to_string(), team_id.to_string()), ("rhone_team_slug".to_string(), slug.to_string())]);
        let c = stripe_core::customer::CreateCustomer::new().name(name).email(email).metadata(metadata).send(&self.client).await.map_err(refused)?;
        Ok(c.id.to_string())
    }

    /// A Checkout session subscribing `customer` to `price` (and the plan's metered prices); the
    /// session names the team in `client_reference_id` and `metadata[rhone_team]`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn checkout(&self, customer: &str, price: &str, metered: &[String], team_id: i64, plan: &str, success: &str, cancel: &str) -> Result<String> {
        let mut items = Vec::new();
        let mut flat = CreateCheckoutSessionLineItems::new();
        flat.price = Some(price.to_string());
        flat.quantity = Some(1);
        items.push(flat);
        for m in metered {
            // metered prices take no quantity
            let mut item = CreateCheckoutSessionLineItems::new();
            item.price = Some(m.clone());
            items.push(item);
        }
        let metadata = HashMap::from([("rhone_team".to_string(), team_id.to_string()), ("rhone_plan".to_string(), plan.to_string())]);
        let mut subscription = CreateCheckoutSessionSubscriptionData::new();
        subscription.metadata = Some(metadata.clone());
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(customer)
            .line_items(items)
            .client_reference_id(team_id.to_string())
            .metadata(metadata)
            .subscription_data(subscription)
            .success_url(success)
            .cancel_url(cancel)
            .send(&self.client)
            .await
            .map_err(refused)?;
        session.url.ok_or_else(|| Error::Conflict("Stripe made a Checkout session without a URL".into()))
    }

    /// One meter event: `value` of `meter` used by `customer`, identified so Stripe counts it once;
    /// retried after 1, 2 and 4 s when Stripe says so (429, 5xx, `Stripe-Should-Retry`).
    pub(super) async fn meter_event(&self, meter: &str, customer: &str, value: i64, identifier: &str, timestamp: i64) -> Result<()> {
        let payload = HashMap::from([("stripe_customer_id".to_string(), customer.to_string()), ("value".to_string(), value.to_string())]);
        stripe_billing::billing_meter_event::CreateBillingMeterEvent::new(meter, payload)
            .identifier(identifier)
            .timestamp(timestamp)
            .customize()
            .request_strategy(RequestStrategy::ExponentialBackoff(4))
            .send(&self.client)
            .await
            .map_err(refused)?;
        Ok(())
    }

    /// A price's amount per period (its currency's smallest unit).
    pub(super) async fn price(&self, id: &str) -> Result<Money> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Error::Conflict(format!("{id:?} is not a Stripe price id")));
        }
        let p: stripe_shared::Price = RequestBuilder::new(StripeMethod::Get, format!("/prices/{id}")).customize().send(&self.client).await.map_err(refused)?;
        let cents = p.unit_amount.ok_or_else(|| Error::Conflict(format!("price {id} has no fixed amount")))?;
        Ok(Money { cents, currency: p.currency.to_string() })
    }

    /// `customer`'s latest invoices, newest first.
    pub(super) async fn invoices(&self, customer: &str) -> Result<Vec<Invoice>> {
        let list = stripe_billing::invoice::ListInvoice::new().customer(customer).limit(24).send(&self.client).await.map_err(refused)?;
        Ok(list
            .data
            .into_iter()
            .map(|i| Invoice {
                id: i.id.map(|id| id.to_string()).unwrap_or_default(),
                number: i.number,
                status: i.status.map_or_else(|| "draft".to_string(), |s| s.as_str().to_string()),
                amount_due: Money { cents: i.amount_due, currency: i.currency.to_string() },
                amount_paid: i.amount_paid,
                created: i.created,
                url: i.hosted_invoice_url.filter(|u| u.starts_with("https://") || u.starts_with("http://")),
            })
            .collect())
    }

    /// A Billing Portal session opening on the plan change of `subscription` (one subscription,
    /// changed and prorated by Stripe), coming back to `back`.
    pub(super) async fn portal_plan_change(&self, customer: &str, subscription: &str, back: &str) -> Result<String> {
        use stripe_billing::billing_portal_session::{CreateBillingPortalSessionFlowData, CreateBillingPortalSessionFlowDataSubscriptionUpdate, CreateBillingPortalSessionFlowDataType};
        let mut flow = CreateBillingPortalSessionFlowData::new(CreateBillingPortalSessionFlowDataType::SubscriptionUpdate);
        flow.subscription_update = Some(CreateBillingPortalSessionFlowDataSubscriptionUpdate::new(subscription));
        let s = stripe_billing::billing_portal_session::CreateBillingPortalSession::new().customer(customer).return_url(back).flow_data(flow).send(&self.client).await.map_err(refused)?;
        Ok(s.url)
    }

    /// A Billing Portal session for `customer`, coming back to `back`.
    pub(super) async fn portal(&self, customer: &str, back: &str) -> Result<String> {
        let s = stripe_billing::billing_portal_session::CreateBillingPortalSession::new().customer(customer).return_url(back).send(&self.client).await.map_err(refused)?;
        Ok(s.url)
    }
}
