//! Drain: what one live version still has open (requests in flight, upgraded connections), and the
//! wake-up of whoever waits for that to reach zero after the version was retired.
//!
//! One atomic word holds everything, so the protocol is a single read-modify-write each way:
//! bit 63 = retired, bits 32..63 = open connections, bits 0..32 = requests in flight.
//! - `try_begin` adds a request and looks at the word *before* its add: if the retired bit was set
//!   it takes the request back and fails. Every `try_begin` is therefore ordered against `retire`:
//!   before it (counted, so the drain waits for it) or after it (refused, so the proxy looks the
//!   host up again and reaches the version that replaced this one).
//! - dropping a guard subtracts; the one that takes a retired word to zero wakes the waiters
//!   (`Notify::notify_waiters`, no polling).
//! - an upgraded request turns into a connection with one add (`+1 connection, -1 request`), so
//!   the count never passes through zero on the way.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

const RETIRED: u64 = 1 << 63;
const CONNECTION: u64 = 1 << 32;
const REQUESTS: u64 = CONNECTION - 1;
const OPEN: u64 = !RETIRED;

/// Requests and connections of one version, shared by its route and every guard it handed out.
#[derive(Debug, Default)]
pub struct Drain {
    state: AtomicU64,
    zero: Notify,
}

/// What was still open (when the drain ended, or now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Open {
    /// Requests whose response has not been fully sent (an SSE stream counts until it ends).
    pub requests: usize,
    /// Upgraded connections (WebSockets) still tunnelled.
    pub connections: usize,
}

impl Open {
    pub fn total(self) -> usize {
        self.requests + self.connections
    }

    fn of(state: u64) -> Open {
        // Both fields fit 31 bits; the casts cannot truncate on 64-bit targets.
        Open { requests: (state & REQUESTS) as usize, connections: ((state & OPEN) >> 32) as usize }
    }
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Everything the version had open ended.
    Drained,
    /// The timeout passed with these still open.
    TimedOut(Open),
}

impl Drain {
    /// Counts one request until the guard is dropped; `None` once the version is retired.
    pub fn try_begin(self: &Arc<Self>) -> Option<InFlight> {
        let before = self.state.fetch_add(1, SeqCst);
        if before & RETIRED != 0 {
            self.release(1);
            return None;
        }
        Some(InFlight(self.clone()))
    }

    /// What is open right now.
    pub fn open(&self) -> Open {
        Open::of(self.state.load(SeqCst))
    }

    pub fn is_retired(&self) -> bool {
        self.state.load(SeqCst) & RETIRED != 0
    }

    /// Refuses every later `try_begin`, then waits until all that is open has ended or `timeout`
    /// has passed. Calling it again (or concurrently) just waits again.
    pub async fn retire_and_drain(&self, timeout: Duration) -> DrainOutcome {
        self.state.fetch_or(RETIRED, SeqCst);
        match tokio::time::timeout(timeout, self.zero()).await {
            Ok(()) => DrainOutcome::Drained,
            Err(_) => match self.open() {
                open if open.total() == 0 => DrainOutcome::Drained,
                open => DrainOutcome::TimedOut(open),
            },
        }
    }

    /// Resolves once nothing is open. The waiter registers before it reads the count, so a
    /// guard dropped in between still wakes it.
    async fn zero(&self) {
        let notified = self.zero.notified();
        tokio::pin!(notified);
        loop {
            notified.as_mut().enable();
            if self.state.load(SeqCst) & OPEN == 0 {
                return;
            }
            notified.as_mut().await;
            notified.set(self.zero.notified());
        }
    }

    fn release(&self, amount: u64) {
        let after = self.state.fetch_sub(amount, SeqCst) - amount;
        if after == RETIRED {
            self.zero.notify_waiters();
        }
    }
}

/// One request in flight to a version; it ends when dropped. The proxy ties it to the response
/// body, so a streamed response (SSE) counts until its last byte was sent or the client left.
#[derive(Debug)]
pub struct InFlight(Arc<Drain>);

impl InFlight {
    /// The request was upgraded (101): it now counts as an open connection until dropped.
    pub fn upgraded(self) -> Connection {
        let drain = self.0.clone();
        std::mem::forget(self);
        // +1 connection -1 request in one add: the count never reads zero in between.
        drain.state.fetch_add(CONNECTION - 1, SeqCst);
        Connection(drain)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.release(1);
    }
}

/// An upgraded connection (WebSocket) open on a version; it ends when dropped.
#[derive(Debug)]
pub struct Connection(Arc<Drain>);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.release(CONNECTION);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain() -> Arc<Drain> {
        Arc::new(Drain::default())
    }

    #[test]
    fn guards_count_requests_and_connections_until_dropped() {
        let d = drain();
        let a = d.try_begin().expect("live");
        let b = d.try_begin().expect("live");
        assert_eq!(d.open(), Open { requests: 2, connections: 0 });
        let ws = b.upgraded();
        assert_eq!(d.open(), Open { requests: 1, connections: 1 });
        drop(a);
        drop(ws);
        assert_eq!(d.open(), Open::default());
    }

    #[tokio::test]
    async fn a_retired_version_refuses_new_requests() {
        let d = drain();
        assert!(matches!(d.retire_and_drain(Duration::from_secs(5)).await, DrainOutcome::Drained));
        assert!(d.is_retired());
        assert!(d.try_begin().is_none());
        assert_eq!(d.open(), Open::default(), "a refused request leaves nothing counted");
    }

    #[tokio::test]
    async fn the_drain_waits_for_the_last_guard_and_wakes_when_it_drops() {
        let d = drain();
        let request = d.try_begin().expect("live");
        let ws = d.try_begin().expect("live").upgraded();
        let waiter = tokio::spawn({
            let d = d.clone();
            // An hour: only the wake-up can end this wait within the test's bound below.
            async move { d.retire_and_drain(Duration::from_secs(3600)).await }
        });
        tokio::task::yield_now().await;
        drop(request);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "a WebSocket is still open");
        drop(ws);
        let outcome = tokio::time::timeout(Duration::from_secs(30), waiter).await.expect("woken by the last guard");
        assert_eq!(outcome.expect("waiter"), DrainOutcome::Drained);
    }

    #[tokio::test]
    async fn the_drain_gives_up_after_its_timeout_and_says_what_stayed_open() {
        let d = drain();
        let _request = d.try_begin().expect("live");
        let _ws = d.try_begin().expect("live").upgraded();
        let outcome = d.retire_and_drain(Duration::from_millis(50)).await;
        assert_eq!(outcome, DrainOutcome::TimedOut(Open { requests: 1, connections: 1 }));
    }

    #[test]
    fn racing_requests_either_count_or_are_refused_never_both() {
        let d = drain();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let d = d.clone();
                std::thread::spawn(move || {
                    let mut refused_after = None;
                    for i in 0..20_000u32 {
                        match d.try_begin() {
                            Some(guard) => {
                                assert!(refused_after.is_none(), "accepted after a refusal");
                                drop(guard);
                            }
                            None => refused_after = refused_after.or(Some(i)),
                        }
                    }
                })
            })
            .collect();
        let outcome = runtime.block_on(d.retire_and_drain(Duration::from_secs(60)));
        assert_eq!(outcome, DrainOutcome::Drained);
        assert!(d.try_begin().is_none());
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(d.open(), Open::default());
    }
}
