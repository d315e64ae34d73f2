//! DNS-01 providers against real or stand-in DNS servers.

pub mod bind;
pub mod cloudflare;
