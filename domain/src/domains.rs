//! Custom domains of apps. A team admin adds a domain to an app; it is routed only once verified —
//! a TXT record `_rhone-challenge.{domain}` holding the domain's token (proof of control), or a
//! CNAME to this installation's public hostname, or A/AAAA records that are all its public
//! addresses. Verification runs on request and periodically (`DomainChecks`); a verified domain
//! whose records stop pointing here for `UNROUTE_AFTER` checks in a row stops being routed. A domain
//! verified for one app cannot be claimed by another (a unique index on verified rows decides a
//! race); unverified claims may coexist, the first to verify wins.
//!
//! DNS goes through hickory's resolver with configurable nameservers (tests use a local DNS
//! server) and no cache, so "check now" sees the records as they are.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::jobs::Job;
use crate::policy::Action;
use crate::store::now_ms;
use crate::Services;

mod dns;
mod names;

pub use dns::Dns;
pub use names::{host_name, parse_domain};

/// The label a domain's TXT challenge lives under.
pub const CHALLENGE_LABEL: &str = "_rhone-challenge";
/// A verified domain stops being routed after this many failed periodic checks in a row.
pub const UNROUTE_AFTER: i64 = 3;
const MAX_DOMAINS_PER_APP: usize = 50;

/// Where this installation is reached, for the records a domain must have, and which nameservers
/// answer Rhone's lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSettings {
    /// What a domain's CNAME must point at (`public_hostname`).
    pub public_hostname: Option<String>,
    /// What a domain's A/AAAA records must be (`public_ips`).
    pub public_ips: Vec<IpAddr>,
    /// Nameservers (`dns_resolvers`); empty: the system's (`/etc/resolv.conf`).
    pub resolvers: Vec<SocketAddr>,
    /// How often every domain is checked again (`domain_check_interval_secs`).
    pub check_interval: Duration,
}

impl Default for DomainSettings {
    fn default() -> Self {
        DomainSettings { public_hostname: None, public_ips: Vec::new(), resolvers: Vec::new(), check_interval: Duration::from_secs(3600) }
    }
}

/// A record the domain's owner creates at their DNS provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsRecord {
    /// `TXT`, `CNAME`, `A` or `AAAA`.
    pub kind: String,
    pub name: String,
    pub value: String,
    /// Why: `verify` (proves control; enough alone) or `route` (sends visitors here).
    pub purpose: String,
}

/// One domain of an app, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDomain {
    pub domain: String,
    pub app: String,
    pub verified: bool,
    pub verified_at: Option<i64>,
    pub checked_at: Option<i64>,
    /// What the last check found wrong (the record missing or pointing elsewhere).
    pub last_error: Option<String>,
    /// `none` (no ACME, or not verified), `pending`, `issued` or `failed`.
    pub certificate: String,
    /// When the certificate expires (unix ms).
    pub expires_at: Option<i64>,
    /// Why the last issuance or renewal failed (a certificate still served stays `issued`).
    pub certificate_error: Option<String>,
    /// Said loudly (the app page's banner): the certificate has expired, or it is due for
    /// renewal and the renewal failed.
    pub certificate_warning: Option<String>,
    /// The records to create.
    pub records: Vec<DnsRecord>,
    pub created_at: i64,
    /// Another domain of the app this one redirects to (308, path and query kept), e.g. the
    /// apex to `www`.
    pub redirect_to: Option<String>,
}

/// A stored domain row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    pub id: i64,
    pub app_id: i64,
    pub app_slug: String,
    pub domain: String,
    pub token: String,
    pub verified_at: Option<i64>,
    pub checked_at: Option<i64>,
    pub last_error: Option<String>,
    pub failed_checks: i64,
    pub created_at: i64,
    /// Another domain of the app this one redirects to (308).
    pub redirect_to: Option<String>,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub domain: String,
    pub verified: bool,
    /// How it was verified (`txt`, `cname`, `address`).
    pub method: Option<String>,
    /// Each record that is missing or wrong, in words.
    pub problems: Vec<String>,
}

/// The value of a domain's TXT challenge.
pub fn challenge_value(token: &str) -> String {
    format!("rhone-verify={token}")
}

impl Services {
    fn records_for(&self, row: &DomainRow) -> Vec<DnsRecord> {
        let s = &self.settings.domains;
        let mut records = vec![DnsRecord {
            kind: "TXT".into(),
            name: format!("{CHALLENGE_LABEL}.{}", row.domain),
            value: challenge_value(&row.token),
            purpose: "verify".into(),
        }];
        if let Some(host) = &s.public_hostname {
            records.push(DnsRecord { kind: "CNAME".into(), name: row.domain.clone(), value: host.clone(), purpose: "route".into() });
        }
        for ip in &s.public_ips {
            let kind = if ip.is_ipv4() { "A" } else { "AAAA" };
            records.push(DnsRecord { kind: kind.into(), name: row.domain.clone(), value: ip.to_string(), purpose: "route".into() });
        }
        records
    }

    async fn shown(&self, row: DomainRow) -> Result<AppDomain> {
        let records = self.records_for(&row);
        let cert = self.store.certificate(&row.domain).await?.filter(|_| row.verified_at.is_some());
        let now = now_ms();
        let warning = cert.as_ref().and_then(|c| crate::tls::certificate_warning(&row.domain, c, now));
        let (certificate, expires_at, cert_error) = match cert {
            Some(c) => (c.shown_status(now), c.not_after, c.last_error),
            None => ("none".to_string(), None, None),
        };
        Ok(AppDomain {
            records,
            domain: row.domain,
            app: row.app_slug,
            verified: row.verified_at.is_some(),
            verified_at: row.verified_at,
            checked_at: row.checked_at,
            last_error: row.last_error,
            certificate,
            expires_at,
            certificate_error: cert_error,
            certificate_warning: warning,
            created_at: row.created_at,
            redirect_to: row.redirect_to,
        })
    }

    /// Adds `domain` to app `slug` (app admins); it is routed once verified.
    pub async fn add_domain(&self, actor: &Actor, slug: &str, domain: &str) -> Result<AppDomain> {
        let app = self.app_for(actor, slug, Action::UpdateApp).await?;
        let domain = parse_domain(domain, self.routes.base_domain())?;
        let mine = self.store.domains_of_app(app.id).await?;
        if mine.iter().any(|d| d.domain == domain) {
            return Err(Error::Conflict(format!("{domain} is already a domain of {slug}")));
        }
        self.check_limit(app.team_id, crate::billing::Limit::CustomDomains).await?;
        if mine.len() >= MAX_DOMAINS_PER_APP {
            return Err(Error::Conflict(format!("an app has at most {MAX_DOMAINS_PER_APP} domains")));
        }
        if self.store.verified_domain(&domain).await?.is_some() {
            return Err(Error::Conflict(format!("{domain} is verified for another app: it can be added here once it is removed there")));
        }
        let row = self.store.insert_domain(app.id, &domain, &crate::auth::random_token()).await?;
        self.record(&[app.team_id], actor.audit(crate::teams::AuditAction::AppUpdate, &app.slug, &format!("domain {domain} added"))).await;
        self.shown(row).await
    }

    pub async fn list_domains(&self, actor: &Actor, slug: &str) -> Result<Vec<AppDomain>> {
        let app = self.app_for(actor, slug, Action::ReadApp).await?;
        let mut out = Vec::new();
        for r in self.store.domains_of_app(app.id).await? {
            out.push(self.shown(r).await?);
        }
        Ok(out)
    }

    async fn domain_row(&self, actor: &Actor, slug: &str, domain: &str, action: Action) -> Result<(crate::model::App, DomainRow)> {
        let app = self.app_for(actor, slug, action).await?;
        let wanted = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let row = self.store.domains_of_app(app.id).await?.into_iter().find(|d| d.domain == wanted).ok_or(Error::NotFound("domain"))?;
        Ok((app, row))
    }

    pub async fn get_domain(&self, actor: &Actor, slug: &str, domain: &str) -> Result<AppDomain> {
        self.shown(self.domain_row(actor, slug, domain, Action::ReadApp).await?.1).await
    }

    /// Removes a domain: it stops being routed at once.
    pub async fn remove_domain(&self, actor: &Actor, slug: &str, domain: &str) -> Result<()> {
        let (app, row) = self.domain_row(actor, slug, domain, Action::UpdateApp).await?;
        self.store.delete_domain(row.id).await?;
        if row.verified_at.is_some() {
            self.routes.remove_domain(&row.domain);
            self.drop_certificate(&row.domain).await?;
        }
        self.record(&[app.team_id], actor.audit(crate::teams::AuditAction::AppUpdate, &app.slug, &format!("domain {} removed", row.domain))).await;
        Ok(())
    }

    /// Makes a domain redirect (308) to another domain of the same app, or (`None`) serve the app
    /// again (app admins). No chains: the target serves the app itself, and a domain others
    /// redirect to does not redirect.
    pub async fn set_domain_redirect(&self, actor: &Actor, slug: &str, domain: &str, to: Option<&str>) -> Result<AppDomain> {
        let (app, row) = self.domain_row(actor, slug, domain, Action::UpdateApp).await?;
        let all = self.store.domains_of_app(app.id).await?;
        let target = match to.map(|t| t.trim().trim_end_matches('.').to_ascii_lowercase()).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => {
                if t == row.domain {
                    return Err(Error::invalid("redirect_to", "a domain cannot redirect to itself"));
                }
                let Some(other) = all.iter().find(|d| d.domain == t) else {
                    return Err(Error::invalid("redirect_to", format!("{t} is not a domain of {slug}: add it first")));
                };
                if other.redirect_to.is_some() {
                    return Err(Error::Conflict(format!("{t} itself redirects to {}: redirect to the domain that serves the app", other.redirect_to.as_deref().unwrap_or_default())));
                }
                if let Some(source) = all.iter().find(|d| d.redirect_to.as_deref() == Some(row.domain.as_str())) {
                    return Err(Error::Conflict(format!("{} redirects to {}: change that first", source.domain, row.domain)));
                }
                Some(t)
            }
        };
        self.store.set_domain_redirect(row.id, target.as_deref()).await?;
        let row = self.store.domain(row.id).await?;
        if row.verified_at.is_some() {
            self.routes.add_domain(&row.domain, &row.app_slug, row.redirect_to.as_deref());
        }
        let what = match &row.redirect_to {
            Some(t) => format!("domain {} redirects to {t}", row.domain),
            None => format!("domain {} serves the app", row.domain),
        };
        self.record(&[app.team_id], actor.audit(crate::teams::AuditAction::AppUpdate, &app.slug, &what)).await;
        self.shown(row).await
    }

    /// Checks a domain now (app admins): the result says what is missing or wrong; a verified one is
    /// routed from now on.
    pub async fn verify_domain(&self, actor: &Actor, slug: &str, domain: &str) -> Result<(Verification, AppDomain)> {
        let (_, row) = self.domain_row(actor, slug, domain, Action::UpdateApp).await?;
        let v = self.check_domain(&row).await;
        let row = self.record_check(&row, &v, false).await?;
        let shown = self.shown(row).await?;
        Ok((Verification { verified: shown.verified, ..v }, shown))
    }

    /// What DNS says about `row` now.
    async fn check_domain(&self, row: &DomainRow) -> Verification {
        let s = &self.settings.domains;
        let d = &row.domain;
        let mut problems = Vec::new();
        let done = |method: &str| Verification { domain: d.clone(), verified: true, method: Some(method.into()), problems: Vec::new() };
        let dns = match self.dns() {
            Ok(dns) => dns,
            Err(e) => {
                tracing::error!(error = %e, "no DNS resolver");
                return Verification { domain: d.clone(), verified: false, method: None, problems: vec!["Rhone has no DNS resolver (see the server log)".into()] };
            }
        };
        let challenge = format!("{CHALLENGE_LABEL}.{d}");
        let want = challenge_value(&row.token);
        match dns.txt(&challenge).await {
            Ok(found) if found.iter().any(|t| t.trim() == want) => return done("txt"),
            Ok(found) if found.is_empty() => problems.push(format!("no TXT record at {challenge} (it must be \"{want}\")")),
            Ok(found) => problems.push(format!("the TXT record at {challenge} is {}, not \"{want}\"", quoted(&found))),
            Err(e) => problems.push(e),
        }
        if let Some(host) = &s.public_hostname {
            match dns.cname(d).await {
                Ok(found) if found.iter().any(|c| c == &host.to_ascii_lowercase()) => return done("cname"),
                Ok(found) if !found.is_empty() => problems.push(format!("{d} is a CNAME to {}, not to {host}", found.join(", "))),
                Ok(_) => {}
                Err(e) => problems.push(e),
            }
        }
        if !s.public_ips.is_empty() {
            match dns.addresses(d).await {
                Ok(found) if !found.is_empty() && found.iter().all(|ip| s.public_ips.contains(ip)) => return done("address"),
                Ok(found) if found.is_empty() => problems.push(format!("{d} has no A or AAAA record (it must point at {})", list(&s.public_ips))),
                Ok(found) => {
                    let elsewhere: Vec<IpAddr> = found.into_iter().filter(|ip| !s.public_ips.contains(ip)).collect();
                    problems.push(format!("{d} points at {}, which is not this installation ({})", list(&elsewhere), list(&s.public_ips)));
                }
                Err(e) => problems.push(e),
            }
        }
        if s.public_hostname.is_none() && s.public_ips.is_empty() {
            problems.push("this installation's public address is not configured (public_hostname, public_ips): only the TXT record can verify".into());
        }
        Verification { domain: d.clone(), verified: false, method: None, problems }
    }

    /// Stores a check's result; routes a newly verified domain, and unroutes a verified one after
    /// `UNROUTE_AFTER` failed periodic checks in a row (`periodic`; a check on request never
    /// unroutes: it only reports).
    async fn record_check(&self, row: &DomainRow, v: &Verification, periodic: bool) -> Result<DomainRow> {
        let now = now_ms();
        if v.verified {
            if row.verified_at.is_none() && !self.store.mark_domain_verified(row.id, now).await? {
                let why = format!("{} was verified for another app meanwhile", row.domain);
                self.store.set_domain_check(row.id, now, Some(&why), row.failed_checks).await?;
            } else {
                self.store.set_domain_check(row.id, now, None, 0).await?;
                self.routes.add_domain(&row.domain, &row.app_slug, row.redirect_to.as_deref());
                self.apply_app_https(row.app_id, &row.domain).await?;
                if self.tls.get(&row.domain).is_none() {
                    self.queue_certificate(&row.domain, &format!("claim-{}", row.id)).await?;
                }
            }
        } else {
            let why = v.problems.join("; ");
            let failed = if periodic { row.failed_checks + 1 } else { row.failed_checks };
            self.store.set_domain_check(row.id, now, Some(&why), failed).await?;
            if periodic && row.verified_at.is_some() && failed >= UNROUTE_AFTER {
                self.store.unverify_domain(row.id).await?;
                self.routes.remove_domain(&row.domain);
                self.drop_certificate(&row.domain).await?;
                tracing::warn!(domain = %row.domain, app.slug = %row.app_slug, problems = %why, "a domain stopped pointing here: no longer routed");
            }
        }
        self.store.domain(row.id).await
    }

    pub(crate) fn dns(&self) -> Result<&Dns> {
        if let Some(d) = self.dns.get() {
            return Ok(d);
        }
        let made = Dns::new(&self.settings.domains.resolvers)?;
        Ok(self.dns.get_or_init(|| made))
    }

    /// Routes every verified domain (at startup).
    pub(crate) async fn route_domains(&self) -> Result<()> {
        for row in self.store.verified_domains().await? {
            self.routes.add_domain(&row.domain, &row.app_slug, row.redirect_to.as_deref());
            self.apply_app_https(row.app_id, &row.domain).await?;
        }
        self.load_certificates().await?;
        self.ensure_platform_certificates().await
    }
}

fn quoted(v: &[String]) -> String {
    v.iter().map(|t| format!("\"{}\"", t.chars().filter(|c| !c.is_control()).take(100).collect::<String>())).collect::<Vec<_>>().join(", ")
}

fn list(ips: &[IpAddr]) -> String {
    ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The periodic re-check of every domain (verified or not).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DomainChecks {}

impl Job for DomainChecks {
    const KIND: &'static str = "domain_checks";
    const MAX_ATTEMPTS: i64 = 3;

    async fn run(&self, s: &Services) -> Result<()> {
        for row in s.store.all_domains().await? {
            let v = s.check_domain(&row).await;
            s.record_check(&row, &v, true).await?;
        }
        s.ensure_platform_certificates().await?;
        s.queue_renewals().await
    }
}
