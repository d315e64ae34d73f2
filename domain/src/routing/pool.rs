//! The instances of a version with replicas: requests are balanced round-robin across the healthy
//! ones; with sticky sessions a client keeps reaching the instance its affinity cookie names (while
//! that instance is healthy). An instance is unhealthy while its runtime restarts it or after it
//! crashed; the supervisor flips the flag (the proxy never waits on anything to pick).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The cookie that pins a client to one replica (per app host).
pub const AFFINITY_COOKIE: &str = "rhone_replica";

#[derive(Debug)]
pub struct Backend {
    pub addr: SocketAddr,
    pub healthy: Arc<AtomicBool>,
}

#[derive(Debug)]
pub struct Pool {
    backends: Vec<Backend>,
    next: AtomicUsize,
    sticky: bool,
}

/// Where one request goes, and the affinity cookie to set on its response (sticky sessions, when
/// the client had none or its instance is gone).
#[derive(Debug, PartialEq, Eq)]
pub struct Pick {
    pub addr: SocketAddr,
    pub set_cookie: Option<String>,
}

impl PartialEq for Pool {
    fn eq(&self, other: &Pool) -> bool {
        self.sticky == other.sticky && self.addrs() == other.addrs()
    }
}

impl Eq for Pool {}

impl Pool {
    pub fn new(backends: Vec<Backend>, sticky: bool) -> Pool {
        Pool { backends, next: AtomicUsize::new(0), sticky }
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.backends.iter().map(|b| b.addr).collect()
    }

    pub fn backends(&self) -> &[Backend] {
        &self.backends
    }

    /// Picks an instance for a request whose `Cookie` header is `cookie`.
    pub fn pick(&self, cookie: Option<&str>) -> Option<Pick> {
        if self.backends.is_empty() {
            return None;
        }
        if self.sticky {
            if let Some(i) = cookie.and_then(affinity) {
                if let Some(b) = self.backends.get(i).filter(|b| b.healthy.load(Ordering::Relaxed)) {
                    return Some(Pick { addr: b.addr, set_cookie: None });
                }
            }
        }
        let n = self.backends.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        // the first healthy one from the round-robin position; if none is healthy, try anyway
        let i = (0..n).map(|k| (start + k) % n).find(|i| self.backends[*i].healthy.load(Ordering::Relaxed)).unwrap_or(start % n);
        let set_cookie = self.sticky.then(|| format!("{AFFINITY_COOKIE}={i}; Path=/; HttpOnly; SameSite=Lax"));
        Some(Pick { addr: self.backends[i].addr, set_cookie })
    }
}

/// The replica index in a `Cookie` header, if it carries ours.
fn affinity(header: &str) -> Option<usize> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == AFFINITY_COOKIE).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: u16, sticky: bool) -> Pool {
        Pool::new(
            (0..n).map(|i| Backend { addr: SocketAddr::from(([127, 0, 0, 1], 1000 + i)), healthy: Arc::new(AtomicBool::new(true)) }).collect(),
            sticky,
        )
    }

    #[test]
    fn round_robin_skips_unhealthy_instances() {
        let p = pool(3, false);
        let ports: Vec<u16> = (0..6).map(|_| p.pick(None).unwrap().addr.port()).collect();
        assert_eq!(ports, [1000, 1001, 1002, 1000, 1001, 1002]);
        p.backends[1].healthy.store(false, Ordering::Relaxed);
        let ports: Vec<u16> = (0..6).map(|_| p.pick(None).unwrap().addr.port()).collect();
        assert!(!ports.contains(&1001), "{ports:?}");
        assert!(ports.contains(&1000) && ports.contains(&1002), "{ports:?}");
    }

    #[test]
    fn sticky_clients_keep_their_instance_until_it_is_unhealthy() {
        let p = pool(3, true);
        let first = p.pick(None).unwrap();
        let cookie = first.set_cookie.clone().expect("a new client gets an affinity cookie");
        let value = cookie.split(';').next().unwrap().to_string();
        for _ in 0..5 {
            let again = p.pick(Some(&format!("other=1; {value}"))).unwrap();
            assert_eq!(again, Pick { addr: first.addr, set_cookie: None });
        }
        let i = affinity(&value).unwrap();
        p.backends[i].healthy.store(false, Ordering::Relaxed);
        let moved = p.pick(Some(&value)).unwrap();
        assert_ne!(moved.addr, first.addr, "an unhealthy instance's clients move");
        assert!(moved.set_cookie.is_some(), "and get a new affinity");
    }

    #[test]
    fn forged_affinity_values_fall_back_to_balancing() {
        let p = pool(2, true);
        for bad in ["rhone_replica=99", "rhone_replica=-1", "rhone_replica=abc", "rhone_replica=", "rhone_replica"] {
            let pick = p.pick(Some(bad)).unwrap();
            assert!(pick.set_cookie.is_some(), "{bad}");
        }
        assert!(pool(2, false).pick(Some("rhone_replica=1")).unwrap().set_cookie.is_none(), "no cookies without sticky sessions");
    }
}
