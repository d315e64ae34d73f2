//! Invitation emails through a real SMTP conversation with a local sink: the invited address gets a
//! link that works; a relay that cannot be reached does not lose the invitation (the link is still
//! shown) and says the email was not sent.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app_with, split, PASSWORD};
use crate::smtp_sink::SmtpSink;

#[tokio::test]
async fn an_invitation_is_emailed_with_a_link_that_works() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(&[("RHONE_SMTP_URL", &sink.url()), ("RHONE_MAIL_FROM", "Rhone <rhone@example.com>")]).await;
    let (status, team) = app.json(Method::POST, "/teams", json!({"name": "Acme Corp", "slug": "acme"})).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, inv) = app.json(Method::POST, "/teams/acme/invitations", json!({"email": "New.Person@Example.com", "role": "admin"})).await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["emailed"], true, "{inv}");

    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert_eq!(m.to, ["new.person@example.com"]);
    assert_eq!(m.from, "rhone@example.com");
    let subject = m.header("Subject").unwrap_or_default();
    assert!(subject.contains("Acme Corp"), "{subject}");
    let body = m.body();
    let url = inv["url"].as_str().expect("url");
    assert!(body.contains(url), "the link is in the email: {body}");
    assert!(body.contains("admin"), "{body}");

    let token = url.rsplit('/').next().expect("token");
    let res = app.anon(Method::POST, &format!("/api/v1/invitations/{token}/accept")).json(&json!({"password": PASSWORD})).send().await.expect("accept");
    let (status, joined) = split(res).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    assert_eq!(joined["team"]["role"], "admin");
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_relay_keeps_the_invitation_and_says_the_email_was_not_sent() {
    // a port nothing listens on
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let app = spawn_app_with(&[("RHONE_SMTP_URL", &format!("smtp://127.0.0.1:{closed}"))]).await;
    let (status, _) = app.json(Method::POST, "/teams", json!({"name": "Acme", "slug": "acme"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, inv) = app.json(Method::POST, "/teams/acme/invitations", json!({"email": "x@example.com", "role": "viewer"})).await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["emailed"], false, "{inv}");
    assert!(inv["email_error"].as_str().unwrap_or("").contains("could not send"), "{inv}");
    assert!(inv["url"].as_str().unwrap_or("").contains("/invite/"), "the link is still handed out: {inv}");
    app.stop().await;
}

#[tokio::test]
async fn a_bad_smtp_url_stops_the_start_with_a_clear_error_that_hides_the_password() {
    let data = tempfile::tempdir().expect("temp dir");
    let env = [("RHONE_SMTP_URL", "smtp://user:hunter2-secret@")];
    let config = crate::helpers::config(data.path(), &env);
    let err = match rhone::start(config, crate::helpers::site()).await {
        Ok(_) => panic!("a bad smtp_url must stop the start"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("smtp_url"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}
