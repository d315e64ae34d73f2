//! The log hub: every build and runtime line passes through here. A line is redacted, numbered, kept in
//! a bounded in-memory ring, broadcast to live subscribers (a slow subscriber lags, it never blocks the
//! app being logged) and queued for a background writer that stores it in batches, bounded per channel.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};

use crate::model::LogLine;
use crate::store::{now_ms, Store};

/// Lines kept in memory per channel (older ones are read from the store).
const RING: usize = 2_000;
/// Lines stored per build log; per-app runtime logs keep `RUNTIME_KEEP`.
const BUILD_KEEP: i64 = 10_000;
const RUNTIME_KEEP: i64 = 5_000;
pub const REDACTED: &str = "[redacted]";

pub fn deploy_channel(deployment_id: i64) -> String {
    format!("deploy:{deployment_id}")
}

pub fn app_channel(app_id: i64) -> String {
    format!("app:{app_id}")
}

#[derive(Debug, Clone)]
pub enum LogEvent {
    Line(LogLine),
    /// The channel will get no more lines (the deployment reached a final state).
    End,
}

struct Channel {
    name: String,
    state: Mutex<Ring>,
    tx: broadcast::Sender<LogEvent>,
}

struct Ring {
    next_seq: i64,
    lines: VecDeque<LogLine>,
    secrets: Vec<String>,
    ended: bool,
}

enum Write {
    Line(String, LogLine),
    /// Drop the in-memory ring of a finished channel once its lines are stored.
    Evict(String),
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct LogHub {
    channels: Arc<Mutex<HashMap<String, Arc<Channel>>>>,
    store: Store,
    writer: mpsc::UnboundedSender<Write>,
}

/// A subscription: history (oldest first) and the live feed that continues right after it.
pub struct Subscription {
    pub history: Vec<LogLine>,
    pub ended: bool,
    pub live: broadcast::Receiver<LogEvent>,
}

impl LogHub {
    /// Creates the hub and spawns its writer task on the current tokio runtime.
    pub fn new(store: Store) -> LogHub {
        let (writer, rx) = mpsc::unbounded_channel();
        let hub = LogHub { channels: Arc::default(), store: store.clone(), writer };
        tokio::spawn(write_loop(store, rx, hub.channels.clone()));
        hub
    }

    async fn channel(&self, name: &str) -> Arc<Channel> {
        if let Some(c) = self.lock().get(name) {
            return c.clone();
        }
        let last = self.store.last_log_seq(name).await.unwrap_or_else(|e| {
            tracing::error!(channel = name, error = %e, "reading last log sequence failed");
            0
        });
        let fresh = Arc::new(Channel {
            name: name.to_string(),
            state: Mutex::new(Ring { next_seq: last + 1, lines: VecDeque::new(), secrets: vec![], ended: false }),
            tx: broadcast::channel(1024).0,
        });
        self.lock().entry(name.to_string()).or_insert(fresh).clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a channel for writing and sets the values to redact from its lines.
    pub async fn open(&self, name: &str, secrets: Vec<String>) -> LogSink {
        let ch = self.channel(name).await;
        {
            let mut st = ch.lock();
            st.secrets = secrets.into_iter().filter(|s| s.len() >= 3).collect();
            st.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            st.ended = false;
        }
        LogSink { ch, writer: self.writer.clone() }
    }

    pub async fn subscribe(&self, name: &str, history_limit: usize) -> crate::error::Result<Subscription> {
        let ch = self.channel(name).await;
        let (mut history, ended, live, first_mem) = {
            let st = ch.lock();
            let hist: Vec<LogLine> = st.lines.iter().cloned().collect();
            let first = hist.first().map(|l| l.seq).unwrap_or(st.next_seq);
            (hist, st.ended, ch.tx.subscribe(), first)
        };
        if history.len() < history_limit && first_mem > 1 {
            let want = (history_limit - history.len()) as i64;
            let mut older = self.store.log_lines(name, 0, i64::MAX).await?;
            older.retain(|l| l.seq < first_mem);
            let skip = older.len().saturating_sub(want as usize);
            older.drain(..skip);
            older.extend(history);
            history = older;
        }
        let skip = history.len().saturating_sub(history_limit);
        history.drain(..skip);
        Ok(Subscription { history, ended, live })
    }

    /// Stored lines after `after`, for callers that only want history.
    pub async fn history(&self, name: &str, limit: i64) -> crate::error::Result<Vec<LogLine>> {
        Ok(self.subscribe(name, limit.max(0) as usize).await?.history)
    }

    /// Waits until every line pushed so far has been stored.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.writer.send(Write::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// A writer handle for one channel.
#[derive(Clone)]
pub struct LogSink {
    ch: Arc<Channel>,
    writer: mpsc::UnboundedSender<Write>,
}

impl Channel {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl LogSink {
    /// Appends a line (trailing newline stripped, secrets redacted).
    pub fn line(&self, stream: &str, text: &str) {
        let text = text.trim_end_matches(['\n', '\r']);
        let mut st = self.ch.lock();
        let mut text = text.to_string();
        for s in &st.secrets {
            if text.contains(s.as_str()) {
                text = text.replace(s.as_str(), REDACTED);
            }
        }
        let line = LogLine { seq: st.next_seq, at: now_ms(), stream: stream.to_string(), line: text };
        st.next_seq += 1;
        if st.lines.len() == RING {
            st.lines.pop_front();
        }
        st.lines.push_back(line.clone());
        let _ = self.ch.tx.send(LogEvent::Line(line.clone()));
        let _ = self.writer.send(Write::Line(self.ch.name.clone(), line));
    }

    /// Rhone's own lines about the pipeline.
    pub fn info(&self, text: &str) {
        self.line("rhone", text);
    }

    /// Marks the channel finished: subscribers get `End` and new subscribers see `ended`.
    pub fn end(&self) {
        self.ch.lock().ended = true;
        let _ = self.ch.tx.send(LogEvent::End);
        let _ = self.writer.send(Write::Evict(self.ch.name.clone()));
    }
}

async fn write_loop(store: Store, mut rx: mpsc::UnboundedReceiver<Write>, channels: Arc<Mutex<HashMap<String, Arc<Channel>>>>) {
    let mut written: HashMap<String, i64> = HashMap::new();
    let mut batch: Vec<(String, LogLine)> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            match item {
                Write::Line(ch, line) => batch.push((ch, line)),
                Write::Evict(ch) => {
                    store_batch(&store, &mut batch, &mut written).await;
                    let mut map = channels.lock().unwrap_or_else(|p| p.into_inner());
                    // a channel re-opened since (a new writer) stays
                    if map.get(&ch).is_some_and(|c| c.lock().ended) {
                        map.remove(&ch);
                    }
                }
                Write::Flush(done) => {
                    store_batch(&store, &mut batch, &mut written).await;
                    let _ = done.send(());
                }
            }
            if batch.len() >= 500 {
                store_batch(&store, &mut batch, &mut written).await;
            }
            next = rx.try_recv().ok();
        }
        store_batch(&store, &mut batch, &mut written).await;
    }
}

async fn store_batch(store: &Store, batch: &mut Vec<(String, LogLine)>, written: &mut HashMap<String, i64>) {
    let mut by_channel: HashMap<String, Vec<LogLine>> = HashMap::new();
    for (ch, line) in batch.drain(..) {
        by_channel.entry(ch).or_default().push(line);
    }
    for (ch, lines) in by_channel {
        if let Err(e) = store.insert_log_lines(&ch, &lines).await {
            tracing::error!(channel = %ch, error = %e, "storing log lines failed");
            continue;
        }
        let w = written.entry(ch.clone()).or_insert(0);
        *w += lines.len() as i64;
        if *w >= 500 {
            *w = 0;
            let keep = if ch.starts_with("app:") { RUNTIME_KEEP } else { BUILD_KEEP };
            if let Err(e) = store.trim_log(&ch, keep).await {
                tracing::error!(channel = %ch, error = %e, "trimming log failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn hub() -> (LogHub, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}/t.db", dir.path().display())).await.unwrap();
        (LogHub::new(store), dir)
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
        hub.flush().await;
        let stored = hub.store.log_lines("deploy:1", 0, 10).await.unwrap();
        assert_eq!(stored[0].line, "password=[redacted] and x stays", "short values are not redacted");
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
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        match sub.live.recv().await.unwrap() {
            LogEvent::Line(l) => assert_eq!((l.seq, l.line.as_str()), (6, "late")),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn history_after_eviction_comes_from_the_store_and_sequence_continues() {
        let (hub, _d) = hub().await;
        let sink = hub.open("deploy:9", vec![]).await;
        sink.line("rhone", "one");
        sink.line("rhone", "two");
        sink.end();
        hub.flush().await;
        let sub = hub.subscribe("deploy:9", 100).await.unwrap();
        assert_eq!(sub.history.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(), ["one", "two"]);
        let again = hub.open("deploy:9", vec![]).await;
        again.line("rhone", "three");
        hub.flush().await;
        let lines = hub.store.log_lines("deploy:9", 0, 10).await.unwrap();
        assert_eq!(lines.iter().map(|l| l.seq).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_instead_of_blocking_the_writer() {
        let (hub, _d) = hub().await;
        let sink = hub.open("app:2", vec![]).await;
        let mut sub = hub.subscribe("app:2", 0).await.unwrap();
        for i in 0..5_000 {
            sink.line("stdout", &format!("line {i}"));
        }
        assert!(matches!(sub.live.recv().await, Err(broadcast::error::RecvError::Lagged(_))));
        hub.flush().await;
        assert_eq!(hub.store.last_log_seq("app:2").await.unwrap(), 5_000, "every line is stored");
    }
}
