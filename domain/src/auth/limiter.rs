//! Login attempt limits. Every attempt is counted *before* its password is checked, so a burst of
//! concurrent guesses counts each one. Limits apply per client address and per (account, client
//! address), never per account alone: nobody can lock the owner out from another address. Past the
//! free attempts each further one waits twice as long as the last (30 s doubling to 15 min).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug)]
struct Rule {
    /// Attempts allowed before the backoff starts.
    free: u32,
}

const PER_ACCOUNT_AND_CLIENT: Rule = Rule { free: 5 };
const PER_CLIENT: Rule = Rule { free: 30 };
const FIRST_WAIT: Duration = Duration::from_secs(30);
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// An entry with no attempt for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug)]
struct Entry {
    attempts: u32,
    blocked_until: Option<Instant>,
    last: Instant,
}

impl Entry {
    fn wait_after(rule: Rule, attempts: u32) -> Option<Duration> {
        let over = attempts.checked_sub(rule.free)?;
        Some(FIRST_WAIT.saturating_mul(1u32 << over.min(16)).min(MAX_WAIT))
    }
}

/// Keys of one attempt, handed back on success.
#[derive(Debug)]
pub struct Attempt {
    account: String,
    client: String,
}

#[derive(Clone, Default)]
pub struct LoginLimiter {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

/// The limit key of an address: IPv6 clients are grouped by their /64 (one subscriber's network).
fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

impl LoginLimiter {
    /// Counts an attempt on `account` from `client`, or refuses it while either key is backing off.
    pub fn begin(&self, account: &str, client: IpAddr) -> Result<Attempt> {
        let client = client_key(client);
        let attempt = Attempt { account: format!("acct:{account}|{client}"), client };
        let keys = [(&attempt.account, PER_ACCOUNT_AND_CLIENT), (&attempt.client, PER_CLIENT)];
        let now = Instant::now();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > MAX_ENTRIES {
            map.retain(|_, e| now.duration_since(e.last) < FORGET_AFTER);
            if map.len() > MAX_ENTRIES {
                map.retain(|_, e| e.blocked_until.is_some_and(|b| b > now));
            }
        }
        let wait = keys
            .iter()
            .filter_map(|(k, _)| map.get(*k))
            .filter(|e| now.duration_since(e.last) < FORGET_AFTER)
            .filter_map(|e| e.blocked_until.and_then(|b| b.checked_duration_since(now)))
            .max();
        if let Some(wait) = wait.filter(|w| !w.is_zero()) {
            return Err(Error::RateLimited { retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64 });
        }
        for (key, rule) in keys {
            let e = map.entry(key.clone()).or_insert(Entry { attempts: 0, blocked_until: None, last: now });
            if now.duration_since(e.last) >= FORGET_AFTER {
                e.attempts = 0;
            }
            e.attempts += 1;
            e.last = now;
            e.blocked_until = Entry::wait_after(rule, e.attempts).map(|w| now + w);
        }
        Ok(attempt)
    }

    /// The password was right: the (account, client) count starts over; the client's own count
    /// forgets this attempt only (a success on one account does not wipe guesses at others).
    pub fn succeeded(&self, attempt: Attempt) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&attempt.account);
        if let Some(e) = map.get_mut(&attempt.client) {
            e.attempts = e.attempts.saturating_sub(1);
            let now = Instant::now();
            e.blocked_until = Entry::wait_after(PER_CLIENT, e.attempts).map(|w| now + w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_sixth_attempt_on_an_account_from_one_address_waits() {
        let l = LoginLimiter::default();
        for _ in 0..5 {
            l.begin("owner", ip("192.0.2.1")).unwrap();
        }
        assert!(matches!(l.begin("owner", ip("192.0.2.1")), Err(Error::RateLimited { retry_after_secs: 30 })));
        assert!(l.begin("owner", ip("192.0.2.2")).is_ok(), "another address can still log in to the same account");
        assert!(l.begin("someone-else", ip("192.0.2.1")).is_ok(), "another account from the same address");
    }

    #[test]
    fn attempts_count_before_their_outcome_is_known() {
        // five attempts in flight (none has failed or succeeded yet): the sixth is refused
        let l = LoginLimiter::default();
        let pending: Vec<Attempt> = (0..5).map(|_| l.begin("owner", ip("192.0.2.1")).unwrap()).collect();
        assert!(l.begin("owner", ip("192.0.2.1")).is_err());
        drop(pending);
    }

    #[test]
    fn a_success_starts_the_account_count_over() {
        let l = LoginLimiter::default();
        for _ in 0..4 {
            l.begin("owner", ip("192.0.2.1")).unwrap();
        }
        let ok = l.begin("owner", ip("192.0.2.1")).unwrap();
        l.succeeded(ok);
        for _ in 0..5 {
            l.begin("owner", ip("192.0.2.1")).unwrap();
        }
        assert!(l.begin("owner", ip("192.0.2.1")).is_err());
    }

    #[test]
    fn one_address_guessing_many_accounts_is_limited_too() {
        let l = LoginLimiter::default();
        for i in 0..30 {
            l.begin(&format!("user{i}"), ip("198.51.100.7")).unwrap();
        }
        assert!(l.begin("user-new", ip("198.51.100.7")).is_err());
        // the IPv6 addresses of one /64 share a budget
        for i in 0..30 {
            l.begin(&format!("user{i}"), ip(&format!("2001:db8:1:2::{i:x}"))).unwrap();
        }
        assert!(l.begin("user-new", ip("2001:db8:1:2:ffff::1")).is_err());
        assert!(l.begin("user-new", ip("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn the_wait_doubles_up_to_fifteen_minutes() {
        let waits: Vec<u64> = (5..14).map(|n| Entry::wait_after(PER_ACCOUNT_AND_CLIENT, n).unwrap().as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 900, 900, 900, 900]);
        assert_eq!(Entry::wait_after(PER_ACCOUNT_AND_CLIENT, 4), None);
    }
}
