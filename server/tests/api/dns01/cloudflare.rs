//! The Cloudflare provider against a small local stand-in for the v4 API (plain http), which the
//! wildcard test (`tls.rs`) also uses: it can mirror the TXT records it holds into
//! `pebble-challtestsrv`, the DNS server pebble asks.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use domain::dns01::{Cloudflare, DnsError, DnsProvider};

pub const TOKEN: &str = "good-token-123";
const ZONE_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const NAME: &str = "_acme-challenge.example.test";

#[derive(Default)]
pub struct State {
    records: Vec<Value>,
    /// pebble-challtestsrv's management URL: TXT records created or deleted here are set or
    /// cleared there too (so pebble, asking challtestsrv, sees what "Cloudflare" serves).
    mirror: Option<String>,
    /// (name, content, added) not yet mirrored.
    to_mirror: Vec<(String, String, bool)>,
    next_id: u32,
    /// "METHOD path?query" of every authenticated request.
    log: Vec<String>,
    deleted: Vec<String>,
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn envelope(status: StatusCode, result: Value, errors: Value) -> Response<Full<Bytes>> {
    let ok = errors.as_array().is_none_or(|e| e.is_empty());
    let body = json!({ "success": ok, "errors": errors, "messages": [], "result": result });
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn handle(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        let err = json!([{ "code": 10000, "message": "Authentication error" }]);
        return Ok(envelope(StatusCode::UNAUTHORIZED, Value::Null, err));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let param = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.clone());
    let body: Value = serde_json::from_slice(&req.into_body().collect().await.unwrap().to_bytes())
        .unwrap_or(Value::Null);
    let (response, mirror, changes) = {
    let mut st = state.lock().unwrap();
    st.log.push(format!(
        "{method} {path}{}",
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query:?}")
        }
    ));
    let segments: Vec<&str> = path.trim_start_matches("/client/v4/").split('/').collect();
    let not_found = || {
        let err = json!([{ "code": 7003, "message": "Could not route to /zones, perhaps your object identifier is invalid?" }]);
        envelope(StatusCode::NOT_FOUND, Value::Null, err)
    };
    let response = match (method, segments.as_slice()) {
        (Method::GET, ["zones"]) => {
            let zones = [json!({ "id": ZONE_ID, "name": "example.test" })];
            let name = param("name");
            let found: Vec<Value> = zones
                .into_iter()
                .filter(|z| name.as_deref().is_none_or(|n| z["name"] == n))
                .collect();
            envelope(StatusCode::OK, json!(found), json!([]))
        }
        (_, ["zones", id, ..]) if *id != ZONE_ID => not_found(),
        (Method::POST, ["zones", _, "dns_records"]) => {
            assert_eq!(body["type"], "TXT");
            assert_eq!(body["ttl"], 60);
            if st
                .records
                .iter()
                .any(|r| r["name"] == body["name"] && r["content"] == body["content"])
            {
                let err =
                    json!([{ "code": 81058, "message": "An identical record already exists." }]);
                envelope(StatusCode::BAD_REQUEST, Value::Null, err)
            } else {
                st.next_id += 1;
                let record = json!({
                    "id": format!("rec{}", st.next_id), "type": "TXT", "name": body["name"],
                    "content": body["content"], "ttl": body["ttl"], "zone_id": ZONE_ID,
                });
                st.records.push(record.clone());
                let (name, content) = (body["name"].as_str().unwrap_or_default().to_string(), body["content"].as_str().unwrap_or_default().to_string());
                st.to_mirror.push((name, content, true));
                envelope(StatusCode::OK, record, json!([]))
            }
        }
        (Method::GET, ["zones", _, "dns_records"]) => {
            let matching: Vec<Value> = st
                .records
                .iter()
                .filter(|r| {
                    ["type", "name", "content"]
                        .iter()
                        .all(|k| param(k).is_none_or(|v| r[k] == v.as_str()))
                })
                .cloned()
                .collect();
            envelope(StatusCode::OK, json!(matching), json!([]))
        }
        (Method::DELETE, ["zones", _, "dns_records", id]) => {
            let id = id.to_string();
            let before = st.records.len();
            if let Some(r) = st.records.iter().find(|r| r["id"] == id.as_str()) {
                let (name, content) = (r["name"].as_str().unwrap_or_default().to_string(), r["content"].as_str().unwrap_or_default().to_string());
                st.to_mirror.push((name, content, false));
            }
            st.records.retain(|r| r["id"] != id.as_str());
            if st.records.len() == before {
                not_found()
            } else {
                st.deleted.push(id.clone());
                envelope(StatusCode::OK, json!({ "id": id }), json!([]))
            }
        }
        _ => not_found(),
    };
    let (mirror, changes) = (st.mirror.clone(), std::mem::take(&mut st.to_mirror));
    (response, mirror, changes)
    };
    if let Some(mgmt) = mirror {
        let client = reqwest::Client::new();
        for (name, content, added) in changes {
            let (path, body) = if added { ("set-txt", json!({"host": format!("{name}."), "value": content})) } else { ("clear-txt", json!({"host": format!("{name}.")})) };
            client.post(format!("{mgmt}/{path}")).body(body.to_string()).send().await.unwrap();
        }
    }
    Ok(response)
}

/// Starts the stand-in; returns its base URL (like https://api.cloudflare.com/client/v4).
async fn start() -> (String, Arc<Mutex<State>>) {
    start_mirroring(None).await
}

/// The stand-in, mirroring its TXT records into challtestsrv at `mirror` (its management URL).
pub async fn start_mirroring(mirror: Option<String>) -> (String, Arc<Mutex<State>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client/v4", listener.local_addr().unwrap());
    let state = Arc::new(Mutex::new(State { mirror, ..State::default() }));
    let st = state.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let st = st.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(st.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, state)
}

fn provider(api_url: &str, token: &str, zone_id: Option<&str>) -> DnsProvider {
    DnsProvider::Cloudflare(Cloudflare {
        api_url: api_url.to_string(),
        token: token.to_string(),
        zone_id: zone_id.map(str::to_string),
    })
}

/// Every authenticated request, "METHOD path…".
pub fn requests(state: &Mutex<State>) -> Vec<String> {
    state.lock().unwrap().log.clone()
}

pub fn contents(state: &Mutex<State>) -> Vec<String> {
    let st = state.lock().unwrap();
    let mut v: Vec<String> = st
        .records
        .iter()
        .map(|r| r["content"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn set_and_remove_with_zone_lookup() {
    let (url, state) = start().await;
    let cf = provider(&url, TOKEN, None);

    cf.set_txt(NAME, "value-one").await.unwrap();
    cf.set_txt(&format!("{NAME}."), "value-two").await.unwrap();
    cf.set_txt(NAME, "value-two").await.unwrap(); // already there: fine
    assert_eq!(contents(&state), ["value-one", "value-two"]);
    {
        let st = state.lock().unwrap();
        assert!(st
            .records
            .iter()
            .all(|r| r["name"] == NAME && r["ttl"] == 60));
        // Longest name first, stopping at the first zone found.
        let lookups: Vec<&String> = st
            .log
            .iter()
            .filter(|l| l.starts_with("GET /client/v4/zones?"))
            .collect();
        assert!(lookups[0].contains(&format!("\"{NAME}\"")), "{lookups:?}");
        assert!(lookups[1].contains("\"example.test\""), "{lookups:?}");
    }

    cf.remove_txt(NAME, "value-one").await.unwrap();
    assert_eq!(contents(&state), ["value-two"]);
    assert_eq!(state.lock().unwrap().deleted, ["rec1"]);
    let log = state.lock().unwrap().log.clone();
    let list = log
        .iter()
        .rfind(|l| l.starts_with(&format!("GET /client/v4/zones/{ZONE_ID}/dns_records?")))
        .unwrap();
    for part in [
        "(\"type\", \"TXT\")",
        &format!("(\"name\", \"{NAME}\")"),
        "(\"content\", \"value-one\")",
    ] {
        assert!(list.contains(part), "{list}");
    }

    // Removing a missing record is fine.
    cf.remove_txt(NAME, "value-one").await.unwrap();
    assert_eq!(contents(&state), ["value-two"]);
}

#[tokio::test]
async fn explicit_zone_id_skips_lookup() {
    let (url, state) = start().await;
    let cf = provider(&format!("{url}/"), TOKEN, Some(ZONE_ID));
    cf.set_txt(NAME, "abc").await.unwrap();
    cf.remove_txt(NAME, "abc").await.unwrap();
    {
        let st = state.lock().unwrap();
        assert!(st.records.is_empty());
        assert!(
            st.log
                .iter()
                .all(|l| !l.starts_with("GET /client/v4/zones?")),
            "{:?}",
            st.log
        );
    }
    let wrong = provider(&url, TOKEN, Some("nope"));
    let err = wrong.set_txt(NAME, "abc").await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Cloudflare refused: Could not route"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_token_and_unknown_zone_are_clear_errors() {
    let (url, state) = start().await;
    let secret = "wrong-secret-token";
    for result in [
        provider(&url, secret, None).set_txt(NAME, "v").await,
        provider(&url, secret, Some(ZONE_ID))
            .remove_txt(NAME, "v")
            .await,
    ] {
        let err = result.unwrap_err();
        assert_eq!(err.to_string(), "Cloudflare refused: Authentication error");
        assert!(!format!("{err:?}").contains(secret));
    }
    assert!(state.lock().unwrap().log.is_empty());

    let err = provider(&url, TOKEN, None)
        .set_txt("_acme-challenge.elsewhere.test", "v")
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::ZoneNotFound { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("no Cloudflare zone found for _acme-challenge.elsewhere.test"),
        "{err}"
    );

    // Nothing listening: a connection error naming the URL, not the token.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = provider(&dead, secret, Some(ZONE_ID))
        .set_txt(NAME, "v")
        .await
        .unwrap_err();
    assert!(matches!(err, DnsError::Http { .. }), "{err:?}");
    assert!(!err.to_string().contains(secret), "{err}");
}
