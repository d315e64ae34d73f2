//! Billing against the Stripe stand-in (`stripe_stub.rs`) and signed webhook events built on
//! Stripe's example objects: plan limits refused with 402 and a message, Checkout with a customer
//! made once, the webhook's signature, replays and out-of-order events, and a failed payment's
//! grace period, restriction and restoration.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};
use crate::stripe_stub::{checkout_completed, event, object, StripeStub, SECRET_KEY};

const WEBHOOK_SECRET: &str = "whsec_test_rhone";

async fn billed(stub: &StripeStub, grace_days: &str) -> TestApp {
    spawn_app_with(&[
        ("RHONE_STRIPE_SECRET_KEY", SECRET_KEY),
        ("RHONE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("RHONE_STRIPE_API_URL", &stub.url),
        ("RHONE_STRIPE_PRICES", "starter=price_starter,pro=price_pro"),
        ("RHONE_BILLING_GRACE_DAYS", grace_days),
    ])
    .await
}

/// The test user's own team and its id.
async fn own_team(app: &TestApp) -> (String, i64) {
    let teams = app.get("/teams").await.1;
    (teams[0]["slug"].as_str().unwrap().to_string(), teams[0]["id"].as_i64().unwrap())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn deliver(app: &TestApp, body: &str, signature: Option<String>) -> (StatusCode, Value) {
    let mut req = app.anon(Method::POST, "/api/v1/webhooks/stripe").header("content-type", "application/json").body(body.to_string());
    if let Some(s) = signature {
        req = req.header("Stripe-Signature", s);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn signed(app: &TestApp, body: &str) -> (StatusCode, Value) {
    deliver(app, body, Some(domain::billing::sign(WEBHOOK_SECRET, now(), body.as_bytes()))).await
}

fn subscription(customer: &str, price: &str, status: &str) -> Value {
    let mut s = object("subscription");
    s["id"] = json!("sub_test_1");
    s["customer"] = json!(customer);
    s["status"] = json!(status);
    s["items"] = json!({"object": "list", "data": [{"id": "si_1", "price": {"id": price}, "current_period_start": 1_764_547_200, "current_period_end": 1_767_225_600}]});
    s
}

async fn new_app(app: &TestApp, name: &str) -> (StatusCode, Value) {
    app.json(Method::POST, "/apps", json!({"name": name, "repo_url": "/nonexistent"})).await
}

#[tokio::test]
async fn limits_are_refused_with_402_until_a_paid_plan_lifts_them() {
    let stub = StripeStub::start().await;
    let app = billed(&stub, "7").await;
    let (team, team_id) = own_team(&app).await;
    let (status, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((status, b["enabled"].as_bool(), b["plan"].as_str(), b["limits"]["apps"].as_u64()), (StatusCode::OK, Some(true), Some("free"), Some(3)), "{b}");

    // the free plan: three apps, no custom domain, one member
    for n in 1..=3 {
        assert_eq!(new_app(&app, &format!("app{n}")).await.0, StatusCode::CREATED);
    }
    let (status, e) = new_app(&app, "app4").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    let msg = e["error"].as_str().unwrap();
    assert!(msg.contains("the free plan allows 3 apps") && msg.contains(&format!("team {team} has 3")) && msg.contains(&format!("/t/{team}/billing")), "{msg}");
    let (status, e) = app.json(Method::POST, "/apps/app1/domains", json!({"domain": "shop.example.com"})).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    assert!(e["error"].as_str().unwrap().contains("allows 0 custom domains"), "{e}");
    let (status, e) = app.json(Method::POST, &format!("/teams/{team}/invitations"), json!({"email": "friend@example.com", "role": "member"})).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    assert!(e["error"].as_str().unwrap().contains("allows 1 team members"), "{e}");
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    let nothing_run = json!({"apps": 3, "members": 1, "custom_domains": 0, "builds": 0, "build_seconds": 0, "machine_seconds": 0, "bandwidth_bytes": 0, "regions": 1, "machine_by_size": []});
    assert_eq!(b["usage"], nothing_run, "refusals leave nothing behind");
    // at the apps limit (3 of 3), past 80 % of none else; nothing to pay on Free
    assert_eq!(b["thresholds"], json!([{"limit": "apps", "used": 3, "max": 3, "percent": 100}]), "{b}");
    assert_eq!(b["projected"], json!({"lines": [], "total": {"cents": 0, "currency": "usd"}, "note": null}), "{b}");
    assert_eq!(app.get(&format!("/teams/{team}/billing/invoices")).await.1, json!([]), "no customer, no invoices");

    // Checkout: a customer made once for the team, the session naming the team and the plan
    let (status, c) = app.json(Method::POST, &format!("/teams/{team}/billing/checkout"), json!({"plan": "starter"})).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert!(c["url"].as_str().unwrap().starts_with(&format!("{}/pay/cs_test_", stub.url)), "{c}");
    let (status, _) = app.json(Method::POST, &format!("/teams/{team}/billing/checkout"), json!({"plan": "pro"})).await;
    assert_eq!(status, StatusCode::OK);
    let customers = stub.calls("/v1/customers");
    assert_eq!(customers.len(), 1, "the customer is made once and reused");
    assert_eq!(customers[0].method, "POST");
    assert_eq!(customers[0].form.get("metadata[rhone_team]"), Some(&team_id.to_string()));
    let sessions = stub.calls("/v1/checkout/sessions");
    let s = &sessions[0].form;
    let customer = "cus_test1";
    for (k, v) in [("mode", "subscription"), ("customer", customer), ("client_reference_id", &team_id.to_string()), ("metadata[rhone_team]", &team_id.to_string()), ("metadata[rhone_plan]", "starter"), ("line_items[0][price]", "price_starter"), ("line_items[0][quantity]", "1")] {
        assert_eq!(s.get(k).map(String::as_str), Some(v), "{k} in {s:?}");
    }
    assert!(s["success_url"].ends_with(&format!("/t/{team}/billing?checkout=done")), "{s:?}");
    assert_eq!(sessions[1].form.get("line_items[0][price]").map(String::as_str), Some("price_pro"));
    for (plan, why) in [("free", "cannot be bought"), ("gold", "is not a plan here")] {
        let (status, e) = app.json(Method::POST, &format!("/teams/{team}/billing/checkout"), json!({"plan": plan})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert!(e["error"].as_str().unwrap().contains(why), "{e}");
    }

    // the webhook: unsigned, forged or stale deliveries change nothing
    let paid = event("evt_checkout_1", "checkout.session.completed", now(), checkout_completed(team_id, customer, "starter"));
    assert_eq!(deliver(&app, &paid, None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(deliver(&app, &paid, Some(domain::billing::sign("whsec_wrong", now(), paid.as_bytes()))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(deliver(&app, &paid, Some(domain::billing::sign(WEBHOOK_SECRET, now() - 301, paid.as_bytes()))).await.0, StatusCode::BAD_REQUEST);
    let tampered = paid.replace("starter", "pro");
    assert_eq!(deliver(&app, &tampered, Some(domain::billing::sign(WEBHOOK_SECRET, now(), paid.as_bytes()))).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&format!("/teams/{team}/billing")).await.1["plan"], "free");

    // signed: the team is on Starter, and the fourth app is allowed
    let (status, r) = signed(&app, &paid).await;
    assert_eq!((status, r["result"].as_str()), (StatusCode::OK, Some("handled")), "{r}");
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["plan"].as_str(), b["limits"]["apps"].as_u64(), b["subscription_status"].as_str()), (Some("starter"), Some(10), Some("active")), "{b}");
    assert_eq!(new_app(&app, "app4").await.0, StatusCode::CREATED);
    // its price from Stripe in the projection; its invoices from Stripe
    assert_eq!(b["projected"]["lines"], json!([{"what": "starter plan", "quantity": 1, "amount": {"cents": 2000, "currency": "usd"}}]), "{b}");
    assert_eq!(stub.calls("/v1/prices/price_starter").len(), 1);
    let _ = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!(stub.calls("/v1/prices/price_starter").len(), 1, "the price is read once, then kept");
    let (status, inv) = app.get(&format!("/teams/{team}/billing/invoices")).await;
    assert_eq!(status, StatusCode::OK, "{inv}");
    assert_eq!((inv[0]["number"].as_str(), inv[0]["status"].as_str(), &inv[0]["amount_due"]), (Some("RHONE-0001"), Some("paid"), &json!({"cents": 1000, "currency": "usd"})), "{inv}");
    assert_eq!(stub.calls("/v1/invoices")[0].form.get("customer").map(String::as_str), Some(customer), "this team's invoices only");
    // subscribed: another plan is chosen in the Billing Portal, on the same subscription
    let (status, c) = app.json(Method::POST, &format!("/teams/{team}/billing/checkout"), json!({"plan": "pro"})).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert!(c["url"].as_str().unwrap().starts_with(&format!("{}/portal/bps_test_", stub.url)), "{c}");
    let change = &stub.calls("/v1/billing_portal/sessions")[0].form;
    assert_eq!((change.get("flow_data[type]").map(String::as_str), change.get("flow_data[subscription_update][subscription]").map(String::as_str)), (Some("subscription_update"), Some("sub_test_1")), "{change:?}");
    assert_eq!(stub.calls("/v1/checkout/sessions").len(), 2, "no second subscription");
    let (status, e) = app.json(Method::POST, &format!("/teams/{team}/billing/checkout"), json!({"plan": "starter"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    // the same event again: recognized, nothing applied twice
    let (status, r) = signed(&app, &paid).await;
    assert_eq!((status, r["result"].as_str()), (StatusCode::OK, Some("duplicate")), "{r}");

    // out of order: the newer update (Pro) wins over an older one arriving after it
    let t = now();
    let newer = event("evt_sub_2", "customer.subscription.updated", t + 20, subscription(customer, "price_pro", "active"));
    let older = event("evt_sub_1", "customer.subscription.updated", t + 10, subscription(customer, "price_starter", "active"));
    assert_eq!(signed(&app, &newer).await.0, StatusCode::OK);
    assert_eq!(signed(&app, &older).await.0, StatusCode::OK);
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["plan"].as_str(), b["period_start"].as_i64(), b["period_end"].as_i64()), (Some("pro"), Some(1_764_547_200), Some(1_767_225_600)), "{b}");

    // an event about no team of this installation is acknowledged and ignored
    let stranger = event("evt_other", "checkout.session.completed", now(), checkout_completed(999_999, "cus_stranger", "pro"));
    let (status, r) = signed(&app, &stranger).await;
    assert_eq!((status, r["result"].as_str()), (StatusCode::OK, Some("ignored")), "{r}");

    // the Billing Portal for the same customer
    let (status, p) = app.json(Method::POST, &format!("/teams/{team}/billing/portal"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert!(p["url"].as_str().unwrap().starts_with(&format!("{}/portal/bps_test_", stub.url)), "{p}");
    assert_eq!(stub.calls("/v1/billing_portal/sessions")[0].form.get("customer").map(String::as_str), Some(customer));

    // cancelled: back to the free plan's limits
    let cancelled = event("evt_sub_3", "customer.subscription.deleted", t + 30, subscription(customer, "price_pro", "canceled"));
    assert_eq!(signed(&app, &cancelled).await.0, StatusCode::OK);
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["plan"].as_str(), b["limits"]["apps"].as_u64()), (Some("free"), Some(3)), "{b}");
    assert_eq!(new_app(&app, "app5").await.0, StatusCode::PAYMENT_REQUIRED);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_payment_restricts_the_team_after_its_grace_and_a_paid_invoice_restores_it() {
    let stub = StripeStub::start().await;
    let app = billed(&stub, "0").await;
    let (team, team_id) = own_team(&app).await;
    let customer = "cus_grace";
    // (events are stamped in the past: the failure's grace period of 0 days is over at once)
    let t = now() - 100;
    assert_eq!(signed(&app, &event("evt_c", "checkout.session.completed", t, checkout_completed(team_id, customer, "starter"))).await.0, StatusCode::OK);
    for n in 1..=4 {
        assert_eq!(new_app(&app, &format!("g{n}")).await.0, StatusCode::CREATED);
    }
    let mut invoice = object("invoice");
    invoice["customer"] = json!(customer);
    assert_eq!(signed(&app, &event("evt_fail", "invoice.payment_failed", t + 10, invoice.clone())).await.0, StatusCode::OK);
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["plan"].as_str(), b["restricted"].as_bool(), b["limits"]["apps"].as_u64()), (Some("starter"), Some(true), Some(3)), "{b}");
    assert!(b["warning"].as_str().unwrap().contains("held to the free plan's limits until the invoice is paid"), "{b}");
    let mine = app.get("/teams").await.1;
    assert_eq!(mine[0]["billing_warning"], b["warning"], "every page of the team says it: {mine}");
    let (status, e) = new_app(&app, "g5").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    assert!(e["error"].as_str().unwrap().contains("held to it after a failed payment"), "{e}");

    // an older "paid" arriving late does not lift it; the newer one does
    assert_eq!(signed(&app, &event("evt_paid_old", "invoice.paid", t + 5, invoice.clone())).await.0, StatusCode::OK);
    assert_eq!(app.get(&format!("/teams/{team}/billing")).await.1["restricted"], true);
    assert_eq!(signed(&app, &event("evt_paid", "invoice.paid", t + 20, invoice)).await.0, StatusCode::OK);
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["restricted"].as_bool(), b["warning"].is_null(), b["limits"]["apps"].as_u64()), (Some(false), true, Some(10)), "{b}");
    assert!(app.get("/teams").await.1[0].get("billing_warning").is_none(), "the banner is gone");
    assert_eq!(new_app(&app, "g5").await.0, StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn builds_are_refused_past_free_and_billed_past_starter() {
    let stub = StripeStub::start().await;
    let app = spawn_app_with(&[
        ("RHONE_STRIPE_SECRET_KEY", SECRET_KEY),
        ("RHONE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("RHONE_STRIPE_API_URL", &stub.url),
        ("RHONE_STRIPE_PRICES", "starter=price_starter"),
        ("RHONE_PLAN_LIMITS", "free.builds=2, free.apps=unlimited, starter.builds=1"),
    ])
    .await;
    let (team, team_id) = own_team(&app).await;
    let repo = crate::helpers::Repo::new(&crate::helpers::files(&crate::helpers::python_app("built")));
    app.create_app("builder", &repo.path(), json!({})).await;
    let first = app.deploy("builder").await;
    let second = app.deploy("builder").await;
    let (status, e) = app.json(Method::POST, "/apps/builder/deployments", json!({})).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    assert!(e["error"].as_str().unwrap().contains("the free plan allows 2 builds this billing period and team"), "{e}");
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["usage"]["builds"].as_u64(), &b["limits"]["apps"]), (Some(2), &Value::Null), "{b}");
    assert_eq!(b["thresholds"], json!([{"limit": "builds", "used": 2, "max": 2, "percent": 100}]), "{b}");

    // Starter has a price per build past its one: the third build is allowed and billed
    assert_eq!(signed(&app, &event("evt_b", "checkout.session.completed", now(), checkout_completed(team_id, "cus_builds", "starter"))).await.0, StatusCode::OK);
    let third = app.deploy("builder").await;
    let mut build_ms = 0;
    for id in [first, second, third] {
        build_ms += app.wait_final(id).await["build_ms"].as_i64().unwrap_or(0);
    }
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["plan"].as_str(), b["usage"]["builds"].as_u64(), b["usage"]["build_seconds"].as_i64()), (Some("starter"), Some(3), Some(build_ms / 1000)), "{b}");
    assert_eq!(b["thresholds"], json!([{"limit": "builds", "used": 3, "max": 1, "percent": 100}]), "{b}");
    let usd = |cents: i64| json!({"cents": cents, "currency": "usd"});
    assert_eq!(
        b["projected"]["lines"],
        json!([{"what": "starter plan", "quantity": 1, "amount": usd(2000)}, {"what": "builds over 1", "quantity": 2, "amount": usd(2)}]),
        "{b}"
    );
    assert_eq!(b["projected"]["total"], usd(2002), "{b}");
    app.stop().await;
}

#[tokio::test]
async fn a_deploy_past_the_free_machine_hours_is_refused_before_it_builds() {
    let stub = StripeStub::start().await;
    let app = spawn_app_with(&[("RHONE_STRIPE_SECRET_KEY", SECRET_KEY), ("RHONE_STRIPE_API_URL", &stub.url), ("RHONE_PLAN_LIMITS", "free.machine_hours=0")]).await;
    app.create_app("idle", std::path::Path::new("/nonexistent"), json!({})).await;
    let (status, e) = app.json(Method::POST, "/apps/idle/deployments", json!({})).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    assert!(e["error"].as_str().unwrap().contains("the free plan allows 0 machine-hours this billing period"), "{e}");
    assert_eq!(app.get("/apps/idle/deployments").await.1.as_array().map(Vec::len), Some(0), "nothing queued");
    app.stop().await;
}

#[tokio::test]
async fn machine_time_bandwidth_and_builds_are_reported_to_the_meters_exactly_once() {
    let stub = StripeStub::start().await;
    // Stripe's rate limiter refuses the first two meter events (429): they are sent again
    stub.refuse_meter_events(2);
    let app = spawn_app_with(&[
        ("RHONE_STRIPE_SECRET_KEY", SECRET_KEY),
        ("RHONE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("RHONE_STRIPE_API_URL", &stub.url),
        ("RHONE_USAGE_REPORT_SECS", "1"),
        ("RHONE_STRIPE_METER_EVENTS_PER_SEC", "4"),
        ("RHONE_STRIPE_METER_EVENT_NAMES", "builds=acme_builds"),
    ])
    .await;
    let (team, team_id) = own_team(&app).await;
    let customer = "cus_metered";
    assert_eq!(signed(&app, &event("evt_m", "checkout.session.completed", now() - 5, checkout_completed(team_id, customer, "free"))).await.0, StatusCode::OK);
    let repo = crate::helpers::Repo::new(&crate::helpers::files(&crate::helpers::python_app("metered")));
    app.create_app("metered", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("metered").await["status"], "live");
    // bandwidth: whatever was sent before (a flush every scheduler tick, 5 s), then exactly 5
    // bodies of 7 bytes through the proxy, on its fast path and on its general path
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let path = format!("/teams/{team}/billing/usage?from=0");
    let before = app.get(&path).await.1.as_array().unwrap().iter().find(|m| m["meter"] == "rhone_bandwidth_bytes").unwrap()["measured"].as_i64().unwrap();
    for _ in 0..4 {
        let res = app.client.get(format!("http://127.0.0.1:{}/", app.proxy_port)).header("Host", "metered.localhost").send().await.unwrap();
        assert_eq!(res.text().await.unwrap(), "metered");
    }
    // the fifth with `Expect`, which the fast path hands to the general path: it counts too
    let res = reqwest::Client::new().get(format!("http://127.0.0.1:{}/", app.proxy_port)).header("Host", "metered.localhost").header("Expect", "100-continue").send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "metered");
    let res = app.api(Method::POST, "/apps/metered/stop").send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());

    // once the windows holding the run have closed and been reported, what Stripe received
    // equals what Rhone measured, meter by meter
    let mut shown = Value::Null;
    for _ in 0..100 {
        shown = app.get(&path).await.1;
        let settled = shown.as_array().is_some_and(|m| {
            m.iter().all(|m| m["measured"] == m["reported"])
                && m.iter().any(|m| m["meter"] == "rhone_machine_seconds" && m["reported"].as_i64() > Some(0))
                && m.iter().any(|m| m["meter"] == "rhone_bandwidth_bytes" && m["reported"].as_i64() == Some(before + 35))
        });
        if settled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let figure = |v: &Value, meter: &str, k: &str| v.as_array().unwrap().iter().find(|m| m["meter"] == meter).unwrap()[k].as_i64().unwrap();
    let (seconds, builds) = (figure(&shown, "rhone_machine_seconds", "measured"), figure(&shown, "rhone_builds", "measured"));
    assert!(seconds >= 2 && builds == 1, "{shown}");
    // one size ran (no memory limit): all of the period's machine time is of that size
    let usage = app.get(&format!("/teams/{team}/billing")).await.1["usage"].clone();
    assert_eq!(usage["machine_by_size"], json!([{"size": "default", "seconds": usage["machine_seconds"]}]), "{usage}");
    assert_eq!((figure(&shown, "rhone_machine_seconds", "reported"), figure(&shown, "rhone_builds", "reported")), (seconds, builds), "{shown}");
    let sum = |name: &str| stub.meter_events().iter().filter(|e| e.0 == name && e.1 == customer).map(|e| e.2).sum::<i64>();
    // the builds meter's events go by the name configured for it
    assert_eq!((sum("rhone_machine_seconds"), sum("acme_builds"), sum("rhone_builds")), (seconds, builds, 0), "{:?}", stub.meter_events());
    let bytes = figure(&shown, "rhone_bandwidth_bytes", "measured");
    assert_eq!((bytes, figure(&shown, "rhone_bandwidth_bytes", "reported"), sum("rhone_bandwidth_bytes")), (before + 35, before + 35, before + 35), "{shown}");
    assert!(stub.meter_events().iter().all(|e| e.3.starts_with(&format!("rhone-{team_id}-"))), "deterministic identifiers");
    // the refused ones went out again under their identifiers; no more than 4 started in any second
    let calls = stub.calls("/v1/billing/meter_events");
    let refused: Vec<_> = calls.iter().filter(|c| c.refused).collect();
    assert_eq!(refused.len(), 2);
    assert!(calls.iter().any(|c| !c.refused && c.form["identifier"] == refused[0].form["identifier"]), "retried");
    let firsts: Vec<std::time::Instant> = {
        // each meter event's first attempt (a retry waits its own backoff)
        let mut seen = std::collections::HashSet::new();
        calls.iter().filter(|c| seen.insert(c.form["identifier"].clone())).map(|c| c.at).collect()
    };
    assert!(firsts.len() > 4, "enough events to see the pace: {}", firsts.len());
    for w in firsts.windows(5) {
        assert!(w[4] - w[0] >= std::time::Duration::from_millis(900), "5 meter events within {:?}", w[4] - w[0]);
    }

    // a restart reports nothing again: no identifier sent twice, the totals unchanged
    let sent = stub.calls("/v1/billing/meter_events").len();
    let app = app.restart(&[]).await;
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let calls: Vec<_> = stub.calls("/v1/billing/meter_events").into_iter().filter(|c| !c.refused).collect();
    let ids: std::collections::HashSet<_> = calls.iter().map(|c| c.form["identifier"].clone()).collect();
    assert_eq!(ids.len(), calls.len(), "no identifier accepted twice ({sent} calls before the restart, {} accepted after)", calls.len());
    assert_eq!((sum("rhone_machine_seconds"), sum("acme_builds")), (seconds, builds));
    app.stop().await;
}

#[tokio::test]
async fn a_push_past_the_plan_builds_deploys_nothing_and_says_why() {
    let stub = StripeStub::start().await;
    let secret = crate::github_stub::WEBHOOK_SECRET;
    let app = spawn_app_with(&[("RHONE_STRIPE_SECRET_KEY", SECRET_KEY), ("RHONE_STRIPE_API_URL", &stub.url), ("RHONE_PLAN_LIMITS", "free.builds=0"), ("RHONE_GITHUB_WEBHOOK_SECRET", secret)]).await;
    app.create_app("hello", std::path::Path::new("/nonexistent"), json!({"repo_url": "git@github.com:Codertocat/Hello-World.git"})).await;
    let body = std::fs::read(format!("{}/tests/fixtures/github/push.with-new-branch.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let res = app
        .anon(Method::POST, "/api/v1/webhooks/github")
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", "billing-push-1")
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", domain::github::sign(secret.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let reply: Value = res.json().await.unwrap();
    let skipped = reply["apps"][0]["skipped"].as_str().unwrap_or_default();
    assert!(skipped.contains("the free plan allows 0 builds this billing period"), "{reply}");
    assert!(reply["apps"][0]["deployment_id"].is_null(), "{reply}");
    assert_eq!(app.get("/apps/hello/deployments").await.1.as_array().map(Vec::len), Some(0), "nothing deployed");
    app.stop().await;
}

#[tokio::test]
async fn without_stripe_billing_is_off_and_nothing_is_limited() {
    let app = crate::helpers::spawn_app().await;
    let (team, _) = own_team(&app).await;
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["enabled"].as_bool(), b["plan"].as_str(), &b["limits"]["apps"]), (Some(false), Some("unlimited"), &Value::Null), "{b}");
    for n in 1..=4 {
        assert_eq!(new_app(&app, &format!("free{n}")).await.0, StatusCode::CREATED);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_spend_cap_refuses_deploys_tells_the_owners_once_and_stops_apps_only_when_chosen() {
    let stub = StripeStub::start().await;
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let app = spawn_app_with(&[
        ("RHONE_STRIPE_SECRET_KEY", SECRET_KEY),
        ("RHONE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("RHONE_STRIPE_API_URL", &stub.url),
        ("RHONE_STRIPE_PRICES", "starter=price_starter"),
        ("RHONE_PLAN_LIMITS", "starter.builds=1"),
        ("RHONE_USAGE_REPORT_SECS", "1"),
        ("RHONE_SMTP_URL", &sink.url()),
    ])
    .await;
    let (team, team_id) = own_team(&app).await;
    let cap = format!("/teams/{team}/billing/cap");
    // nonsense is refused, naming the field
    for (body, field) in [(json!({"cap_cents": 0}), "cap_cents"), (json!({"cap_cents": -5}), "cap_cents"), (json!({"cap_cents": null, "stop_apps": true}), "stop_apps")] {
        let (status, e) = app.json(Method::PUT, &cap, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(e["error"].as_str().unwrap().starts_with(field), "{e}");
    }
    assert_eq!(signed(&app, &event("evt_cap", "checkout.session.completed", now(), checkout_completed(team_id, "cus_cap", "starter"))).await.0, StatusCode::OK);
    // Starter ($20.00, one build included, 1 ¢ a build past it), capped at $20.01
    let (status, b) = app.json(Method::PUT, &cap, json!({"cap_cents": 2001})).await;
    assert_eq!((status, &b["spend_cap"], &b["stop_at_cap"], &b["cap_reached"]), (StatusCode::OK, &json!({"cents": 2001, "currency": "usd"}), &json!(false), &json!(false)), "{b}");
    let repo = crate::helpers::Repo::new(&crate::helpers::files(&crate::helpers::python_app("capped")));
    app.create_app("capped", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("capped").await["status"], "live");
    // the second build is allowed (the charge was $20.00) and brings it to $20.01: the cap
    assert_eq!(app.deploy_and_wait("capped").await["status"], "live");
    let (status, e) = app.json(Method::POST, "/apps/capped/deployments", json!({})).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    let msg = e["error"].as_str().unwrap();
    assert!(msg.contains(&format!("team {team} reached its spend cap of $20.01 ($20.01 projected this billing period)")) && msg.contains(&format!("/t/{team}/billing")), "{msg}");
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((&b["cap_reached"], &b["projected"]["total"]["cents"]), (&json!(true), &json!(2001)), "{b}");

    // the owner is told once (the builds limit and the cap); the app keeps running
    let owner = app.get(&format!("/teams/{team}/members")).await.1[0]["email"].as_str().unwrap().to_string();
    let mail = sink.wait_for(1, std::time::Duration::from_secs(30)).await;
    assert_eq!(mail.len(), 1, "one email");
    assert_eq!(mail[0].to, [owner.clone()]);
    let body = mail[0].body();
    assert!(body.contains("- Builds: 2 of 1 (reached)") && body.contains("- Spend cap reached: $20.01 projected this period, cap $20.01: new deploys are refused"), "{body}");
    assert!(body.contains(&format!("/t/{team}/billing")), "{body}");
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert_eq!(sink.messages().await.len(), 1, "nothing told twice");
    assert!(app.get("/apps/capped").await.1["stopped_at"].is_null(), "stopping is an opt-in");

    // opting in at the cap stops the running app, once, in the audit log
    let (status, b) = app.json(Method::PUT, &cap, json!({"cap_cents": 2001, "stop_apps": true})).await;
    assert_eq!((status, &b["stop_at_cap"]), (StatusCode::OK, &json!(true)), "{b}");
    let mail = sink.wait_for(2, std::time::Duration::from_secs(30)).await;
    assert_eq!(mail.len(), 2, "the stop is told");
    assert!(mail[1].body().contains("Its running apps were stopped"), "{}", mail[1].body());
    assert!(!app.get("/apps/capped").await.1["stopped_at"].is_null(), "stopped at the cap");
    let audit = app.get(&format!("/teams/{team}/audit?action=app.stop")).await.1;
    assert_eq!((audit[0]["actor"].as_str(), audit[0]["target"].as_str()), (Some("billing"), Some("capped")), "{audit}");
    app.stop().await;
}

#[tokio::test]
async fn a_plan_without_a_region_gets_no_app_and_one_with_a_region_has_it_in_use() {
    let stub = StripeStub::start().await;
    let app = spawn_app_with(&[("RHONE_STRIPE_SECRET_KEY", SECRET_KEY), ("RHONE_STRIPE_API_URL", &stub.url), ("RHONE_PLAN_LIMITS", "free.regions=0")]).await;
    let (team, _) = own_team(&app).await;
    let (status, e) = new_app(&app, "nowhere").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{e}");
    assert!(e["error"].as_str().unwrap().contains("the free plan allows 0 regions (this installation is one)"), "{e}");
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["usage"]["regions"].as_u64(), b["usage"]["apps"].as_u64(), b["limits"]["regions"].as_u64()), (Some(0), Some(0), Some(0)), "{b}");
    app.stop().await;
    // the default free plan: one region, in use once there is an app, and no warning for it
    let stub = StripeStub::start().await;
    let app = spawn_app_with(&[("RHONE_STRIPE_SECRET_KEY", SECRET_KEY), ("RHONE_STRIPE_API_URL", &stub.url)]).await;
    let (team, _) = own_team(&app).await;
    assert_eq!(new_app(&app, "here").await.0, StatusCode::CREATED);
    let (_, b) = app.get(&format!("/teams/{team}/billing")).await;
    assert_eq!((b["usage"]["regions"].as_u64(), b["limits"]["regions"].as_u64(), &b["thresholds"]), (Some(1), Some(1), &json!([])), "{b}");
    app.stop().await;
}
