//! A map whose entries expire: values computed recently (a disk usage, a Stripe price), reused for a
//! while instead of being computed again on every request.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct TtlMap<K, V> {
    ttl: Duration,
    map: Arc<Mutex<HashMap<K, (Instant, V)>>>,
}

impl<K, V> Clone for TtlMap<K, V> {
    fn clone(&self) -> Self {
        TtlMap { ttl: self.ttl, map: self.map.clone() }
    }
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        TtlMap { ttl, map: Arc::default() }
    }

    /// The value put for `key` less than the TTL ago.
    pub(crate) fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    /// Keeps `value` for `key` (and drops what expired).
    pub(crate) fn put(&self, key: K, value: V) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < self.ttl);
        map.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_for_its_ttl_only() {
        let kept = TtlMap::<String, u32>::new(Duration::from_secs(60));
        kept.put("a".into(), 1);
        assert_eq!((kept.get("a"), kept.get("b")), (Some(1), None));
        let gone = TtlMap::<String, u32>::new(Duration::ZERO);
        gone.put("a".into(), 1);
        assert_eq!(gone.get("a"), None, "expired");
    }
}
