//! The routing table the reverse proxy reads on every request.
//!
//! The table is an immutable map swapped atomically (`ArcSwap`): readers never take a lock and never
//! touch the database. Writers (the deploy pipeline, app create/delete, startup) clone-modify-swap.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

/// Where a live version is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A process listening on a loopback address.
    Http(SocketAddr),
    /// A static site served by Rhone itself from this directory.
    Static(PathBuf),
}

/// The live version of one app.
#[derive(Debug)]
pub struct Route {
    pub app_slug: String,
    pub deployment_id: i64,
    pub target: Target,
    inflight: Arc<AtomicUsize>,
}

impl Route {
    pub fn new(app_slug: impl Into<String>, deployment_id: i64, target: Target) -> Self {
        Route { app_slug: app_slug.into(), deployment_id, target, inflight: Arc::default() }
    }

    /// Marks one request (or upgraded connection) as in flight until the guard is dropped.
    pub fn begin(&self) -> InFlight {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.inflight.clone())
    }

    /// Requests currently in flight to this version.
    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::SeqCst)
    }
}

/// Decrements the in-flight count of a version when dropped.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The result of looking up a request's `Host`.
#[derive(Debug, Clone)]
pub enum Lookup {
    Live(Arc<Route>),
    /// The app exists but has no live version (never deployed, or all versions failed).
    NoLiveVersion(String),
    Unknown,
}

type Table = HashMap<String, Option<Arc<Route>>>;

#[derive(Debug)]
pub struct RouteTable {
    base_domain: String,
    table: ArcSwap<Table>,
}

impl RouteTable {
    pub fn new(base_domain: impl Into<String>) -> Self {
        RouteTable { base_domain: base_domain.into().to_ascii_lowercase(), table: ArcSwap::default() }
    }

    pub fn base_domain(&self) -> &str {
        &self.base_domain
    }

    /// Finds the route for a `Host` header value (`slug.base-domain[:port]`).
    pub fn lookup(&self, host: &str) -> Lookup {
        let Some(slug) = slug_for_host(host, &self.base_domain) else { return Lookup::Unknown };
        match self.table.load().get(slug.as_str()) {
            Some(Some(route)) => Lookup::Live(route.clone()),
            Some(None) => Lookup::NoLiveVersion(slug),
            None => Lookup::Unknown,
        }
    }

    /// The live route of an app, if any.
    pub fn live(&self, slug: &str) -> Option<Arc<Route>> {
        self.table.load().get(slug).cloned().flatten()
    }

    /// Registers an app that has no live version yet (requests get 503, not 404).
    pub fn register(&self, slug: &str) {
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            t.entry(slug.to_string()).or_insert(None);
            t
        });
    }

    /// Atomically makes `route` the live version of its app; returns the route it replaced.
    pub fn switch(&self, route: Route) -> Option<Arc<Route>> {
        let route = Arc::new(route);
        let mut previous = None;
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            previous = t.insert(route.app_slug.clone(), Some(route.clone())).flatten();
            t
        });
        previous
    }

    /// The app keeps existing but has no live version any more; returns the route it had.
    pub fn clear(&self, slug: &str) -> Option<Arc<Route>> {
        let mut previous = None;
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            previous = t.get_mut(slug).and_then(Option::take);
            t
        });
        previous
    }

    /// Forgets an app entirely (it was deleted); returns the route it had.
    pub fn remove(&self, slug: &str) -> Option<Arc<Route>> {
        let mut previous = None;
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            previous = t.remove(slug).flatten();
            t
        });
        previous
    }
}

/// `myapp.localhost:8080` with base domain `localhost` → `myapp`. Only one label below the base domain.
pub fn slug_for_host(host: &str, base_domain: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.');
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    };
    let host = host.to_ascii_lowercase();
    let slug = host.strip_suffix(base_domain)?.strip_suffix('.')?;
    if slug.is_empty() || slug.contains('.') {
        return None;
    }
    Some(slug.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Target {
        Target::Http(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn host_with_port_and_mixed_case_maps_to_slug() {
        assert_eq!(slug_for_host("MyApp.Localhost:8080", "localhost").as_deref(), Some("myapp"));
        assert_eq!(slug_for_host("api.example.com", "example.com").as_deref(), Some("api"));
    }

    #[test]
    fn bare_base_domain_and_nested_labels_are_not_apps() {
        assert_eq!(slug_for_host("localhost:8080", "localhost"), None);
        assert_eq!(slug_for_host("a.b.localhost", "localhost"), None);
        assert_eq!(slug_for_host("evil-localhost", "localhost"), None);
        assert_eq!(slug_for_host("app.other.com", "localhost"), None);
    }

    #[test]
    fn registered_app_without_version_is_distinct_from_unknown() {
        let t = RouteTable::new("localhost");
        t.register("web");
        assert!(matches!(t.lookup("web.localhost"), Lookup::NoLiveVersion(s) if s == "web"));
        assert!(matches!(t.lookup("nope.localhost"), Lookup::Unknown));
    }

    #[test]
    fn switch_returns_previous_route_and_serves_new_one() {
        let t = RouteTable::new("localhost");
        assert!(t.switch(Route::new("web", 1, addr(1000))).is_none());
        let old = t.switch(Route::new("web", 2, addr(2000))).expect("previous route");
        assert_eq!(old.deployment_id, 1);
        match t.lookup("web.localhost") {
            Lookup::Live(r) => assert_eq!(r.target, addr(2000)),
            other => panic!("expected live route, got {other:?}"),
        }
    }

    #[test]
    fn inflight_guard_counts_until_dropped() {
        let r = Route::new("web", 1, addr(1000));
        let g1 = r.begin();
        let g2 = r.begin();
        assert_eq!(r.inflight(), 2);
        drop(g1);
        assert_eq!(r.inflight(), 1);
        drop(g2);
        assert_eq!(r.inflight(), 0);
    }

    #[test]
    fn clear_and_remove_forget_the_live_version() {
        let t = RouteTable::new("localhost");
        t.switch(Route::new("web", 1, addr(1000)));
        assert_eq!(t.clear("web").map(|r| r.deployment_id), Some(1));
        assert!(matches!(t.lookup("web.localhost"), Lookup::NoLiveVersion(_)));
        t.remove("web");
        assert!(matches!(t.lookup("web.localhost"), Lookup::Unknown));
    }
}
