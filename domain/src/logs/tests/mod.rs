//! Log hub tests against a real SQLite store; `flood.rs` and `redaction.rs` drive it with real
//! processes through the pump.

mod flood;
mod redaction;

use std::time::Duration;

use tokio::sync::broadcast;

use super::*;

pub(super) async fn hub_with(limits: LogLimits) -> (LogHub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
    (LogHub::with_limits(store, limits), dir)
}

async fn hub() -> (LogHub, tempfile::TempDir) {
    hub_with(LogLimits::default()).await
}

pub(super) fn texts(lines: &[LogLine]) -> Vec<&str> {
    lines.iter().map(|l| l.line.as_str()).collect()
}

/// Everything stored for `channel`.
pub(super) async fn stored(hub: &LogHub, channel: &str) -> Vec<LogLine> {
    hub.flush().await;
    hub.page(channel, None, 100_000_000).await.unwrap()
}

/// Polls `check` for up to 10 s.
pub(super) async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..1000 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn secrets_are_redacted_before_lines_are_stored_or_streamed() {
    let (hub, _d) = hub().await;
    let sink = hub.open("deploy:1", vec!["hunter2-secret".into(), "x".into()]).await;
    let mut sub = hub.subscribe("deploy:1", 10).await.unwrap();
    sink.line("stdout", "password=hunter2-secret and x stays\n");
    match sub.live.recv().await.unwrap() {
        LogEvent::Line(l) => assert_eq!(l.line, "password=[redacted] and x stays"),
        other => panic!("{other:?}"),
    }
    assert_eq!(texts(&stored(&hub, "deploy:1").await), ["password=[redacted] and x stays"], "short values are not redacted");
}

#[tokio::test]
async fn a_subscription_continues_history_without_gaps_or_duplicates() {
    let (hub, _d) = hub().await;
    let sink = hub.open("app:1", vec![]).await;
    for i in 0..5 {
        sink.line("stdout", &format!("early {i}"));
    }
    let mut sub = hub.subscribe("app:1", 100).await.unwrap();
    sink.line("stdout", "late");
    let seqs: Vec<i64> = sub.history.iter().map(|l| l.seq).collect();
    assert_eq!((seqs.as_slice(), sub.older), ([1, 2, 3, 4, 5].as_slice(), false));
    match sub.live.recv().await.unwrap() {
        LogEvent::Line(l) => assert_eq!((l.seq, l.line.as_str()), (6, "late")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn history_is_capped_to_the_newest_lines_and_older_pages_come_on_request() {
    let (hub, _d) = hub().await;
    let sink = hub.open("deploy:4", vec![]).await;
    for i in 1..=50 {
        sink.info(&format!("line {i}"));
    }
    let sub = hub.subscribe("deploy:4", 10).await.unwrap();
    assert_eq!(sub.history.iter().map(|l| l.seq).collect::<Vec<_>>(), (41..=50).collect::<Vec<_>>());
    assert!(sub.older, "older lines exist");
    hub.flush().await;
    let page = hub.page("deploy:4", Some(41), 15).await.unwrap();
    assert_eq!(page.iter().map(|l| l.seq).collect::<Vec<_>>(), (26..=40).collect::<Vec<_>>());
    sink.end();
    hub.flush().await;
    let from_store = hub.subscribe("deploy:4", 10).await.unwrap();
    assert_eq!(from_store.history.iter().map(|l| l.seq).collect::<Vec<_>>(), (41..=50).collect::<Vec<_>>());
    assert!(from_store.older);
    let all = hub.subscribe("deploy:4", 50).await.unwrap();
    assert_eq!((all.history.len(), all.older), (50, false));
}

#[tokio::test]
async fn a_finished_channel_is_released_from_memory_and_history_comes_from_the_store() {
    let (hub, _d) = hub().await;
    let sink = hub.open("deploy:9", vec![]).await;
    sink.line("rhone", "one");
    sink.line("rhone", "two");
    assert_eq!(hub.memory(), HubMemory { channels: 1, ring_lines: 2, ring_bytes: 6 });
    sink.end();
    hub.flush().await;
    assert_eq!(hub.memory(), HubMemory { channels: 0, ring_lines: 0, ring_bytes: 0 }, "the ring is dropped after the end");
    sink.line("stdout", "after the end");
    assert_eq!(hub.memory().channels, 0, "a late line does not bring the channel back");
    let sub = hub.subscribe("deploy:9", 100).await.unwrap();
    assert_eq!(texts(&sub.history), ["one", "two"]);
    drop(sub);
    let again = hub.open("deploy:9", vec![]).await;
    again.line("rhone", "three");
    let lines = stored(&hub, "deploy:9").await;
    assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3]);
}

#[tokio::test]
async fn an_idle_channel_is_released_once_its_writers_and_readers_are_gone() {
    let (hub, _d) = hub().await;
    let sink = hub.open("app:3", vec![]).await;
    sink.line("stdout", "hello");
    let sub = hub.subscribe("app:3", 10).await.unwrap();
    drop(sink);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(hub.memory().channels, 1, "a follower keeps it");
    drop(sub);
    assert!(eventually(|| hub.memory().channels == 0).await, "idle channel still in memory: {:?}", hub.memory());
    assert_eq!(texts(&stored(&hub, "app:3").await), ["hello"]);
}

#[tokio::test]
async fn a_slow_subscriber_lags_instead_of_blocking_the_writer() {
    let (hub, _d) = hub_with(LogLimits { lines_per_sec: 1_000_000, ..LogLimits::default() }).await;
    let sink = hub.open("app:2", vec![]).await;
    let mut sub = hub.subscribe("app:2", 0).await.unwrap();
    for i in 0..3_000 {
        sink.line("stdout", &format!("line {i}"));
    }
    assert!(matches!(sub.live.recv().await, Err(broadcast::error::RecvError::Lagged(_))));
    assert_eq!(stored(&hub, "app:2").await.len(), 3_000, "every line is stored");
}

#[tokio::test]
async fn lines_over_the_rate_cap_are_dropped_and_counted_in_a_marker() {
    let (hub, _d) = hub_with(LogLimits { lines_per_sec: 100, ..LogLimits::default() }).await;
    let sink = hub.open("deploy:5", vec![]).await;
    for i in 0..1_000 {
        sink.line("stdout", &format!("line {i}"));
    }
    sink.info("rhone lines are never dropped");
    sink.end();
    let lines = stored(&hub, "deploy:5").await;
    let kept = lines.iter().filter(|l| l.stream == "stdout").count() as u64;
    let dropped: u64 = lines.iter().filter_map(|l| flood::dropped_count(&l.line)).sum();
    assert!(kept <= 700, "{kept} lines kept with a cap of 100/s and a 5 s burst");
    assert!(kept >= 500, "a burst of up to 5 s worth passes: {kept}");
    assert_eq!(kept + dropped, 1_000, "every line is kept or counted");
    assert!(texts(&lines).contains(&"rhone lines are never dropped"));
}

#[tokio::test]
async fn log_streams_per_user_are_capped_and_freed_when_closed() {
    let (hub, _d) = hub_with(LogLimits { streams_per_user: 2, ..LogLimits::default() }).await;
    let first = hub.open_stream(1).unwrap();
    let _second = hub.open_stream(1).unwrap();
    assert!(hub.open_stream(1).is_none(), "a third stream of the same user is refused");
    let _other_user = hub.open_stream(2).expect("other users are not affected");
    drop(first);
    assert!(hub.open_stream(1).is_some(), "a closed stream frees its slot");
}

#[tokio::test]
async fn rhone_lines_are_stored_even_when_a_burst_fills_the_store_queue() {
    let (hub, _d) = hub_with(LogLimits { lines_per_sec: 1_000_000, ..LogLimits::default() }).await;
    let sink = hub.open("deploy:9", vec![]).await;
    for i in 0..20_000 {
        sink.line("stdout", &format!("burst {i}"));
    }
    sink.info("health check passed: HTTP 200");
    for i in 0..20_000 {
        sink.line("stdout", &format!("more {i}"));
    }
    sink.info("traffic switched to the new version");
    sink.end();
    hub.flush().await;
    let lines = stored(&hub, "deploy:9").await;
    let all = texts(&lines);
    assert!(all.iter().any(|l| l.contains("lines were not stored")), "the burst overflowed the queue (what this test is about)");
    assert!(all.contains(&"health check passed: HTTP 200") && all.contains(&"traffic switched to the new version"), "a Rhone line was lost");
}

#[tokio::test]
async fn a_lagging_viewer_can_still_get_rhone_lines_of_the_gap_from_memory() {
    let (hub, _d) = hub().await;
    let sink = hub.open("deploy-9", vec![]).await;
    sink.info("building");
    for i in 0..50 {
        sink.line("stdout", &format!("app {i}"));
    }
    sink.info("health check passed");
    sink.line("stdout", "after");
    let between = hub.rhone_lines_between("deploy-9", 1, 60);
    assert_eq!(texts(&between), ["health check passed"], "only Rhone's lines, only inside the gap");
    assert!(hub.rhone_lines_between("deploy-9", 0, 2).iter().any(|l| l.line == "building"));
    assert!(hub.rhone_lines_between("unknown", 0, i64::MAX).is_empty());
}
