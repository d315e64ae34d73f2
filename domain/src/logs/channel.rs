//! One log channel in memory: the numbering, the bounded ring of recent lines, the live feed, the
//! per-second line cap and the env values of every sink writing to it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};

use super::redact::Secrets;
use super::writer::Queued;
use super::LogEvent;
use crate::model::LogLine;
use crate::store::now_ms;

/// Lines kept in memory per channel (older ones are read from the store)...
pub(crate) const RING_LINES: usize = 2_000;
/// ...and at most this many bytes of them.
pub(crate) const RING_BYTES: usize = 1024 * 1024;
/// Live events buffered per channel for subscribers; a slower subscriber lags. The buffer (~48 KiB)
/// is allocated when the channel gets its first subscriber: most channels (a live app nobody
/// watches) never do.
const FEED: usize = 512;
/// The rate cap's burst, in seconds' worth of `lines_per_sec`.
const BURST_SECS: f64 = 5.0;
/// The stream name of Rhone's own lines (never rate-limited).
pub(crate) const RHONE: &str = "rhone";

pub(crate) struct Channel {
    pub(crate) name: Arc<str>,
    state: Mutex<State>,
    /// The live feed, made by the first subscriber.
    tx: OnceLock<broadcast::Sender<LogEvent>>,
    lines_per_sec: u32,
    /// The hub's count of Rhone lines waiting for room in the store queue.
    pending: Arc<AtomicUsize>,
}

pub(crate) struct State {
    pub(crate) next_seq: i64,
    pub(crate) lines: VecDeque<LogLine>,
    ring_bytes: usize,
    /// The env values of each open sink, by sink id, and their union.
    sinks: Vec<(u64, Arc<Secrets>)>,
    secrets: Secrets,
    pub(crate) ended: bool,
    /// An eviction request is queued for the writer.
    pub(crate) evicting: bool,
    /// When the last "lines dropped" marker was written (at most one a second).
    window_start: Instant,
    /// The rate cap's token bucket: refilled at `lines_per_sec`, holding at most a burst.
    tokens: f64,
    refilled: Instant,
    /// Lines dropped by the rate cap since the last marker.
    dropped: u64,
    /// Lines the store queue had no room for since the last marker.
    unstored: u64,
}

impl Channel {
    pub(crate) fn new(name: &str, next_seq: i64, lines_per_sec: u32, pending: Arc<AtomicUsize>) -> Channel {
        Channel {
            name: name.into(),
            state: Mutex::new(State {
                next_seq,
                lines: VecDeque::new(),
                ring_bytes: 0,
                sinks: Vec::new(),
                secrets: Secrets::default(),
                ended: false,
                evicting: false,
                window_start: Instant::now(),
                tokens: f64::from(lines_per_sec) * BURST_SECS,
                refilled: Instant::now(),
                dropped: 0,
                unstored: 0,
            }),
            tx: OnceLock::new(),
            lines_per_sec,
            pending,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a sink's env values (redacted from every line while the sink is open).
    pub(crate) fn add_sink(&self, id: u64, secrets: Arc<Secrets>) {
        let mut st = self.lock();
        st.sinks.push((id, secrets));
        st.secrets = Secrets::union(st.sinks.iter().map(|(_, s)| s.as_ref()));
        st.ended = false;
    }

    pub(crate) fn remove_sink(&self, id: u64) {
        let mut st = self.lock();
        st.sinks.retain(|(sink, _)| *sink != id);
        st.secrets = Secrets::union(st.sinks.iter().map(|(_, s)| s.as_ref()));
    }

    /// A receiver of the live feed (events from now on).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LogEvent> {
        self.tx.get_or_init(|| broadcast::channel(FEED).0).subscribe()
    }

    fn subscribers(&self) -> usize {
        self.tx.get().map_or(0, broadcast::Sender::receiver_count)
    }

    /// No sink writes to it and nobody follows it: its memory can be released.
    pub(crate) fn idle(&self, st: &State) -> bool {
        st.sinks.is_empty() && self.subscribers() == 0
    }

    /// Appends a line: capped per second for app output, redacted, numbered, kept in the ring,
    /// broadcast and queued for the store. Never blocks on the store or on subscribers.
    pub(crate) fn push(&self, queue: &mpsc::Sender<Queued>, stream: &str, text: &str, cut: bool, release: Option<i64>) {
        let mut st = self.lock();
        if st.ended {
            return; // a finished channel takes no more lines
        }
        if stream != RHONE && !self.admit(&mut st, queue) {
            return;
        }
        let text = text.trim_end_matches(['\n', '\r']);
        let mut line = if st.secrets.is_empty() { text.to_owned() } else { st.secrets.redact(text, cut) };
        if cut {
            line.push_str(&format!(" […line cut at {} KiB]", super::MAX_LINE / 1024));
        }
        self.emit(&mut st, queue, stream, line, release);
    }

    /// The rate cap, a token bucket: `lines_per_sec` app lines a second on average, with bursts of
    /// up to `BURST_SECS` seconds' worth (a start-up burst passes whole, a flood does not); the
    /// rest are counted, and the count is reported in a marker line at most once a second.
    fn admit(&self, st: &mut State, queue: &mpsc::Sender<Queued>) -> bool {
        let rate = f64::from(self.lines_per_sec);
        let now = Instant::now();
        st.tokens = (st.tokens + now.duration_since(st.refilled).as_secs_f64() * rate).min(rate * BURST_SECS);
        st.refilled = now;
        if st.window_start.elapsed() >= Duration::from_secs(1) {
            self.report_dropped(st, queue);
            st.window_start = now;
        }
        if st.tokens >= 1.0 {
            st.tokens -= 1.0;
            true
        } else {
            st.dropped += 1;
            false
        }
    }

    /// Writes the "N lines dropped" marker if lines were dropped (at most once per window).
    pub(crate) fn report_dropped(&self, st: &mut State, queue: &mpsc::Sender<Queued>) {
        if st.dropped > 0 {
            let text = format!(
                "… {} lines dropped: this app printed more than {} lines per second",
                st.dropped, self.lines_per_sec
            );
            st.dropped = 0;
            self.emit(st, queue, RHONE, text, None);
        }
    }

    /// Reports dropped lines of a window that is over (called periodically).
    pub(crate) fn tick(&self, queue: &mpsc::Sender<Queued>) {
        let mut st = self.lock();
        if st.dropped > 0 && st.window_start.elapsed() >= Duration::from_secs(1) {
            self.report_dropped(&mut st, queue);
        }
    }

    fn emit(&self, st: &mut State, queue: &mpsc::Sender<Queued>, stream: &str, text: String, release: Option<i64>) {
        // the count of lines the store queue had no room for goes in only once there is room for it
        if st.unstored > 0 && queue.capacity() >= 2 {
            let n = std::mem::take(&mut st.unstored);
            let note = format!("… {n} lines were not stored: the log store fell behind");
            if let Err(q) = self.emit_line(st, queue, RHONE, note, None) {
                self.deliver_later(queue, q);
            }
        }
        if let Err(q) = self.emit_line(st, queue, stream, text, release) {
            if stream == RHONE {
                // Rhone's own lines (stages, verdicts) are never lost: they wait for room
                self.deliver_later(queue, q);
            } else {
                st.unstored += 1;
            }
        }
    }

    /// Queues a line for the store as soon as there is room; the hub's `flush` waits for it.
    /// Without a runtime (never in Rhone) the line is only in memory.
    fn deliver_later(&self, queue: &mpsc::Sender<Queued>, q: Queued) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (queue, pending) = (queue.clone(), self.pending.clone());
            pending.fetch_add(1, Ordering::AcqRel);
            rt.spawn(async move {
                let _ = queue.send(q).await;
                pending.fetch_sub(1, Ordering::AcqRel);
            });
        }
    }

    /// Numbers a line, keeps it in the ring, sends it live and queues it for the store; gives the
    /// line back if the store queue was full.
    fn emit_line(&self, st: &mut State, queue: &mpsc::Sender<Queued>, stream: &str, text: String, release: Option<i64>) -> Result<(), Queued> {
        let line = LogLine { seq: st.next_seq, at: now_ms(), stream: stream.to_owned(), line: text, release };
        st.next_seq += 1;
        st.ring_bytes += line.line.len();
        st.lines.push_back(line.clone());
        while st.lines.len() > RING_LINES || st.ring_bytes > RING_BYTES {
            match st.lines.pop_front() {
                Some(old) => st.ring_bytes -= old.line.len(),
                None => break,
            }
        }
        if let Some(tx) = self.tx.get().filter(|tx| tx.receiver_count() > 0) {
            let _ = tx.send(LogEvent::Line(line.clone()));
        }
        queue.try_send(Queued { channel: self.name.clone(), line }).map_err(|e| e.into_inner())
    }

    /// Marks the channel finished: the last marker is written, subscribers get `End`.
    pub(crate) fn end(&self, queue: &mpsc::Sender<Queued>) {
        let mut st = self.lock();
        if st.ended {
            return;
        }
        self.report_dropped(&mut st, queue);
        if st.unstored > 0 {
            // the last count of lines the store had no room for: written whatever the queue holds
            let n = std::mem::take(&mut st.unstored);
            let note = format!("… {n} lines were not stored: the log store fell behind");
            if let Err(q) = self.emit_line(&mut st, queue, RHONE, note, None) {
                self.deliver_later(queue, q);
            }
        }
        st.ended = true;
        if let Some(tx) = self.tx.get() {
            let _ = tx.send(LogEvent::End);
        }
    }

    /// Drops the ring (its lines are in the store by now).
    pub(crate) fn release(st: &mut State) {
        st.lines = VecDeque::new();
        st.ring_bytes = 0;
    }

    pub(crate) fn ring_len(&self) -> (usize, usize) {
        let st = self.lock();
        (st.lines.len(), st.ring_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_feed_buffer_exists_only_once_someone_follows_the_channel() {
        let (queue, _rx) = mpsc::channel(16);
        let ch = Channel::new("app:1", 1, 100, Arc::default());
        ch.push(&queue, "stdout", "before anyone follows\n", false, None);
        assert!(ch.tx.get().is_none(), "an unwatched channel allocated its feed");
        assert!(ch.idle(&ch.lock()), "no sink and no follower: idle");
        let mut live = ch.subscribe();
        assert!(!ch.idle(&ch.lock()), "a followed channel is not idle");
        ch.push(&queue, "stdout", "seen live\n", false, Some(3));
        ch.end(&queue);
        match live.try_recv() {
            Ok(LogEvent::Line(line)) => assert_eq!((line.seq, line.line.as_str(), line.release), (2, "seen live", Some(3))),
            other => panic!("{other:?}"),
        }
        assert!(matches!(live.try_recv(), Ok(LogEvent::End)));
    }
}
