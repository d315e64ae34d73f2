//! The background writer: stores queued lines in batches, trims each channel to its bound, and
//! releases channels from memory once everything they queued is stored.
//!
//! Lines arrive on a bounded queue (a full queue drops the line and the channel counts it, so an
//! app is never blocked by the database); control messages (flush, evict) on a separate one.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::channel::Channel;
use super::Inner;
use crate::model::LogLine;
use crate::store::Store;

/// Lines waiting to be stored, across all channels.
pub(crate) const QUEUE: usize = 4_096;
/// Lines written per transaction at most.
const BATCH: usize = 500;
/// Lines stored per build log; per-app runtime logs keep `RUNTIME_KEEP`.
const BUILD_KEEP: i64 = 10_000;
const RUNTIME_KEEP: i64 = 5_000;

pub(crate) struct Queued {
    pub(crate) channel: Arc<str>,
    pub(crate) line: LogLine,
}

pub(crate) enum Control {
    /// Release a finished or idle channel once its queued lines are stored.
    Evict(Arc<Channel>),
    /// Answer once every line queued before this message is stored.
    Flush(oneshot::Sender<()>),
}

pub(crate) async fn run(store: Store, mut lines: mpsc::Receiver<Queued>, mut control: mpsc::UnboundedReceiver<Control>, hub: Weak<Inner>) {
    let mut written: HashMap<Arc<str>, i64> = HashMap::new();
    let mut batch: Vec<Queued> = Vec::new();
    loop {
        tokio::select! {
            biased;
            Some(message) = control.recv() => {
                while let Ok(item) = lines.try_recv() {
                    batch.push(item);
                    if batch.len() >= BATCH {
                        store_batch(&store, &mut batch, &mut written).await;
                    }
                }
                store_batch(&store, &mut batch, &mut written).await;
                match message {
                    Control::Flush(done) => {
                        let _ = done.send(());
                    }
                    Control::Evict(channel) => {
                        written.remove(&channel.name);
                        if let Some(hub) = hub.upgrade() {
                            hub.evict(&channel);
                        }
                    }
                }
            }
            Some(item) = lines.recv() => {
                batch.push(item);
                while batch.len() < BATCH {
                    match lines.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                store_batch(&store, &mut batch, &mut written).await;
            }
            else => break,
        }
    }
}

async fn store_batch(store: &Store, batch: &mut Vec<Queued>, written: &mut HashMap<Arc<str>, i64>) {
    let mut by_channel: HashMap<Arc<str>, Vec<LogLine>> = HashMap::new();
    for item in batch.drain(..) {
        by_channel.entry(item.channel).or_default().push(item.line);
    }
    for (channel, lines) in by_channel {
        if let Err(e) = store.insert_log_lines(&channel, &lines).await {
            tracing::error!(channel = %channel, error = %e, "storing log lines failed");
            continue;
        }
        let count = written.entry(channel.clone()).or_insert(0);
        *count += lines.len() as i64;
        if *count >= BATCH as i64 {
            *count = 0;
            let keep = if channel.starts_with("app:") { RUNTIME_KEEP } else { BUILD_KEEP };
            if let Err(e) = store.trim_log(&channel, keep).await {
                tracing::error!(channel = %channel, error = %e, "trimming log failed");
            }
        }
    }
}
