//! The routing table the reverse proxy reads on every request.
//!
//! The table is an immutable map swapped atomically (`ArcSwap`): readers never take a lock and never
//! touch the database. Writers (the deploy pipeline, app create/delete, startup) clone-modify-swap.

mod drain;
mod pool;

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use arc_swap::ArcSwap;

pub use drain::{Connection, Drain, DrainOutcome, InFlight, Open};
pub use pool::{Backend, Pick, Pool, AFFINITY_COOKIE};

/// Where a live version is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A process listening on a loopback address.
    Http(SocketAddr),
    /// Several instances (replicas), balanced.
    Pool(Arc<Pool>),
    /// A static site served by Rhone itself from `root`; with `spa`, a path that names no file
    /// answers the root's `index.html` (a single-page app's client-side routes).
    Static { root: PathBuf, spa: bool },
}

/// The live version of one app.
#[derive(Debug)]
pub struct Route {
    pub app_slug: String,
    pub deployment_id: i64,
    pub target: Target,
    drain: Arc<Drain>,
    /// Response body bytes sent to clients for this app (shared by its versions; the table hands
    /// it out when the route goes live, and takes the count for metering).
    sent: Arc<AtomicU64>,
}

impl Route {
    pub fn new(app_slug: impl Into<String>, deployment_id: i64, target: Target) -> Self {
        Route { app_slug: app_slug.into(), deployment_id, target, drain: Arc::default(), sent: Arc::default() }
    }

    /// Counts `n` bytes sent to a client (one relaxed atomic add: the hot path's only cost).
    pub fn count_sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// The counter, for a body that counts as it streams.
    pub fn sent_counter(&self) -> Arc<AtomicU64> {
        self.sent.clone()
    }

    /// Marks one request as in flight until the guard is dropped (`InFlight::upgraded` turns it
    /// into an open connection). `None` once the version is retired: the caller looks the host up
    /// again, which finds the version that replaced it.
    pub fn try_begin(&self) -> Option<InFlight> {
        self.drain.try_begin()
    }

    /// Requests in flight plus open connections.
    pub fn inflight(&self) -> usize {
        self.drain.open().total()
    }

    /// What this version has open right now.
    pub fn open(&self) -> Open {
        self.drain.open()
    }

    /// Stops new requests from reaching this version (call it after the table no longer points
    /// here), then waits until its requests and connections have ended or `timeout` passed.
    pub async fn retire_and_drain(&self, timeout: Duration) -> DrainOutcome {
        self.drain.retire_and_drain(timeout).await
    }
}

/// The result of looking up a request's `Host`.
#[derive(Debug, Clone)]
pub enum Lookup {
    Live(Arc<Route>),
    /// The app exists but has no live version (never deployed, or all versions failed).
    NoLiveVersion(String),
    /// The app was taken out of service by a user.
    Stopped(String),
    /// A custom domain that redirects (308) to this other domain of its app.
    Redirect(String),
    Unknown,
}

/// Where a verified custom domain goes: its app, or (apex ↔ www) another of the app's domains.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DomainRoute {
    slug: String,
    redirect: Option<String>,
    https: DomainHttps,
}

/// What the listeners do for a custom domain beyond routing it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DomainHttps {
    /// It has a certificate: the HTTPS listener serves it.
    pub certificate: bool,
    /// Plain HTTP requests get a 308 to HTTPS (the app's setting, once there is a certificate).
    pub redirect: bool,
    /// HTTPS responses carry `Strict-Transport-Security`.
    pub hsts: bool,
}

impl DomainHttps {
    /// Whether a request needs more than the fast path relays: a redirect on plain HTTP, a
    /// header added on HTTPS.
    pub fn needs_general_path(self, https: bool) -> bool {
        if https { self.hsts } else { self.redirect && self.certificate }
    }
}

type Table = HashMap<String, Option<Arc<Route>>>;

#[derive(Debug)]
pub struct RouteTable {
    base_domain: String,
    table: ArcSwap<Table>,
    /// Apps taken out of service (read only for apps without a live route).
    stopped: ArcSwap<std::collections::HashSet<String>>,
    /// Verified custom domains (lower case) → the app they route to.
    domains: ArcSwap<HashMap<String, DomainRoute>>,
    /// ACME http-01 challenges being answered: token → key authorization.
    challenges: ArcSwap<HashMap<String, String>>,
    /// What the listeners do for `{slug}.{base_domain}` hosts that have a certificate, by slug
    /// (empty while none has: the hot path then only loads it).
    slug_https: ArcSwap<HashMap<String, DomainHttps>>,
    /// The dashboard's public host and the route to its listener (when the proxy serves it).
    dashboard: ArcSwap<Option<(String, Arc<Route>)>>,
    /// Each app's byte counter (locked only when a route goes live and when counts are taken).
    meters: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl RouteTable {
    pub fn new(base_domain: impl Into<String>) -> Self {
        RouteTable {
            base_domain: base_domain.into().to_ascii_lowercase(),
            table: ArcSwap::default(),
            stopped: ArcSwap::default(),
            domains: ArcSwap::default(),
            challenges: ArcSwap::default(),
            slug_https: ArcSwap::default(),
            dashboard: ArcSwap::default(),
            meters: Mutex::default(),
        }
    }

    pub fn base_domain(&self) -> &str {
        &self.base_domain
    }

    /// Finds the route for a `Host` header value (`slug.base-domain[:port]`).
    /// Allocates nothing for a live app whose host is written in lower case (the usual case).
    pub fn lookup(&self, host: &str) -> Lookup {
        let slug = match slug_of(host, &self.base_domain) {
            Some(slug) => slug,
            None => match self.custom_domain(host) {
                Some(DomainRoute { redirect: Some(to), .. }) => return Lookup::Redirect(to),
                Some(DomainRoute { slug, .. }) => Cow::Owned(slug),
                None => return self.dashboard_route(host).map_or(Lookup::Unknown, Lookup::Live),
            },
        };
        match self.table.load().get(slug.as_ref()) {
            Some(Some(route)) => Lookup::Live(route.clone()),
            Some(None) if self.stopped.load().contains(slug.as_ref()) => Lookup::Stopped(slug.into_owned()),
            Some(None) => Lookup::NoLiveVersion(slug.into_owned()),
            // the dashboard's host may sit under the base domain too (no app has its name)
            None => self.dashboard_route(host).map_or(Lookup::Unknown, Lookup::Live),
        }
    }

    /// The dashboard's route when `host` is its public host.
    fn dashboard_route(&self, host: &str) -> Option<Arc<Route>> {
        let dashboard = self.dashboard.load();
        let (name, route) = dashboard.as_ref().as_ref()?;
        let (host, _) = split_port(host.trim().trim_end_matches('.'));
        host.eq_ignore_ascii_case(name).then(|| route.clone())
    }

    /// Routes `host` (the dashboard's public host, outside `base_domain`) to the dashboard
    /// listening at `addr`, so the HTTPS listener can serve it with its certificate.
    pub fn set_dashboard(&self, host: &str, addr: SocketAddr) {
        let route = Arc::new(Route::new("", 0, Target::Http(addr)));
        self.dashboard.store(Arc::new(Some((host.trim_end_matches('.').to_ascii_lowercase(), route))));
    }

    /// The app a verified custom domain routes to (`host` may carry a port and upper case).
    fn custom_domain(&self, host: &str) -> Option<DomainRoute> {
        let domains = self.domains.load();
        if domains.is_empty() {
            return None;
        }
        let (host, _) = split_port(host.trim().trim_end_matches('.'));
        domains.get(&host.to_ascii_lowercase()).cloned()
    }

    /// Routes a verified custom domain to app `slug`, or redirects it to `redirect` (another
    /// domain of the app).
    pub fn add_domain(&self, domain: &str, slug: &str, redirect: Option<&str>) {
        let key = domain.to_ascii_lowercase();
        let https = self.domains.load().get(&key).map(|r| r.https).unwrap_or_default();
        let route = DomainRoute { slug: slug.to_string(), redirect: redirect.map(str::to_ascii_lowercase), https };
        edit(&self.domains, |d| {
            d.insert(key.clone(), route.clone());
        });
    }

    /// Answers `/.well-known/acme-challenge/{token}` with `key_authorization` (on any host) until
    /// cleared.
    pub fn set_challenge(&self, token: &str, key_authorization: &str) {
        edit(&self.challenges, |c| {
            c.insert(token.to_string(), key_authorization.to_string());
        });
    }

    pub fn clear_challenge(&self, token: &str) {
        edit(&self.challenges, |c| {
            c.remove(token);
        });
    }

    /// The key authorization of an http-01 challenge being answered.
    pub fn challenge(&self, token: &str) -> Option<String> {
        let c = self.challenges.load();
        if c.is_empty() {
            return None;
        }
        c.get(token).cloned()
    }

    /// Whether any http-01 challenge is being answered (the proxy's fast path then lets the
    /// general path look at `/.well-known/acme-challenge/`).
    pub fn answering_challenges(&self) -> bool {
        !self.challenges.load().is_empty()
    }

    /// What the listeners do for `host` if it is a custom domain (port and case ignored).
    pub fn domain_https(&self, host: &str) -> Option<DomainHttps> {
        // asked on every request: `{slug}.{base_domain}` allocates nothing
        if let Some(slug) = slug_of(host, &self.base_domain) {
            let slugs = self.slug_https.load();
            return if slugs.is_empty() { None } else { slugs.get(slug.as_ref()).copied() };
        }
        if self.domains.load().is_empty() {
            return None;
        }
        self.custom_domain(host).map(|r| r.https)
    }

    /// Sets what the listeners do for `{slug}.{base_domain}` (`None`: it has no certificate).
    pub fn set_slug_https(&self, slug: &str, https: Option<DomainHttps>) {
        edit(&self.slug_https, |m| match https {
            Some(h) => {
                m.insert(slug.to_string(), h);
            }
            None => {
                m.remove(slug);
            }
        });
    }

    /// Updates what the listeners do for a custom domain (`f` changes its current flags).
    pub fn set_domain_https(&self, domain: &str, f: impl Fn(&mut DomainHttps)) {
        let key = domain.to_ascii_lowercase();
        edit(&self.domains, |d| {
            if let Some(r) = d.get_mut(&key) {
                f(&mut r.https);
            }
        });
    }

    /// Stops routing a custom domain.
    pub fn remove_domain(&self, domain: &str) {
        let key = domain.to_ascii_lowercase();
        edit(&self.domains, |d| {
            d.remove(&key);
        });
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
        let route = Arc::new(self.metered(route));
        let mut previous = None;
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            previous = t.insert(route.app_slug.clone(), Some(route.clone())).flatten();
            t
        });
        previous
    }

    /// Gives `route` its app's byte counter.
    fn metered(&self, mut route: Route) -> Route {
        let mut meters = self.meters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        route.sent = meters.entry(route.app_slug.clone()).or_default().clone();
        route
    }

    /// Takes each app's bytes sent since the last call: (slug, bytes), only apps that sent any.
    pub fn take_sent(&self) -> Vec<(String, u64)> {
        let meters = self.meters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        meters.iter().filter_map(|(slug, c)| Some((slug.clone(), c.swap(0, Ordering::Relaxed))).filter(|(_, n)| *n > 0)).collect()
    }

    /// Puts back a count that could not be stored (it is taken again next time).
    pub fn return_sent(&self, slug: &str, n: u64) {
        let mut meters = self.meters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        meters.entry(slug.to_string()).or_default().fetch_add(n, Ordering::Relaxed);
    }

    /// Makes `route` live only if the app's live version is still `current` (a newer deploy may
    /// have switched meanwhile); true if it did.
    pub fn switch_if_live(&self, current: i64, route: Route) -> bool {
        let route = Arc::new(self.metered(route));
        let mut done = false;
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            done = false;
            if let Some(slot) = t.get_mut(route.app_slug.as_str()) {
                if slot.as_ref().is_some_and(|r| r.deployment_id == current) {
                    *slot = Some(route.clone());
                    done = true;
                }
            }
            t
        });
        done
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

    /// Takes an app out of service: requests get "stopped" (503) until [`RouteTable::unstop`];
    /// returns the route it had.
    pub fn stop(&self, slug: &str) -> Option<Arc<Route>> {
        self.stopped.rcu(|s| {
            let mut s = std::collections::HashSet::clone(s);
            s.insert(slug.to_string());
            s
        });
        self.register(slug);
        self.clear(slug)
    }

    /// The app is in service again (its next live version serves it).
    pub fn unstop(&self, slug: &str) {
        self.stopped.rcu(|s| {
            let mut s = std::collections::HashSet::clone(s);
            s.remove(slug);
            s
        });
    }

    /// Forgets an app entirely (it was deleted); returns the route it had.
    pub fn remove(&self, slug: &str) -> Option<Arc<Route>> {
        self.unstop(slug);
        let mut previous = None;
        self.table.rcu(|t| {
            let mut t = Table::clone(t);
            previous = t.remove(slug).flatten();
            t
        });
        edit(&self.domains, |d| d.retain(|_, r| r.slug != slug));
        previous
    }
}

/// A `Host` value's name and port (`shop.example.com:8080` → the name and `8080`; a port may be
/// empty, `host:`). An IPv6 literal's colons are not a port.
pub fn split_port(host: &str) -> (&str, Option<&str>) {
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => (h, Some(port)),
        _ => (host, None),
    }
}

/// Replaces the value behind `cell` with a changed copy (readers keep the one they loaded).
pub(crate) fn edit<T: Clone>(cell: &ArcSwap<T>, f: impl Fn(&mut T)) {
    cell.rcu(|old| {
        let mut new = T::clone(old);
        f(&mut new);
        new
    });
}

/// `myapp.localhost:8080` with base domain `localhost` → `myapp`. Only one label below the base domain.
pub fn slug_for_host(host: &str, base_domain: &str) -> Option<String> {
    slug_of(host, base_domain).map(Cow::into_owned)
}

/// [`slug_for_host`], borrowed from `host` unless it has upper-case letters. `base_domain` is
/// lower case.
fn slug_of<'a>(host: &'a str, base_domain: &str) -> Option<Cow<'a, str>> {
    let (host, _) = split_port(host.trim().trim_end_matches('.'));
    let split = host.len().checked_sub(base_domain.len())?;
    if !host.is_char_boundary(split) || !host[split..].eq_ignore_ascii_case(base_domain) {
        return None;
    }
    let slug = host[..split].strip_suffix('.')?;
    if slug.is_empty() || slug.contains('.') {
        return None;
    }
    Some(if slug.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(slug.to_ascii_lowercase()) } else { Cow::Borrowed(slug) })
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
    fn hosts_with_non_ascii_text_are_matched_byte_for_byte_and_never_panic() {
        assert_eq!(slug_for_host("é.localhost", "localhost").as_deref(), Some("é"));
        assert_eq!(slug_for_host("aé", "é"), None);
        assert_eq!(slug_for_host("é", "localhost"), None);
        assert_eq!(slug_for_host("xé.example", "é.example"), None);
        assert_eq!(slug_for_host(".localhost", "localhost"), None);
    }

    #[test]
    fn registered_app_without_version_is_distinct_from_unknown() {
        let t = RouteTable::new("localhost");
        t.register("web");
        assert!(matches!(t.lookup("web.localhost"), Lookup::NoLiveVersion(s) if s == "web"));
        assert!(matches!(t.lookup("nope.localhost"), Lookup::Unknown));
    }

    #[test]
    fn a_verified_custom_domain_routes_to_its_app_until_removed_or_the_app_goes() {
        let t = RouteTable::new("localhost");
        t.switch(Route::new("shop", 1, addr(1000)));
        assert!(matches!(t.lookup("shop.example.com"), Lookup::Unknown));
        t.add_domain("Shop.Example.com", "shop", None);
        for host in ["shop.example.com", "SHOP.example.COM:8080", "shop.example.com."] {
            assert!(matches!(t.lookup(host), Lookup::Live(ref r) if r.app_slug == "shop"), "{host}");
        }
        assert!(matches!(t.lookup("www.shop.example.com"), Lookup::Unknown), "not its subdomains");
        t.remove_domain("shop.example.com");
        assert!(matches!(t.lookup("shop.example.com"), Lookup::Unknown));
        t.add_domain("example.com", "shop", Some("Shop.Example.com"));
        assert!(matches!(t.lookup("example.com:8080"), Lookup::Redirect(ref to) if to == "shop.example.com"));
        t.add_domain("shop.example.com", "shop", None);
        t.remove("shop");
        assert!(matches!(t.lookup("example.com"), Lookup::Unknown));
        assert!(matches!(t.lookup("shop.example.com"), Lookup::Unknown), "gone with its app");
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

    #[tokio::test]
    async fn a_request_that_found_the_old_route_before_the_switch_reaches_the_new_one() {
        let t = RouteTable::new("localhost");
        t.switch(Route::new("web", 1, addr(1000)));
        let Lookup::Live(stale) = t.lookup("web.localhost") else { panic!("live route") };
        let old = t.switch(Route::new("web", 2, addr(2000))).expect("previous route");
        assert_eq!(old.retire_and_drain(Duration::from_secs(1)).await, DrainOutcome::Drained);
        assert!(stale.try_begin().is_none(), "the retired version takes no new request");
        let Lookup::Live(fresh) = t.lookup("web.localhost") else { panic!("live route") };
        let _guard = fresh.try_begin().expect("the new version takes it");
        assert_eq!(fresh.deployment_id, 2);
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
