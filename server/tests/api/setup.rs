//! First run: `/setup` creates the owner only with the setup token that `rhone serve` prints (and
//! `rhone admin setup-token` prints again), and exactly once however many try at the same time.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;
use crate::web::{location, own, session_from, spawn_without_owner};

fn setup_form<'a>(email: &'a str, token: &'a str) -> [(&'static str, &'a str); 3] {
    [("email", email), ("password", "owner-password-1"), ("token", token)]
}

async fn post_setup(app: &TestApp, email: &str, token: &str) -> reqwest::Response {
    own(app, Method::POST, "/auth/setup").form(&setup_form(email, token)).send().await.expect("setup request")
}

#[tokio::test]
async fn setup_creates_the_owner_only_with_the_setup_token() {
    let app = spawn_without_owner(&[]).await;
    let services = app.running.as_ref().unwrap().services.clone();
    let token = services.setup_token().await.unwrap().expect("a token while nobody exists");
    assert_eq!(services.setup_token().await.unwrap().as_deref(), Some(token.as_str()), "the same token until it is used");

    for wrong in ["", "not-the-token", &token[..token.len() - 1]] {
        let res = post_setup(&app, "first@example.com", wrong).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = location(&res);
        assert!(to.starts_with("/setup?error=") && to.contains("setup%20token"), "{to}");
        assert!(!to.contains("token="), "a wrong token is not echoed back: {to}");
        assert!(session_from(&res).is_none());
    }
    assert!(services.needs_setup().await.unwrap(), "nobody was created");

    let res = post_setup(&app, "first@example.com", &token).await;
    assert_eq!(location(&res), "/");
    let cookie = session_from(&res).expect("logged in as the new owner");
    let me = app.anon(Method::GET, "/api/v1/apps").header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(services.setup_token().await.unwrap(), None, "no token once the owner exists");

    let again = post_setup(&app, "second@example.com", &token).await;
    assert!(location(&again).contains("already%20done"), "{}", location(&again));
    let res = app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": "second@example.com", "password": "owner-password-1"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the second setup created no account");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_setups_make_exactly_one_owner() {
    let app = spawn_without_owner(&[]).await;
    let services = app.running.as_ref().unwrap().services.clone();
    let token = services.setup_token().await.unwrap().unwrap();
    let emails: Vec<String> = (0..8).map(|i| format!("racer{i}@example.com")).collect();
    let results = futures::future::join_all(emails.iter().map(|e| post_setup(&app, e, &token))).await;
    let winners: Vec<&String> = emails.iter().zip(&results).filter(|(_, r)| location(r) == "/").map(|(e, _)| e).collect();
    assert_eq!(winners.len(), 1, "{:?}", results.iter().map(location).collect::<Vec<_>>());
    for (email, res) in emails.iter().zip(&results) {
        if email != winners[0] {
            assert!(location(res).starts_with("/setup?error=") && session_from(res).is_none(), "{email}: {}", location(res));
        }
        let login = app.anon(Method::POST, "/api/v1/auth/token").json(&json!({"email": email, "password": "owner-password-1"})).send().await.unwrap();
        let expected = if email == winners[0] { StatusCode::CREATED } else { StatusCode::UNAUTHORIZED };
        assert_eq!(login.status(), expected, "{email}");
    }
    app.stop().await;
}

/// `rhone serve` prints the token at start; `rhone admin setup-token` prints the same one.
#[test]
fn serve_prints_the_setup_token_and_the_cli_prints_the_same() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let rhone = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rhone"));
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RHONE_DATA_DIR", &data)
            .env("RHONE_APPS_DIR", root.path().join("apps"))
            .env("RHONE_ADDR", "127.0.0.1:0")
            .env("RHONE_PROXY_ADDR", "127.0.0.1:0")
            .env("RHONE_ALLOW_SHARED_UID", "true")
            .env("RUST_LOG", "warn")
            .current_dir(root.path());
        c
    };
    let mut serve = rhone(&["serve"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("rhone serve starts");
    let out = serve.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = None;
    // a guard against a server that never prints the token (not a timing assertion)
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(120)) {
        if let Some(rest) = line.split("setup token: ").nth(1) {
            printed = rest.split(';').next().map(str::to_string);
            break;
        }
    }
    let _ = serve.kill();
    let _ = serve.wait();
    let printed = printed.expect("rhone serve printed a setup token");
    let cli = rhone(&["admin", "setup-token"]).output().unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert_eq!(String::from_utf8_lossy(&cli.stdout).trim(), printed);

    let created = rhone(&["admin", "create-user", "owner@example.com"]).env("RHONE_NEW_PASSWORD", "long-enough-pw").output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let after = rhone(&["admin", "setup-token"]).output().unwrap();
    assert!(!after.status.success());
    assert!(String::from_utf8_lossy(&after.stderr).contains("already done"));
}
