//! A stand-in for the Stripe endpoints Rhone calls (customers, Checkout sessions, Billing Portal
//! sessions), answering with Stripe's own example objects (`tests/fixtures/stripe/objects.json`)
//! given the ids and fields of the request (prices, a paid invoice per customer), checking the secret key, and recording every request
//! (method, path, form fields) for the tests to read.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

pub const SECRET_KEY: &str = "sk_test_rhone_stand_in";

/// One request Rhone made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub form: BTreeMap<String, String>,
    /// When it arrived.
    pub at: std::time::Instant,
    /// Answered 429 (not counted).
    pub refused: bool,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    next: u32,
    /// Meter events to refuse with 429 (Stripe's rate limit) before accepting any.
    refuse_meter_events: u32,
    /// How long a meter event waits before its answer.
    meter_event_delay: std::time::Duration,
}

pub struct StripeStub {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// Stripe's example object of `kind` (`customer`, `checkout.session`, …).
pub fn object(kind: &str) -> Value {
    let path = format!("{}/tests/fixtures/stripe/objects.json", env!("CARGO_MANIFEST_DIR"));
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("stripe fixtures")).expect("json");
    all["resources"][kind].clone()
}

/// Stripe's event envelope around `data`.
pub fn event(id: &str, kind: &str, created: i64, data: Value) -> String {
    let mut e = object("event");
    e["id"] = json!(id);
    e["type"] = json!(kind);
    e["created"] = json!(created);
    e["data"] = json!({"object": data});
    e.to_string()
}

/// A completed Checkout session of team `team_id` for `plan`, paid by `customer`.
pub fn checkout_completed(team_id: i64, customer: &str, plan: &str) -> Value {
    let mut s = object("checkout.session");
    s["client_reference_id"] = json!(team_id.to_string());
    s["customer"] = json!(customer);
    s["subscription"] = json!("sub_test_1");
    s["metadata"] = json!({"rhone_team": team_id.to_string(), "rhone_plan": plan});
    s["status"] = json!("complete");
    s
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder().status(status).header("content-type", "application/json").body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// `metadata[k]` form fields as an object.
fn metadata(form: &BTreeMap<String, String>, prefix: &str) -> Value {
    let m: serde_json::Map<String, Value> =
        form.iter().filter_map(|(k, v)| k.strip_prefix(&format!("{prefix}[")).and_then(|k| k.strip_suffix(']')).map(|k| (k.to_string(), json!(v)))).collect();
    Value::Object(m)
}

async fn handle(state: Arc<Mutex<State>>, base: String, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {SECRET_KEY}")) {
        let err = json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}});
        return Ok(reply(StatusCode::UNAUTHORIZED, err));
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let (n, refused, delay) = {
        let mut st = state.lock().unwrap();
        st.next += 1;
        let metered = path == "/v1/billing/meter_events";
        let refused = metered && st.refuse_meter_events > 0;
        if refused {
            st.refuse_meter_events -= 1;
        }
        let fields = if method == Method::GET { query.clone() } else { form.clone() };
        st.calls.push(Call { method: method.to_string(), path: path.clone(), form: fields, at: std::time::Instant::now(), refused });
        (st.next, refused, if metered { st.meter_event_delay } else { std::time::Duration::ZERO })
    };
    if path == "/v1/billing/meter_events" {
        if refused {
            let err = json!({"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Request rate limit exceeded."}});
            return Ok(reply(StatusCode::TOO_MANY_REQUESTS, err));
        }
        tokio::time::sleep(delay).await;
    }
    let f = |k: &str| form.get(k).cloned().map_or(Value::Null, Value::String);
    Ok(match (method, path.as_str()) {
        (Method::POST, "/v1/customers") => {
            let mut c = object("customer");
            c["id"] = json!(format!("cus_test{n}"));
            c["email"] = f("email");
            c["name"] = f("name");
            c["metadata"] = metadata(&form, "metadata");
            reply(StatusCode::OK, c)
        }
        (Method::POST, "/v1/checkout/sessions") => {
            let id = format!("cs_test_{n}");
            let mut s = object("checkout.session");
            s["id"] = json!(id);
            s["url"] = json!(format!("{base}/pay/{id}"));
            s["mode"] = f("mode");
            s["customer"] = f("customer");
            s["client_reference_id"] = f("client_reference_id");
            s["metadata"] = metadata(&form, "metadata");
            s["success_url"] = f("success_url");
            s["cancel_url"] = f("cancel_url");
            reply(StatusCode::OK, s)
        }
        (Method::POST, "/v1/billing_portal/sessions") => {
            let id = format!("bps_test_{n}");
            let mut s = object("billing_portal.session");
            s["id"] = json!(id);
            s["url"] = json!(format!("{base}/portal/{id}"));
            s["customer"] = f("customer");
            s["return_url"] = f("return_url");
            reply(StatusCode::OK, s)
        }
        (Method::POST, "/v1/billing/meter_events") => {
            let mut e = object("billing.meter_event");
            e["event_name"] = f("event_name");
            e["identifier"] = f("identifier");
            e["payload"] = metadata(&form, "payload");
            e["timestamp"] = json!(form.get("timestamp").and_then(|t| t.parse::<i64>().ok()));
            reply(StatusCode::OK, e)
        }
        (Method::GET, p) if p.starts_with("/v1/prices/") => {
            let mut price = object("price");
            price["id"] = json!(&p["/v1/prices/".len()..]);
            reply(StatusCode::OK, price)
        }
        (Method::GET, "/v1/invoices") => {
            // each customer has one invoice: Stripe's example, paid
            let mut i = object("invoice");
            i["customer"] = query.get("customer").cloned().map_or(Value::Null, Value::String);
            i["number"] = json!("RHONE-0001");
            i["status"] = json!("paid");
            i["amount_paid"] = i["amount_due"].clone();
            i["hosted_invoice_url"] = json!(format!("{base}/invoice/{}", i["id"].as_str().unwrap_or_default()));
            reply(StatusCode::OK, json!({"object": "list", "data": [i], "has_more": false, "url": "/v1/invoices"}))
        }
        _ => reply(StatusCode::NOT_FOUND, json!({"error": {"type": "invalid_request_error", "message": format!("Unrecognized request URL ({path})")}})),
    })
}

impl StripeStub {
    pub async fn start() -> StripeStub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (st, base) = (state.clone(), url.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (st, base) = (st.clone(), base.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(st.clone(), base.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        StripeStub { url, state }
    }

    /// The meter events received: (event name, customer, value, identifier), each identifier
    /// once, as Stripe counts them.
    pub fn meter_events(&self) -> Vec<(String, String, i64, String)> {
        let mut seen = std::collections::HashSet::new();
        self.calls("/v1/billing/meter_events")
            .into_iter()
            .filter(|c| !c.refused && seen.insert(c.form["identifier"].clone()))
            .map(|c| (c.form["event_name"].clone(), c.form["payload[stripe_customer_id]"].clone(), c.form["payload[value]"].parse().unwrap(), c.form["identifier"].clone()))
            .collect()
    }

    /// Answers the next `n` meter events with 429, as Stripe's rate limiter does.
    pub fn refuse_meter_events(&self, n: u32) {
        self.state.lock().unwrap().refuse_meter_events = n;
    }

    /// Delays every meter event's answer by `d` (`tests/crash.rs`).
    #[allow(dead_code)]
    pub fn delay_meter_events(&self, d: std::time::Duration) {
        self.state.lock().unwrap().meter_event_delay = d;
    }

    /// The requests made to `path`.
    pub fn calls(&self, path: &str) -> Vec<Call> {
        self.state.lock().unwrap().calls.iter().filter(|c| c.path == path).cloned().collect()
    }
}
