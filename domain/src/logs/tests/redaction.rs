//! Redaction through the pump with real processes: multi-line values, values split by the line
//! cut, and the values of a version still draining while a new one runs.

use std::process::Stdio;

use tokio::process::Command;

use super::*;

const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dV\n-----END PRIVATE KEY-----\n";

/// Runs `script` with `env` and pumps its stdout into `sink` until it exits.
async fn run(script: &str, env: &[(&str, &str)], sink: &LogSink) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    pump(child.stdout.take().unwrap(), "stdout", sink.clone(), None).await;
    assert!(child.wait().await.unwrap().success());
}

#[tokio::test]
async fn every_line_of_a_multi_line_value_is_redacted() {
    let (hub, _d) = hub().await;
    let sink = hub.open("deploy:1", vec![PEM.to_string()]).await;
    run("printf 'key:\\n%s\\n' \"$KEY\"", &[("KEY", PEM)], &sink).await;
    let lines = stored(&hub, "deploy:1").await;
    assert_eq!(texts(&lines), ["key:", "[redacted]", "[redacted]", "[redacted]", "[redacted]", ""]);
}

#[tokio::test]
async fn a_value_split_by_the_line_cut_is_redacted() {
    let (hub, _d) = hub().await;
    let secret = "hunter2-very-secret-value";
    let sink = hub.open("deploy:2", vec![secret.to_string()]).await;
    // the value starts 5 bytes before the cut: only "hunte" lands in the kept part of the line
    let pad = MAX_LINE - 5;
    run(&format!("head -c {pad} /dev/zero | tr '\\0' x; printf '%s\\n' \"$S\"; echo after"), &[("S", secret)], &sink).await;
    let lines = stored(&hub, "deploy:2").await;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].line, format!("{}[redacted] […line cut at 16 KiB]", "x".repeat(pad)));
    assert_eq!(lines[1].line, "after");
}

#[tokio::test]
async fn a_cut_inside_a_multibyte_character_keeps_the_text_valid() {
    let (hub, _d) = hub().await;
    let secret = "é-secret-é";
    let sink = hub.open("deploy:3", vec![secret.to_string()]).await;
    // `é` is two bytes: the first cut falls inside it, the second right after "é-"
    let line = |pad: usize| format!("head -c {pad} /dev/zero | tr '\\0' x; printf '%s\\n' \"$S\";");
    run(&format!("{} {}", line(MAX_LINE - 1), line(MAX_LINE - 3)), &[("S", secret)], &sink).await;
    let lines = stored(&hub, "deploy:3").await;
    assert_eq!(lines[0].line, format!("{} […line cut at 16 KiB]", "x".repeat(MAX_LINE - 1)));
    assert_eq!(lines[1].line, format!("{}[redacted] […line cut at 16 KiB]", "x".repeat(MAX_LINE - 3)));
}

#[tokio::test]
async fn the_app_channel_redacts_old_and_new_values_while_both_versions_run() {
    let (hub, _d) = hub().await;
    let old = hub.open("app:1", vec!["old-db-password".into()]).await;
    let new = hub.open("app:1", vec!["new-db-password".into()]).await;
    let both = "old=$OLD new=$NEW";
    run(&format!("echo \"draining {both}\""), &[("OLD", "old-db-password"), ("NEW", "new-db-password")], &old).await;
    run(&format!("echo \"starting {both}\""), &[("OLD", "old-db-password"), ("NEW", "new-db-password")], &new).await;
    let lines = stored(&hub, "app:1").await;
    assert_eq!(texts(&lines), ["draining old=[redacted] new=[redacted]", "starting old=[redacted] new=[redacted]"]);
    drop(old);
    new.line("stdout", "new-db-password still hidden");
    assert_eq!(texts(&stored(&hub, "app:1").await)[2], "[redacted] still hidden");
}
