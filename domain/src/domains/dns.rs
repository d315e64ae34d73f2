//! Rhone's DNS lookups for custom domains: hickory's resolver over the configured nameservers (UDP
//! and TCP; the system's without any), with no cache, so "check now" sees the records as they are.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;

use crate::error::{Error, Result};

/// Rhone's DNS lookups.
pub struct Dns {
    resolver: TokioResolver,
}

/// An answer: the records, or why there are none in words.
type Answer<T> = std::result::Result<Vec<T>, String>;

fn absolute(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

impl Dns {
    pub fn new(servers: &[SocketAddr]) -> Result<Dns> {
        let mut opts = ResolverOpts::default();
        opts.cache_size = 0;
        opts.timeout = Duration::from_secs(3);
        opts.attempts = 2;
        let builder = if servers.is_empty() {
            TokioResolver::builder(TokioConnectionProvider::default()).map_err(|e| Error::internal("reading /etc/resolv.conf", e))?
        } else {
            let mut config = ResolverConfig::new();
            for s in servers {
                config.add_name_server(NameServerConfig::new(*s, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(*s, Protocol::Tcp));
            }
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        };
        Ok(Dns { resolver: builder.with_options(opts).build() })
    }

    async fn lookup(&self, name: &str, kind: RecordType) -> Answer<hickory_resolver::proto::rr::RData> {
        match self.resolver.lookup(absolute(name), kind).await {
            Ok(found) => Ok(found.iter().cloned().collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(format!("the lookup of {kind} {name} failed: {e}")),
        }
    }

    pub async fn txt(&self, name: &str) -> Answer<String> {
        Ok(self
            .lookup(name, RecordType::TXT)
            .await?
            .into_iter()
            .filter_map(|r| r.into_txt().ok())
            .map(|t| t.txt_data().iter().map(|part| String::from_utf8_lossy(part).into_owned()).collect::<String>())
            .collect())
    }

    pub async fn cname(&self, name: &str) -> Answer<String> {
        Ok(self.lookup(name, RecordType::CNAME).await?.into_iter().filter_map(|r| r.into_cname().ok()).map(|c| c.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()).collect())
    }

    pub async fn addresses(&self, name: &str) -> Answer<IpAddr> {
        let mut all: Vec<IpAddr> = self.lookup(name, RecordType::A).await?.into_iter().filter_map(|r| r.into_a().ok()).map(|a| IpAddr::V4(a.0)).collect();
        all.extend(self.lookup(name, RecordType::AAAA).await?.into_iter().filter_map(|r| r.into_aaaa().ok()).map(|a| IpAddr::V6(a.0)));
        Ok(all)
    }
}
