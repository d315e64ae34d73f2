//! The log hub: every build and runtime line passes through here, and nothing in it grows without
//! bound. A line is rate-capped per channel (app output beyond `lines_per_sec` is dropped, counted
//! and reported in a "N lines dropped" marker), redacted (the env values of every sink writing to
//! the channel), numbered, kept in a bounded in-memory ring, broadcast to live subscribers (a slow
//! subscriber lags, it never blocks the app) and queued on a bounded queue for a background writer
//! that stores it in batches, bounded per channel. A finished or idle channel is released from
//! memory once its lines are stored; its history then comes from the store.

mod channel;
mod pump;
mod redact;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};

use channel::Channel;
use redact::Secrets;
use writer::{Control, Queued};

use crate::error::Result;
use crate::model::LogLine;
use crate::store::Store;

pub use pump::{pump, MAX_LINE};

pub const REDACTED: &str = "[redacted]";

pub fn deploy_channel(deployment_id: i64) -> String {
    format!("deploy:{deployment_id}")
}

pub fn app_channel(app_id: i64) -> String {
    format!("app:{app_id}")
}

/// The hub's bounds that an operator may tune (see `Settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// App output lines kept per channel per second; the rest are dropped and counted.
    pub lines_per_sec: u32,
    /// Log streams (SSE) one user may follow at the same time.
    pub streams_per_user: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits { lines_per_sec: 2_000, streams_per_user: 8 }
    }
}

#[derive(Debug, Clone)]
pub enum LogEvent {
    Line(LogLine),
    /// The channel will get no more lines (the deployment reached a final state).
    End,
}

/// A subscription: the newest history lines (oldest first) and the live feed that continues
/// right after them.
pub struct Subscription {
    pub history: Vec<LogLine>,
    /// Older lines than `history` exist (ask [`LogHub::page`] with `before = history[0].seq`).
    pub older: bool,
    pub ended: bool,
    pub live: broadcast::Receiver<LogEvent>,
}

/// What the hub holds in memory (for tests and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubMemory {
    pub channels: usize,
    pub ring_lines: usize,
    pub ring_bytes: usize,
}

#[derive(Clone)]
pub struct LogHub {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    channels: Mutex<HashMap<String, Arc<Channel>>>,
    store: Store,
    lines: mpsc::Sender<Queued>,
    control: mpsc::UnboundedSender<Control>,
    limits: LogLimits,
    streams: Arc<Mutex<HashMap<i64, usize>>>,
    next_sink: AtomicU64,
    /// Rhone lines waiting for room in the store queue (`flush` waits for them).
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl LogHub {
    /// Creates the hub with the default limits and spawns its tasks on the current tokio runtime.
    pub fn new(store: Store) -> LogHub {
        LogHub::with_limits(store, LogLimits::default())
    }

    pub fn with_limits(store: Store, limits: LogLimits) -> LogHub {
        let (lines, lines_rx) = mpsc::channel(writer::QUEUE);
        let (control, control_rx) = mpsc::unbounded_channel();
        let limits = LogLimits { lines_per_sec: limits.lines_per_sec.max(1), ..limits };
        let inner = Arc::new(Inner {
            channels: Mutex::default(),
            pending: Arc::default(),
            store: store.clone(),
            lines,
            control,
            limits,
            streams: Arc::default(),
            next_sink: AtomicU64::new(1),
        });
        tokio::spawn(writer::run(store, lines_rx, control_rx, Arc::downgrade(&inner)));
        tokio::spawn(tick_loop(Arc::downgrade(&inner)));
        LogHub { inner }
    }

    /// Runs `f` on the channel `name` (created from the store's last sequence if not in memory)
    /// while holding the channel map, so it cannot be released meanwhile.
    async fn with_channel<R>(&self, name: &str, f: impl FnOnce(&Arc<Channel>) -> R) -> R {
        if let Some(ch) = self.inner.lock().get(name) {
            return f(ch);
        }
        let last = self.inner.store.last_log_seq(name).await.unwrap_or_else(|e| {
            tracing::error!(channel = name, error = %e, "reading last log sequence failed");
            0
        });
        let mut map = self.inner.lock();
        let rate = self.inner.limits.lines_per_sec;
        let ch = map.entry(name.to_owned()).or_insert_with(|| Arc::new(Channel::new(name, last + 1, rate, self.inner.pending.clone())));
        f(ch)
    }

    /// Opens a channel for writing; `secrets` (env values) are redacted from every line of the
    /// channel while this sink (or a clone) is alive, together with those of other open sinks.
    pub async fn open(&self, name: &str, secrets: Vec<String>) -> LogSink {
        self.open_tagged(name, secrets, None).await
    }

    /// [`LogHub::open`] for one release's output in an app's runtime log: each line it writes
    /// carries the release number.
    pub async fn open_release(&self, name: &str, secrets: Vec<String>, release: i64) -> LogSink {
        self.open_tagged(name, secrets, Some(release)).await
    }

    async fn open_tagged(&self, name: &str, secrets: Vec<String>, release: Option<i64>) -> LogSink {
        let id = self.inner.next_sink.fetch_add(1, Ordering::Relaxed);
        let secrets = Arc::new(Secrets::new(secrets));
        let ch = self
            .with_channel(name, |ch| {
                ch.add_sink(id, secrets);
                ch.clone()
            })
            .await;
        LogSink { inner: Arc::new(SinkInner { ch, id, release, lines: self.inner.lines.clone(), control: self.inner.control.clone() }) }
    }

    /// The newest `limit` lines and the live feed after them.
    pub async fn subscribe(&self, name: &str, limit: usize) -> Result<Subscription> {
        let (mut recent, ended, live, next_seq) = self
            .with_channel(name, |ch| {
                let st = ch.lock();
                let skip = st.lines.len().saturating_sub(limit + 1);
                (st.lines.iter().skip(skip).cloned().collect::<Vec<_>>(), st.ended, ch.subscribe(), st.next_seq)
            })
            .await;
        if recent.len() > limit {
            recent.remove(0);
            return Ok(Subscription { history: recent, older: true, ended, live });
        }
        let first = recent.first().map_or(next_seq, |l| l.seq);
        let want = limit - recent.len();
        let mut stored = if first > 1 { self.inner.store.log_lines_before(name, first, want as i64 + 1).await? } else { vec![] };
        let older = stored.len() > want;
        stored.drain(..stored.len().saturating_sub(want));
        stored.extend(recent);
        Ok(Subscription { history: stored, older, ended, live })
    }

    /// Stored lines before `before` (all if `None`): the newest `limit` of them, oldest first.
    pub async fn page(&self, name: &str, before: Option<i64>, limit: usize) -> Result<Vec<LogLine>> {
        self.inner.store.log_lines_before(name, before.unwrap_or(i64::MAX), limit as i64).await
    }

    /// Rhone's own stored lines (stages, verdicts) before `before`, oldest first: what a late viewer of
    /// a long build log must still see when the history window starts later.
    pub async fn stages_before(&self, name: &str, before: i64, limit: usize) -> Result<Vec<LogLine>> {
        self.flush().await;
        self.inner.store.rhone_lines_before(name, before, limit as i64).await
    }

    /// Rhone's own lines (stages, verdicts) with `after < seq < before` still held in memory: what a
    /// viewer whose live feed lagged must not miss (app output it may skip; these it gets).
    pub fn rhone_lines_between(&self, name: &str, after: i64, before: i64) -> Vec<LogLine> {
        let Some(ch) = self.inner.lock().get(name).cloned() else { return Vec::new() };
        let st = ch.lock();
        st.lines.iter().filter(|l| l.seq > after && l.seq < before && l.stream == channel::RHONE).cloned().collect()
    }

    /// Stored lines after `after`: the newest `limit` of them, oldest first.
    pub async fn stored_after(&self, name: &str, after: i64, limit: usize) -> Result<Vec<LogLine>> {
        self.inner.store.log_lines(name, after, limit as i64).await
    }

    /// Waits until every line pushed so far has been stored (or dropped by a full queue), Rhone's
    /// own lines that were waiting for room included.
    pub async fn flush(&self) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.inner.pending.load(std::sync::atomic::Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (tx, rx) = oneshot::channel();
        if self.inner.control.send(Control::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// A slot for one log stream of `user_id`, or `None` if the user already follows
    /// [`LogHub::streams_per_user`] streams. The slot is freed when the permit is dropped.
    pub fn open_stream(&self, user_id: i64) -> Option<StreamPermit> {
        let mut streams = self.inner.streams.lock().unwrap_or_else(|p| p.into_inner());
        let open = streams.entry(user_id).or_insert(0);
        if *open >= self.inner.limits.streams_per_user {
            return None;
        }
        *open += 1;
        Some(StreamPermit { streams: self.inner.streams.clone(), user_id })
    }

    pub fn streams_per_user(&self) -> usize {
        self.inner.limits.streams_per_user
    }

    /// What the hub holds in memory right now.
    pub fn memory(&self) -> HubMemory {
        let map = self.inner.lock();
        let mut memory = HubMemory { channels: map.len(), ring_lines: 0, ring_bytes: 0 };
        for ch in map.values() {
            let (lines, bytes) = ch.ring_len();
            memory.ring_lines += lines;
            memory.ring_bytes += bytes;
        }
        memory
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Channel>>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reports windows of dropped lines and asks the writer to release finished or idle channels.
    fn tick(&self) {
        let map = self.lock();
        for ch in map.values() {
            ch.tick(&self.lines);
            let mut st = ch.lock();
            if !st.evicting && (st.ended || ch.idle(&st)) {
                st.evicting = true;
                let _ = self.control.send(Control::Evict(ch.clone()));
            }
        }
    }

    /// Called by the writer once the channel's queued lines are stored.
    fn evict(&self, ch: &Arc<Channel>) {
        let mut map = self.lock();
        let mut st = ch.lock();
        st.evicting = false;
        if st.ended || ch.idle(&st) {
            if map.get(&*ch.name).is_some_and(|c| Arc::ptr_eq(c, ch)) {
                map.remove(&*ch.name);
            }
            Channel::release(&mut st);
        }
    }
}

async fn tick_loop(hub: Weak<Inner>) {
    let mut interval = tokio::time::interval(Duration::from_millis(500));
    loop {
        interval.tick().await;
        match hub.upgrade() {
            Some(inner) => inner.tick(),
            None => break,
        }
    }
}

/// A writer handle for one channel; the channel redacts this sink's env values until the last
/// clone is dropped.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<SinkInner>,
}

struct SinkInner {
    ch: Arc<Channel>,
    id: u64,
    release: Option<i64>,
    lines: mpsc::Sender<Queued>,
    control: mpsc::UnboundedSender<Control>,
}

impl Drop for SinkInner {
    fn drop(&mut self) {
        self.ch.remove_sink(self.id);
    }
}

impl LogSink {
    /// Appends a line (trailing newline stripped, secrets redacted). Never blocks.
    pub fn line(&self, stream: &str, text: &str) {
        self.push(stream, text, false);
    }

    /// Appends a line; `cut` says it was cut at [`MAX_LINE`] (its tail may be part of a secret).
    pub(crate) fn push(&self, stream: &str, text: &str, cut: bool) {
        self.inner.ch.push(&self.inner.lines, stream, text, cut, self.inner.release);
    }

    /// Waits (briefly, a few ms at a time, at most `limit`) until the store queue has room for a
    /// chunk of lines. For readers that can pace themselves without slowing the app down (the
    /// output-file follower): they then lose no line to a full queue.
    pub async fn room(&self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.inner.lines.capacity() < self.inner.lines.max_capacity() / 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Rhone's own lines about the pipeline (never rate-limited).
    pub fn info(&self, text: &str) {
        self.line(channel::RHONE, text);
    }

    /// Marks the channel finished: subscribers get `End`, later lines are ignored, and the
    /// channel's memory is released once its lines are stored.
    pub fn end(&self) {
        let ch = &self.inner.ch;
        ch.end(&self.inner.lines);
        ch.lock().evicting = true;
        let _ = self.inner.control.send(Control::Evict(ch.clone()));
    }
}

/// One open log stream of a user; dropping it frees the slot.
pub struct StreamPermit {
    streams: Arc<Mutex<HashMap<i64, usize>>>,
    user_id: i64,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = streams.get_mut(&self.user_id) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.user_id);
            }
        }
    }
}
