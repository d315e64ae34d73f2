//! Each app's HTTPS settings for the hosts a certificate covers: plain HTTP redirected to HTTPS
//! (default on) and HSTS (default off), kept per host in the route table.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::Services;

/// An app's HTTPS settings for its custom domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppHttps {
    /// Plain HTTP gets a 308 to HTTPS once a domain has a certificate (default on).
    pub redirect: bool,
    /// HTTPS responses carry `Strict-Transport-Security: max-age=31536000` (default off).
    pub hsts: bool,
}

impl Default for AppHttps {
    fn default() -> Self {
        AppHttps { redirect: true, hsts: false }
    }
}

impl Services {
    /// App `slug`'s HTTPS settings (viewers).
    pub async fn app_https(&self, actor: &crate::access::Actor, slug: &str) -> Result<AppHttps> {
        let app = self.app_for(actor, slug, crate::policy::Action::ReadApp).await?;
        Ok(self.store.app_https(app.id).await?.unwrap_or_default())
    }

    /// Changes app `slug`'s HTTPS settings (admins); applied to its domains at once.
    pub async fn set_app_https(&self, actor: &crate::access::Actor, slug: &str, redirect: Option<bool>, hsts: Option<bool>) -> Result<AppHttps> {
        let app = self.app_for(actor, slug, crate::policy::Action::UpdateApp).await?;
        let mut now = self.store.app_https(app.id).await?.unwrap_or_default();
        now.redirect = redirect.unwrap_or(now.redirect);
        now.hsts = hsts.unwrap_or(now.hsts);
        self.store.put_app_https(app.id, now).await?;
        for d in self.store.domains_of_app(app.id).await? {
            self.routes.set_domain_https(&d.domain, |h| {
                h.redirect = now.redirect;
                h.hsts = now.hsts;
            });
        }
        self.refresh_slug_https().await?;
        let what = format!("HTTPS redirect {}, HSTS {}", if now.redirect { "on" } else { "off" }, if now.hsts { "on" } else { "off" });
        self.record(&[app.team_id], actor.audit(crate::teams::AuditAction::AppUpdate, &app.slug, &what)).await;
        Ok(now)
    }

    /// Applies app `app_id`'s HTTPS settings to a domain just routed.
    pub(crate) async fn apply_app_https(&self, app_id: i64, domain: &str) -> Result<()> {
        let h = self.store.app_https(app_id).await?.unwrap_or_default();
        let certificate = self.tls.get(domain).is_some();
        self.routes.set_domain_https(domain, |f| {
            f.redirect = h.redirect;
            f.hsts = h.hsts;
            f.certificate = certificate;
        });
        Ok(())
    }
}
