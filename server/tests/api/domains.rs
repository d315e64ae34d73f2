//! Custom domains against a real DNS server (Debian's `pebble-challtestsrv`, a mock DNS server whose
//! records the test sets over its management API): routed only once verified by the TXT challenge,
//! a CNAME or the installation's addresses; each failure says which record is missing or wrong;
//! another team cannot take a verified domain; removing one stops routing it; verified domains are
//! routed again after a restart.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{files, python_app, spawn_app_with, Repo, TestApp};

pub const PUBLIC_IP: &str = "203.0.113.7";
pub const PUBLIC_HOST: &str = "edge.rhone.test";

/// A running `pebble-challtestsrv`: DNS on a loopback port, answering only what the test set.
pub struct FakeDns {
    child: Child,
    pub dns: SocketAddr,
    pub management: String,
    http: reqwest::Client,
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl FakeDns {
    pub async fn start() -> FakeDns {
        let (dns_port, mgmt_port) = (free_port(), free_port());
        let child = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns_port}"), "-management", &format!("127.0.0.1:{mgmt_port}")])
            // no HTTP/TLS challenge servers, and no default answer for names nobody set
            .args(["-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv4", "", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv runs (make setup installs Debian's pebble)");
        let dns = FakeDns { child, dns: SocketAddr::from(([127, 0, 0, 1], dns_port)), management: format!("http://127.0.0.1:{mgmt_port}"), http: reqwest::Client::new() };
        for _ in 0..100 {
            if dns.http.post(format!("{}/clear-txt", dns.management)).body(r#"{"host":"ready.test."}"#).send().await.is_ok() {
                return dns;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("pebble-challtestsrv did not start");
    }

    async fn call(&self, path: &str, body: Value) {
        let res = self.http.post(format!("{}{path}", self.management)).body(body.to_string()).send().await.expect("challtestsrv");
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }

    pub async fn set_txt(&self, host: &str, value: &str) {
        self.call("/set-txt", json!({"host": format!("{host}."), "value": value})).await;
    }

    pub async fn clear_txt(&self, host: &str) {
        self.call("/clear-txt", json!({"host": format!("{host}.")})).await;
    }

    pub async fn set_a(&self, host: &str, ips: &[&str]) {
        self.call("/clear-a", json!({"host": format!("{host}.")})).await;
        self.call("/add-a", json!({"host": format!("{host}."), "addresses": ips})).await;
    }

    pub async fn clear_a(&self, host: &str) {
        self.call("/clear-a", json!({"host": format!("{host}.")})).await;
    }

    pub async fn set_cname(&self, host: &str, target: &str) {
        self.call("/set-cname", json!({"host": format!("{host}."), "target": format!("{target}.")})).await;
    }

    /// The settings that make Rhone look up names here, at the addresses of the test's "installation".
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("RHONE_DNS_RESOLVERS".into(), self.dns.to_string()),
            ("RHONE_PUBLIC_IPS".into(), PUBLIC_IP.into()),
            ("RHONE_PUBLIC_HOSTNAME".into(), PUBLIC_HOST.into()),
        ]
    }
}

async fn via_host(app: &TestApp, host: &str) -> (StatusCode, String) {
    let res = app.client.get(format!("http://127.0.0.1:{}/", app.proxy_port)).header("Host", host).send().await.expect("proxy");
    let status = res.status();
    (status, res.text().await.unwrap_or_default())
}

async fn verify(app: &TestApp, slug: &str, domain: &str) -> Value {
    let (status, v) = app.json(Method::POST, &format!("/apps/{slug}/domains/{domain}/verify"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "a check answers 200 whatever DNS said: {v}");
    v
}

fn problems(v: &Value) -> String {
    v["problems"].as_array().map(|p| p.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | ")).unwrap_or_default()
}

#[tokio::test]
async fn a_domain_is_routed_once_dns_proves_it_and_says_exactly_what_is_missing_until_then() {
    let dns = FakeDns::start().await;
    let env = dns.env();
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let app = spawn_app_with(&extra).await;
    let repo = Repo::new(&files(&python_app("shop v1")));
    app.create_app("shop", &repo.path(), json!({})).await;
    let d = app.deploy_and_wait("shop").await;
    assert_eq!(d["status"], "live", "{d}");

    // added: the records to create, nothing routed yet
    let (status, added) = app.json(Method::POST, "/apps/shop/domains", json!({"domain": "Shop.Example.COM."})).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!((added["domain"].as_str(), added["verified"].as_bool(), added["certificate"].as_str()), (Some("shop.example.com"), Some(false), Some("none")), "{added}");
    let records = added["records"].as_array().expect("records");
    let txt = records.iter().find(|r| r["kind"] == "TXT").expect("a TXT record");
    assert_eq!(txt["name"], "_rhone-challenge.shop.example.com");
    let token = txt["value"].as_str().unwrap().to_string();
    assert!(token.starts_with("rhone-verify=") && token.len() > 30, "{token}");
    assert!(records.iter().any(|r| r["kind"] == "CNAME" && r["value"] == PUBLIC_HOST), "{added}");
    assert!(records.iter().any(|r| r["kind"] == "A" && r["value"] == PUBLIC_IP), "{added}");
    assert_eq!(via_host(&app, "shop.example.com").await.0, StatusCode::NOT_FOUND, "not routed before it is verified");

    // each check says what is missing or wrong
    let v = verify(&app, "shop", "shop.example.com").await;
    assert_eq!(v["verified"], false);
    let p = problems(&v);
    assert!(p.contains("no TXT record at _rhone-challenge.shop.example.com") && p.contains("shop.example.com has no A or AAAA record"), "{p}");
    dns.set_txt("_rhone-challenge.shop.example.com", "rhone-verify=somebody-elses").await;
    dns.set_a("shop.example.com", &["198.51.100.1"]).await;
    let v = verify(&app, "shop", "shop.example.com").await;
    let p = problems(&v);
    assert!(p.contains("is \"rhone-verify=somebody-elses\"") && p.contains("points at 198.51.100.1, which is not this installation (203.0.113.7)"), "{p}");
    let (_, shown) = app.get("/apps/shop/domains/shop.example.com").await;
    assert!(shown["last_error"].as_str().unwrap_or_default().contains("198.51.100.1") && shown["checked_at"].is_i64(), "{shown}");
    assert_eq!(via_host(&app, "shop.example.com").await.0, StatusCode::NOT_FOUND);

    // the TXT challenge proves control, whatever the address says: routed at once
    dns.clear_txt("_rhone-challenge.shop.example.com").await;
    dns.set_txt("_rhone-challenge.shop.example.com", &token).await;
    let v = verify(&app, "shop", "shop.example.com").await;
    assert_eq!((v["verified"].as_bool(), v["method"].as_str()), (Some(true), Some("txt")), "{v}");
    assert_eq!(v["state"]["verified"], true, "{v}");
    let (status, body) = via_host(&app, "SHOP.example.com:80").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "shop v1"));

    // an address record pointing here, or a CNAME to the public hostname, verifies too
    for (domain, how) in [("www.example.com", "address"), ("api.example.org", "cname")] {
        let (status, _) = app.json(Method::POST, "/apps/shop/domains", json!({"domain": domain})).await;
        assert_eq!(status, StatusCode::CREATED);
        match how {
            "address" => dns.set_a(domain, &[PUBLIC_IP]).await,
            _ => dns.set_cname(domain, PUBLIC_HOST).await,
        }
        let v = verify(&app, "shop", domain).await;
        assert_eq!((v["verified"].as_bool(), v["method"].as_str()), (Some(true), Some(how)), "{domain}: {v}");
        assert_eq!(via_host(&app, domain).await.1, "shop v1");
    }

    // the apex redirects to www (308, port, path and query kept); no chains, no foreign targets
    app.json(Method::POST, "/apps/shop/domains", json!({"domain": "example.com"})).await;
    dns.set_a("example.com", &[PUBLIC_IP]).await;
    assert_eq!(verify(&app, "shop", "example.com").await["verified"], true);
    let (status, patched) = app.json(Method::PATCH, "/apps/shop/domains/example.com", json!({"redirect_to": "WWW.example.com"})).await;
    assert_eq!((status, patched["redirect_to"].as_str()), (StatusCode::OK, Some("www.example.com")), "{patched}");
    let res = app.client
        .get(format!("http://127.0.0.1:{}/cart?item=7", app.proxy_port)).header("Host", format!("example.com:{}", app.proxy_port)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], format!("http://www.example.com:{}/cart?item=7", app.proxy_port).as_str());
    let (status, body) = app.json(Method::PATCH, "/apps/shop/domains/www.example.com", json!({"redirect_to": "example.com"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a chain: {body}");
    let (status, body) = app.json(Method::PATCH, "/apps/shop/domains/api.example.org", json!({"redirect_to": "elsewhere.example.net"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not a domain of the app: {body}");
    assert_eq!(via_host(&app, "www.example.com").await.1, "shop v1", "the target still serves the app");

    // what is not a domain of the caller's, or not a domain at all
    for bad in ["http://x.example.com/", "203.0.113.9", "shop.localhost", "localhost", "*.example.com", "a b.example.com"] {
        let (status, body) = app.json(Method::POST, "/apps/shop/domains", json!({"domain": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = app.json(Method::POST, "/apps/shop/domains", json!({"domain": "shop.example.com"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(app.json(Method::POST, "/apps/shop/domains/nope.example.com/verify", json!({})).await.0, StatusCode::NOT_FOUND);

    // another team cannot take a verified domain, nor see this app's
    let (status, club) = app.json(Method::POST, "/teams", json!({"name": "Club"})).await;
    assert_eq!(status, StatusCode::CREATED, "{club}");
    let club_slug = club["slug"].as_str().unwrap().to_string();
    app.create_app("rival", &repo.path(), json!({"team": club_slug})).await;
    let (status, body) = app.json(Method::POST, "/apps/rival/domains", json!({"domain": "shop.example.com"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap_or_default().contains("verified for another app"), "{body}");
    let (_, rival_token) = app.join_as(&club_slug, "rival@example.com", "admin").await;
    let res = app.as_token(&rival_token, Method::GET, "/apps/shop/domains").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another team's app is not found");
    let res = app.as_token(&rival_token, Method::DELETE, "/apps/shop/domains/shop.example.com").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // removed: no longer routed, and free for others
    let res = app.api(Method::DELETE, "/apps/shop/domains/shop.example.com").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(via_host(&app, "shop.example.com").await.0, StatusCode::NOT_FOUND);
    let (status, body) = app.json(Method::POST, "/apps/rival/domains", json!({"domain": "shop.example.com"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v = verify(&app, "rival", "shop.example.com").await;
    assert_eq!(v["verified"], false, "the old app's TXT token is not the rival's: {v}");

    // verified domains are routed again after a restart
    let app = app.restart(&[]).await;
    assert_eq!(via_host(&app, "www.example.com").await.1, "shop v1");
    assert_eq!(via_host(&app, "example.com").await.0, StatusCode::PERMANENT_REDIRECT, "and the apex still redirects");
    let (_, list) = app.get("/apps/shop/domains").await;
    let names: Vec<&str> = list.as_array().unwrap().iter().filter_map(|d| d["domain"].as_str()).collect();
    assert_eq!(names, ["api.example.org", "example.com", "www.example.com"], "{list}");
    // serving the app again
    let (status, _) = app.json(Method::PATCH, "/apps/shop/domains/example.com", json!({"redirect_to": null})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(via_host(&app, "example.com").await.1, "shop v1");
    app.stop().await;
}

#[tokio::test]
async fn a_verified_domain_that_stops_pointing_here_is_unrouted_after_repeated_periodic_checks() {
    let dns = FakeDns::start().await;
    let env = dns.env();
    let mut extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.push(("RHONE_DOMAIN_CHECK_INTERVAL_SECS", "1"));
    let app = spawn_app_with(&extra).await;
    let repo = Repo::new(&files(&python_app("moved v1")));
    app.create_app("moved", &repo.path(), json!({})).await;
    assert_eq!(app.deploy_and_wait("moved").await["status"], "live");
    app.json(Method::POST, "/apps/moved/domains", json!({"domain": "moved.example.net"})).await;
    dns.set_a("moved.example.net", &[PUBLIC_IP]).await;
    assert_eq!(verify(&app, "moved", "moved.example.net").await["verified"], true);
    assert_eq!(via_host(&app, "moved.example.net").await.1, "moved v1");
    // the owner points it elsewhere: a check on request reports it but keeps routing
    dns.clear_a("moved.example.net").await;
    let v = verify(&app, "moved", "moved.example.net").await;
    assert!(v["state"]["verified"] == true && problems(&v).contains("has no A or AAAA record"), "{v}");
    // the periodic checks unroute it after three failures in a row
    let mut routed = true;
    for _ in 0..600 {
        if via_host(&app, "moved.example.net").await.0 == StatusCode::NOT_FOUND {
            routed = false;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!routed, "still routed after the periodic checks failed");
    let (_, shown) = app.get("/apps/moved/domains/moved.example.net").await;
    assert_eq!(shown["verified"], false, "{shown}");
    assert!(shown["last_error"].as_str().unwrap_or_default().contains("no A or AAAA record"), "{shown}");
    app.stop().await;
}
