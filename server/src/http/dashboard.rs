//! Where the dashboard lives: its public URL (config `public_url`), the `Host` names it answers to
//! and the one origin whose cookie-authenticated writes it accepts.
//!
//! Without `public_url` it answers to its own listen address, `localhost` and the loopback
//! addresses on its port (and, when it listens on every interface, to any IP address on that port):
//! a DNS-rebinding page always names its own domain in `Host`, never an IP address, so it is refused.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// An `http(s)://host[:port]` origin, parsed from config (no path, query or credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    https: bool,
    host: String,
    port: u16,
}

impl PublicUrl {
    pub fn parse(s: &str) -> Result<PublicUrl, String> {
        let bad = |why: &str| format!("public_url must be an origin like https://rhone.example.com ({why}), got {s:?}");
        let t = s.trim().trim_end_matches('/');
        let (https, rest) = if let Some(r) = t.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = t.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("it starts with https:// or http://"));
        };
        if rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad("no path, query or credentials"));
        }
        let (host, port) = split_authority(rest).ok_or_else(|| bad("a host name and an optional port"))?;
        let port = port.unwrap_or(if https { 443 } else { 80 });
        if port == 0 || !valid_host(&host) {
            return Err(bad("a host name and an optional port"));
        }
        Ok(PublicUrl { https, host, port })
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn default_port(&self) -> u16 {
        if self.https { 443 } else { 80 }
    }
}

/// The origin, as browsers serialize it in `Origin` (default port left out).
impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        match self.port == self.default_port() {
            true => write!(f, "{scheme}://{}", self.host),
            false => write!(f, "{scheme}://{}:{}", self.host, self.port),
        }
    }
}

/// `host[:port]` → lowercase host (IPv6 in brackets) and the port if given; `None` if malformed.
fn split_authority(a: &str) -> Option<(String, Option<u16>)> {
    let a = a.to_ascii_lowercase();
    let (host, port) = if a.starts_with('[') {
        let end = a.find(']')?;
        let (h, rest) = a.split_at(end + 1);
        match rest {
            "" => (h.to_string(), None),
            r => (h.to_string(), Some(r.strip_prefix(':')?)),
        }
    } else {
        match a.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (a.clone(), None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let host = host.trim_end_matches('.').to_string();
    (!host.is_empty()).then_some((host, port))
}

fn valid_host(h: &str) -> bool {
    ip_of(h).is_some() || h.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// The address a `Host` names, if it is an IP literal (`127.0.0.1`, `[::1]`).
fn ip_of(host: &str) -> Option<IpAddr> {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).parse().ok()
}

/// The dashboard's identity: which `Host` it answers to and which `Origin` is its own.
#[derive(Debug, Clone)]
pub struct Dashboard {
    public: Option<PublicUrl>,
    listen: SocketAddr,
}

impl Dashboard {
    pub fn new(public: Option<PublicUrl>, listen: SocketAddr) -> Dashboard {
        Dashboard { public, listen }
    }

    /// Whether a request naming `host` (a `Host` header value) is for this dashboard.
    pub fn allows_host(&self, host: &str) -> bool {
        let Some((name, port)) = split_authority(host) else { return false };
        if let Some(p) = &self.public {
            if name == p.host && port.unwrap_or(p.default_port()) == p.port {
                return true;
            }
        }
        // Loopback and IP-literal names on the listen port: never the name of a rebinding page.
        if port.unwrap_or(80) != self.listen.port() {
            return false;
        }
        if name == "localhost" {
            return true;
        }
        match ip_of(&name) {
            Some(ip) => ip.is_loopback() || ip == self.listen.ip() || self.listen.ip().is_unspecified(),
            None => false,
        }
    }

    /// Whether `origin` (an `Origin` header value) is the dashboard's own, for a request whose
    /// `Host` (already allowed) is `host`.
    pub fn is_own_origin(&self, origin: &str, host: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        match &self.public {
            Some(p) => origin == p.to_string(),
            None => origin == format!("http://{}", host.trim().to_ascii_lowercase()),
        }
    }

    /// How to reach the dashboard, for messages.
    pub fn url(&self) -> String {
        match &self.public {
            Some(p) => p.to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether cookies must be `Secure` (and get the `__Host-` prefix): the public URL is https.
    pub fn https(&self) -> bool {
        self.public.as_ref().is_some_and(PublicUrl::is_https)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Dashboard {
        Dashboard::new(None, "127.0.0.1:3000".parse().unwrap())
    }

    #[test]
    fn public_urls_are_origins_only() {
        let p = PublicUrl::parse("https://Rhone.Example.com/").unwrap();
        assert_eq!(p.to_string(), "https://rhone.example.com");
        assert!(p.is_https());
        assert_eq!(PublicUrl::parse("http://10.0.0.5:8000").unwrap().to_string(), "http://10.0.0.5:8000");
        assert_eq!(PublicUrl::parse("https://[2001:db8::1]:443").unwrap().to_string(), "https://[2001:db8::1]");
        for bad in ["rhone.example.com", "https://x.example/dash", "https://u:p@x.example", "ftp://x", "https://x:99999", "https://", "https://a..b"] {
            let e = PublicUrl::parse(bad).unwrap_err();
            assert!(e.contains("public_url") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn without_public_url_only_loopback_names_on_the_port_are_allowed() {
        let d = local();
        for ok in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST:3000", "[::1]:3000", "localhost.:3000"] {
            assert!(d.allows_host(ok), "{ok}");
        }
        for bad in ["evil.example:3000", "127.0.0.1:3001", "localhost", "attacker.localtest.me:3000", "", "127.0.0.1:3000:1", "[::1"] {
            assert!(!d.allows_host(bad), "{bad}");
        }
    }

    #[test]
    fn listening_everywhere_allows_ip_literals_but_no_names() {
        let d = Dashboard::new(None, "0.0.0.0:3000".parse().unwrap());
        assert!(d.allows_host("192.168.1.20:3000"));
        assert!(!d.allows_host("rebind.example:3000"));
    }

    #[test]
    fn with_a_public_url_its_host_is_allowed_and_its_origin_is_the_only_one() {
        let d = Dashboard::new(Some(PublicUrl::parse("https://rhone.example.com").unwrap()), "127.0.0.1:3000".parse().unwrap());
        assert!(d.allows_host("rhone.example.com") && d.allows_host("rhone.example.com:443"));
        assert!(!d.allows_host("rhone.example.com:80") && !d.allows_host("app.example.com"));
        assert!(d.allows_host("127.0.0.1:3000"), "local health checks and CLI use still work");
        assert!(d.is_own_origin("https://rhone.example.com", "127.0.0.1:3000"));
        assert!(!d.is_own_origin("http://rhone.example.com", "rhone.example.com"));
        assert!(!d.is_own_origin("https://app.example.com", "rhone.example.com"));
        assert!(d.https());
    }

    #[test]
    fn without_public_url_the_origin_must_match_the_host() {
        let d = local();
        assert!(d.is_own_origin("http://localhost:3000", "localhost:3000"));
        assert!(!d.is_own_origin("http://localhost:3000", "127.0.0.1:3000"));
        assert!(!d.is_own_origin("null", "127.0.0.1:3000"));
        assert!(!d.is_own_origin("http://app.localhost:8080", "localhost:3000"));
        assert!(!d.https());
    }
}
