//! Login limits: every attempt counts before its password is checked; limits are per client address
//! and per (account, address), so a guesser cannot lock the owner out from elsewhere; only a trusted
//! proxy's `X-Forwarded-For` names the client.

use std::net::IpAddr;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, EMAIL, PASSWORD};

async fn attempt(app: &TestApp, client: &reqwest::Client, password: &str, forwarded_for: Option<&str>) -> StatusCode {
    let mut req = client.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"email": EMAIL, "password": password}));
    if let Some(f) = forwarded_for {
        req = req.header("X-Forwarded-For", f);
    }
    req.send().await.expect("login request").status()
}

fn client_from(ip: &str) -> reqwest::Client {
    let ip: IpAddr = ip.parse().unwrap();
    reqwest::Client::builder().local_address(ip).build().unwrap()
}

#[tokio::test]
async fn a_burst_of_concurrent_wrong_guesses_counts_every_guess() {
    let app = spawn_app().await;
    let guesses = (0..12).map(|i| {
        let app = &app;
        async move { attempt(app, &app.client, &format!("wrong-guess-{i}"), None).await }
    });
    let statuses = futures::future::join_all(guesses).await;
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((refused, limited), (5, 7), "only 5 guesses may be checked: {statuses:?}");
    assert_eq!(attempt(&app, &app.client, PASSWORD, None).await, StatusCode::TOO_MANY_REQUESTS, "this address waits now");
    app.stop().await;
}

#[tokio::test]
async fn a_guesser_elsewhere_cannot_lock_the_owner_out() {
    let app = spawn_app().await;
    let guesser = client_from("127.0.0.2");
    for _ in 0..5 {
        assert_eq!(attempt(&app, &guesser, "wrong-password", None).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt(&app, &guesser, "wrong-password", None).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt(&app, &guesser, PASSWORD, None).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt(&app, &app.client, PASSWORD, None).await, StatusCode::CREATED, "the owner's own address still logs in");
    app.stop().await;
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let app = spawn_app().await;
    // not trusted: a new X-Forwarded-For per guess does not buy new guesses
    for i in 0..5 {
        assert_eq!(attempt(&app, &app.client, "wrong-password", Some(&format!("203.0.113.{i}"))).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt(&app, &app.client, "wrong-password", Some("203.0.113.99")).await, StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;

    let app = spawn_app_with(&[("RHONE_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    for _ in 0..5 {
        assert_eq!(attempt(&app, &app.client, "wrong-password", Some("203.0.113.7")).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(attempt(&app, &app.client, PASSWORD, Some("203.0.113.7")).await, StatusCode::TOO_MANY_REQUESTS);
    // behind the trusted proxy, another client (the rightmost untrusted hop) is someone else
    assert_eq!(attempt(&app, &app.client, PASSWORD, Some("203.0.113.7, 198.51.100.20")).await, StatusCode::CREATED);
    assert_eq!(attempt(&app, &app.client, PASSWORD, Some("198.51.100.21")).await, StatusCode::CREATED);
    app.stop().await;
}
