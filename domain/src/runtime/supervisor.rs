//! The supervisor every runtime shares: it watches one version's incarnation (a process group, a
//! container), restarts a live one that exits with backoff, stops it on request (graceful, then
//! forced), or lets go of it when Rhone shuts down with apps kept running. What an incarnation *is*
//! stays inside the runtime's [`Driver`]; the supervisor and its callers only see [`State`].

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Driver, Incarnation, InstanceId, StartSpec};

/// What happened to the version, as the supervisor last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Running as this instance (opaque outside its runtime).
    Running { instance: InstanceId },
    /// Live, it exited (why) and Rhone restarts it after the backoff.
    Restarting(String),
    /// Exited before it was marked live (a failed start): no restart.
    Exited(String),
    /// Live, but it kept crashing: restarts gave up after this many consecutive failures.
    Crashed(String),
    /// Stopped by Rhone (the incarnation is gone).
    Stopped,
    /// Rhone let go of it (shutting down with the apps kept running).
    Detached,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Request {
    Stop(Duration),
    Detach,
}

/// Rhone's handle on one running version, whatever runs it.
pub struct Instance {
    pub deployment_id: i64,
    pub replica: u32,
    pub port: u16,
    pub kind: &'static str,
    /// False while the instance is not running (restarting, crashed): balancing skips it.
    pub healthy: Arc<std::sync::atomic::AtomicBool>,
    state: watch::Receiver<State>,
    /// Crash restarts since Rhone started supervising it.
    restarts: Arc<AtomicU32>,
    request: watch::Sender<Option<Request>>,
    live: watch::Sender<bool>,
    driver: Arc<dyn Driver>,
}

impl Instance {
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// How many times the supervisor restarted it after a crash (since this Rhone supervises it).
    pub fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Why the version exited before it was marked live, if it did.
    pub fn exited(&self) -> Option<String> {
        match &*self.state.borrow() {
            State::Exited(why) => Some(why.clone()),
            _ => None,
        }
    }

    /// Checks that the socket listening on `port` belongs to this version (not to whoever bound the
    /// port first).
    pub fn check_listener(&self, port: u16) -> Result<(), String> {
        let State::Running { instance } = self.state() else {
            return Err("the app exited right after its health check (see the log above)".into());
        };
        self.driver.check_listener(&instance, port)
    }

    /// Follows state changes (e.g. to record the new instance after a crash restart).
    pub fn watch(&self) -> watch::Receiver<State> {
        self.state.clone()
    }

    /// From now on a crash restarts the version, and its output goes only to the runtime log.
    pub fn mark_live(&self) {
        let _ = self.live.send(true);
    }

    /// Stops the version: graceful stop, then forced after `grace`. Returns when it is gone.
    pub async fn stop(&self, grace: Duration) {
        let _ = self.request.send(Some(Request::Stop(grace)));
        let mut st = self.state.clone();
        let _ = st.wait_for(|s| *s == State::Stopped || *s == State::Detached).await;
    }

    /// Stops supervising and following the version, leaving it running.
    pub async fn detach(&self) {
        let _ = self.request.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(Request::Detach);
                true
            } else {
                false
            }
        });
        let mut st = self.state.clone();
        let _ = st.wait_for(|s| *s == State::Stopped || *s == State::Detached).await;
    }
}

/// Consecutive crashes of a live version (each within a minute of its start) before Rhone stops
/// restarting it and reports it `crashed`.
pub const CRASH_LIMIT: u32 = 5;

/// The first crash restart waits this long; each next one twice as long (at most 30 s).
pub const CRASH_BACKOFF: Duration = Duration::from_secs(1);

/// Starts supervising `first` (just launched, or re-adopted when `live`).
pub(super) fn supervise(driver: Arc<dyn Driver>, spec: StartSpec, first: Box<dyn Incarnation>, live_tx: watch::Sender<bool>, backoff: Duration) -> Arc<Instance> {
    let (state_tx, state_rx) = watch::channel(State::Running { instance: first.id() });
    let (req_tx, req_rx) = watch::channel(None);
    let live_rx = live_tx.subscribe();
    let restarts = Arc::new(AtomicU32::new(0));
    let inst = Arc::new(Instance {
        deployment_id: spec.deployment_id,
        replica: spec.replica,
        port: spec.port,
        kind: driver.kind(),
        healthy: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        state: state_rx,
        restarts: restarts.clone(),
        request: req_tx,
        live: live_tx,
        driver: driver.clone(),
    });
    let (done_tx, done_rx) = watch::channel(false);
    let followers = driver.follow(&spec, live_rx.clone(), done_rx);
    tokio::spawn(async move {
        let end = run(&*driver, spec, first, &state_tx, req_rx, live_rx, Backoff { base: backoff, restarts }).await;
        // let the followers read what the version wrote last, then publish the final state
        let _ = done_tx.send(true);
        for f in followers {
            let _ = f.await;
        }
        let _ = state_tx.send(end);
    });
    inst
}

/// Watches the incarnation until the version is stopped or detached; returns the final state.
async fn run(
    driver: &dyn Driver,
    spec: StartSpec,
    mut inc: Box<dyn Incarnation>,
    state: &watch::Sender<State>,
    mut request: watch::Receiver<Option<Request>>,
    live: watch::Receiver<bool>,
    restart: Backoff,
) -> State {
    let mut backoff = restart.base;
    let mut failures = 0u32;
    loop {
        let started = tokio::time::Instant::now();
        let mut req = request.clone();
        let mut probing = live.clone();
        tokio::select! {
            why = async {
                tokio::select! {
                    why = inc.wait() => why,
                    why = unhealthy(&spec, &mut probing) => {
                        spec.log.info(&format!("the app {why}; stopping it to restart it"));
                        let grace = spec.liveness.as_ref().map_or(Duration::from_secs(10), |l| l.stop_grace);
                        inc.terminate(grace).await;
                        why
                    }
                }
            } => {
                inc.cleanup().await;
                match *request.borrow() {
                    Some(Request::Stop(_)) => return State::Stopped,
                    Some(Request::Detach) => return State::Detached,
                    None => {}
                }
                if !*live.borrow() {
                    let _ = state.send(State::Exited(why));
                    // wait for the owner to stop us, so `stop()` still completes
                    return finish(requested(&mut request).await);
                }
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = restart.base;
                    failures = 0;
                }
                failures += 1;
                if failures >= CRASH_LIMIT {
                    let msg = format!("{why}; it crashed {failures} times in a row, so Rhone stopped restarting it (deploy again after fixing it)");
                    spec.log.info(&format!("the app {msg}"));
                    let _ = state.send(State::Crashed(msg));
                    return finish(requested(&mut request).await);
                }
                spec.log.info(&format!("the app {why}; restarting in {}", seconds(backoff)));
                let _ = state.send(State::Restarting(why));
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    r = requested(&mut request) => return finish(r),
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                match driver.launch(&spec, &live).await {
                    Ok(next) => {
                        restart.restarts.fetch_add(1, Ordering::Relaxed);
                        let _ = state.send(State::Running { instance: next.id() });
                        inc = next;
                    }
                    Err(e) => {
                        spec.log.info(&format!("restart failed: {e}"));
                        let _ = state.send(State::Crashed(format!("could not be restarted: {e}")));
                        return finish(requested(&mut request).await);
                    }
                }
            }
            r = requested(&mut req) => match r {
                Request::Stop(grace) => {
                    inc.terminate(grace).await;
                    return State::Stopped;
                }
                Request::Detach => {
                    inc.detach();
                    return State::Detached;
                }
            }
        }
    }
}

/// Resolves when the live instance failed its health check `failures` times in a row, with why;
/// never without liveness checks. Checks start once the version is live.
async fn unhealthy(spec: &StartSpec, live: &mut watch::Receiver<bool>) -> String {
    let Some(check) = &spec.liveness else { return std::future::pending().await };
    if live.wait_for(|l| *l).await.is_err() {
        return std::future::pending().await;
    }
    let mut failed = 0u32;
    loop {
        tokio::time::sleep(check.interval).await;
        match crate::pipeline::health::probe(spec.port, &check.path).await {
            Ok(code) if crate::pipeline::health::healthy(code) => failed = 0,
            outcome => {
                failed += 1;
                if failed >= check.failures.max(1) {
                    let last = match outcome {
                        Ok(code) => format!("HTTP {code}"),
                        Err(e) => e,
                    };
                    return format!("failed its health check (GET {}) {failed} times in a row (last: {last})", check.path);
                }
            }
        }
    }
}

/// The supervisor's restart policy and its count of restarts.
struct Backoff {
    base: Duration,
    restarts: Arc<AtomicU32>,
}

/// `1s`, `0.1s`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn finish(r: Request) -> State {
    match r {
        Request::Stop(_) => State::Stopped,
        Request::Detach => State::Detached,
    }
}

/// Resolves once a stop or detach was requested (holds no borrow of the watch value across awaits).
async fn requested(rx: &mut watch::Receiver<Option<Request>>) -> Request {
    match rx.wait_for(|s| s.is_some()).await {
        Ok(r) => r.unwrap_or(Request::Detach),
        Err(_) => Request::Detach,
    }
}
