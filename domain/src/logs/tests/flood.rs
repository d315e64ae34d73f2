//! Real processes printing as fast as they can: Rhone keeps a bounded number of lines per second,
//! counts the rest in markers, and its memory for the channel stays bounded.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::Command;

use super::*;
use crate::logs::channel::{RING_BYTES, RING_LINES};

/// The count in a "… N lines dropped" marker.
pub(super) fn dropped_count(line: &str) -> Option<u64> {
    line.strip_prefix("… ")?.strip_suffix(" lines per second")?.split_once(" lines dropped")?.0.parse().ok()
}

/// The count in a "… N lines were not stored" marker (the store queue was full).
pub(super) fn unstored_count(line: &str) -> Option<u64> {
    line.strip_prefix("… ")?.split_once(" lines were not stored")?.0.parse().ok()
}

/// Samples the hub's memory until stopped; returns the largest ring seen (lines, bytes).
fn watch_memory(hub: &LogHub) -> (Arc<AtomicBool>, tokio::task::JoinHandle<(usize, usize)>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (hub, done) = (hub.clone(), stop.clone());
    let task = tokio::spawn(async move {
        let (lines, bytes) = (AtomicUsize::new(0), AtomicUsize::new(0));
        while !done.load(Ordering::Relaxed) {
            let m = hub.memory();
            lines.fetch_max(m.ring_lines, Ordering::Relaxed);
            bytes.fetch_max(m.ring_bytes, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (lines.into_inner(), bytes.into_inner())
    });
    (stop, task)
}

fn spawn(script: &str) -> tokio::process::Child {
    Command::new("sh").arg("-c").arg(script).stdout(Stdio::piped()).stdin(Stdio::null()).kill_on_drop(true).spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_capped_and_every_line_is_either_kept_or_counted() {
    const TOTAL: u64 = 2_000_000;
    const RATE: u32 = 1_000;
    let (hub, _d) = hub_with(LogLimits { lines_per_sec: RATE, ..LogLimits::default() }).await;
    let sink = hub.open("deploy:7", vec![]).await;
    let (stop, memory) = watch_memory(&hub);
    let mut child = spawn(&format!("seq 1 {TOTAL}"));
    let started = Instant::now();
    pump(child.stdout.take().unwrap(), "stdout", sink.clone(), None).await;
    let windows = started.elapsed().as_secs() + 2;
    assert!(child.wait().await.unwrap().success());
    sink.end();
    let lines = stored(&hub, "deploy:7").await;
    stop.store(true, Ordering::Relaxed);
    let (max_lines, max_bytes) = memory.await.unwrap();

    let kept: Vec<u64> = lines.iter().filter(|l| l.stream == "stdout").map(|l| l.line.parse().unwrap()).collect();
    let dropped: u64 = lines.iter().filter_map(|l| dropped_count(&l.line)).sum();
    let unstored: u64 = lines.iter().filter_map(|l| unstored_count(&l.line)).sum();
    assert!(dropped > 0, "no dropped-lines marker in {} stored lines", lines.len());
    assert_eq!(kept.len() as u64 + dropped + unstored, TOTAL, "every line is kept or counted");
    assert!(kept.len() as u64 <= u64::from(RATE) * (windows + 5), "{} lines kept in {windows} s (+5 s of burst)", kept.len());
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "kept lines are in order, without duplicates");
    assert!(max_lines <= RING_LINES && max_bytes <= RING_BYTES, "ring grew to {max_lines} lines / {max_bytes} bytes");
    assert_eq!(hub.memory().channels, 0, "the finished channel was released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_flood_gets_its_marker_without_an_end_and_memory_stays_bounded() {
    const RATE: u32 = 500;
    let (hub, _d) = hub_with(LogLimits { lines_per_sec: RATE, ..LogLimits::default() }).await;
    let sink = hub.open("app:7", vec![]).await;
    let (stop, memory) = watch_memory(&hub);
    let mut child = spawn("exec yes flood");
    let started = Instant::now();
    let pumping = tokio::spawn(pump(child.stdout.take().unwrap(), "stdout", sink.clone(), None));
    tokio::time::sleep(Duration::from_secs(2)).await;
    child.kill().await.unwrap();
    pumping.await.unwrap();
    let windows = started.elapsed().as_secs() + 2;
    // the last window's marker is written by the hub's timer, without any further line
    let mut marked = false;
    for _ in 0..300 {
        let newest = hub.page("app:7", None, 1).await.unwrap();
        if newest.first().is_some_and(|l| dropped_count(&l.line).is_some()) {
            marked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(marked, "no marker after the flood stopped");
    let lines = stored(&hub, "app:7").await;
    stop.store(true, Ordering::Relaxed);
    let (max_lines, max_bytes) = memory.await.unwrap();
    let kept = lines.iter().filter(|l| l.line == "flood").count() as u64;
    let markers: Vec<u64> = lines.iter().filter_map(|l| dropped_count(&l.line)).collect();
    assert!(kept <= u64::from(RATE) * (windows + 5), "{kept} lines kept in {windows} s (+5 s of burst)");
    assert!(!markers.is_empty() && markers.iter().all(|n| *n > 0), "{markers:?}");
    assert!(markers.len() as u64 <= windows, "at most one marker per window: {}", markers.len());
    assert!(max_lines <= RING_LINES && max_bytes <= RING_BYTES, "ring grew to {max_lines} lines / {max_bytes} bytes");
    assert!(hub.memory().ring_lines <= RING_LINES);
}

#[tokio::test]
async fn an_endless_line_is_cut_and_the_rest_is_skipped_without_buffering_it() {
    let (hub, _d) = hub().await;
    let sink = hub.open("deploy:8", vec![]).await;
    let mut child = spawn("head -c 20000000 /dev/zero | tr '\\0' x; echo; echo next");
    pump(child.stdout.take().unwrap(), "stdout", sink.clone(), None).await;
    assert!(child.wait().await.unwrap().success());
    let lines = stored(&hub, "deploy:8").await;
    assert_eq!(lines.len(), 2, "{:?}", lines.iter().map(|l| l.line.len()).collect::<Vec<_>>());
    assert_eq!(lines[0].line, format!("{} […line cut at 16 KiB]", "x".repeat(MAX_LINE)));
    assert_eq!(lines[1].line, "next");
}
