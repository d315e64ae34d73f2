//! Who is the client: the peer address, or the address a trusted reverse proxy names in
//! `X-Forwarded-For`. Used by the dashboard listener (login limits) and the app proxy.

use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};

/// The client address a request is attributed to (set by the server for each request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// One address block, `10.0.0.0/8` or a single address (`192.0.2.1` = `/32`, `::1` = `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr> {
        let bad = || Error::invalid("trusted_proxies", format!("{s:?} is not an IP address or CIDR block like 10.0.0.0/8"));
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let addr: IpAddr = ip.parse().map_err(|_| bad())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The reverse proxies whose `X-Forwarded-For` is believed. Empty (the default): nobody's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// A list of addresses and CIDR blocks separated by commas or whitespace; empty means none.
    pub fn parse(list: &str) -> Result<TrustedProxies> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }
}

/// The client of a request that came from `peer` carrying these `X-Forwarded-For` header values
/// (in the order received). Only a trusted peer may name someone else: the list is read from the
/// right, skipping trusted proxies; the first other address is the client. An entry that is not an
/// address stops the walk at the last trusted hop, so a forged list never picks an arbitrary client.
pub fn client_ip<'a>(peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|v| v.split(',')).map(str::trim).collect();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !trusted.contains(ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly `[v6]:port` or `v4:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_contain_their_addresses_only() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.255.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(!net.contains(ip("::1")));
        assert!(Cidr::parse("192.0.2.7").unwrap().contains(ip("::ffff:192.0.2.7")), "v4-mapped v6 is the v4 address");
        assert!(Cidr::parse("2001:db8::/33").unwrap().contains(ip("2001:db8:7fff::1")));
        assert!(!Cidr::parse("2001:db8::/33").unwrap().contains(ip("2001:db8:8000::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
    }

    #[test]
    fn malformed_lists_are_clear_errors() {
        for bad in ["10.0.0.0/33", "example.com", "10.0.0/8", "::1/129", "1.2.3.4/x"] {
            let e = TrustedProxies::parse(bad).unwrap_err().to_string();
            assert!(e.contains("trusted_proxies") && e.contains(bad.split('/').next().unwrap()), "{bad}: {e}");
        }
        assert!(TrustedProxies::parse(" ").unwrap().is_empty());
        assert_eq!(TrustedProxies::parse("127.0.0.1, 10.0.0.0/8 ::1").unwrap().0.len(), 3);
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        assert_eq!(client_ip(ip("198.51.100.4"), ["203.0.113.1"], &none), ip("198.51.100.4"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_from_the_right() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // spoofed-by-client, real client, then an inner trusted hop
        assert_eq!(client_ip(ip("127.0.0.1"), ["6.6.6.6, 203.0.113.5", "10.0.0.2"], &t), ip("203.0.113.5"));
        assert_eq!(client_ip(ip("127.0.0.1"), ["[2001:db8::5]:4711"], &t), ip("2001:db8::5"));
        assert_eq!(client_ip(ip("127.0.0.1"), std::iter::empty(), &t), ip("127.0.0.1"), "no header: the proxy itself");
        assert_eq!(client_ip(ip("127.0.0.1"), ["10.0.0.9, 10.0.0.2"], &t), ip("10.0.0.9"), "all trusted: the leftmost");
    }

    #[test]
    fn garbage_in_the_list_stops_at_the_last_trusted_hop() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        assert_eq!(client_ip(ip("127.0.0.1"), ["203.0.113.5, nonsense, 10.0.0.3"], &t), ip("10.0.0.3"));
        assert_eq!(client_ip(ip("127.0.0.1"), ["unknown"], &t), ip("127.0.0.1"));
    }
}
