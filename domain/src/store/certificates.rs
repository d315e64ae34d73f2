//! The ACME account per CA directory and the certificate per custom domain (keys sealed).

use sqlx::any::AnyRow;

use super::{get, now_ms, Store};
use crate::error::Result;
use crate::tls::CertificateRow;

fn row(r: &AnyRow) -> Result<CertificateRow> {
    Ok(CertificateRow { domain: get(r, "domain")?, status: get(r, "status")?, not_before: get(r, "not_before")?, not_after: get(r, "not_after")?, last_error: get(r, "last_error")? })
}

impl Store {
    pub async fn acme_account(&self, directory: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let r = sqlx::query("SELECT nonce, ciphertext FROM acme_accounts WHERE directory = $1").bind(directory).fetch_optional(self.pool()).await?;
        r.map(|r| Ok((get(&r, "nonce")?, get(&r, "ciphertext")?))).transpose()
    }

    pub async fn put_acme_account(&self, directory: &str, nonce: &[u8], ciphertext: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO acme_accounts (directory, nonce, ciphertext, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (directory) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext",
        )
        .bind(directory)
        .bind(nonce)
        .bind(ciphertext)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn certificate(&self, domain: &str) -> Result<Option<CertificateRow>> {
        let r = sqlx::query("SELECT domain, status, not_before, not_after, last_error FROM certificates WHERE domain = $1").bind(domain).fetch_optional(self.pool()).await?;
        r.as_ref().map(row).transpose()
    }

    pub async fn certificates(&self) -> Result<Vec<CertificateRow>> {
        sqlx::query("SELECT domain, status, not_before, not_after, last_error FROM certificates ORDER BY domain").fetch_all(self.pool()).await?.iter().map(row).collect()
    }

    /// Sets a certificate's status and error, making its row if there is none.
    pub async fn set_certificate_status(&self, domain: &str, status: &str, error: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO certificates (domain, status, last_error, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (domain) DO UPDATE SET status = excluded.status, last_error = excluded.last_error, updated_at = excluded.updated_at",
        )
        .bind(domain)
        .bind(status)
        .bind(error)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn put_certificate(&self, domain: &str, chain_pem: &str, key_nonce: &[u8], key_ciphertext: &[u8], not_before: i64, not_after: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO certificates (domain, status, chain_pem, key_nonce, key_ciphertext, not_before, not_after, last_error, updated_at)
             VALUES ($1, 'issued', $2, $3, $4, $5, $6, NULL, $7)
             ON CONFLICT (domain) DO UPDATE SET status = 'issued', chain_pem = excluded.chain_pem, key_nonce = excluded.key_nonce,
               key_ciphertext = excluded.key_ciphertext, not_before = excluded.not_before, not_after = excluded.not_after,
               last_error = NULL, updated_at = excluded.updated_at",
        )
        .bind(domain)
        .bind(chain_pem)
        .bind(key_nonce)
        .bind(key_ciphertext)
        .bind(not_before)
        .bind(not_after)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every issued certificate: domain, chain, sealed key.
    pub async fn issued_certificates(&self) -> Result<Vec<(String, String, Vec<u8>, Vec<u8>)>> {
        let rows = sqlx::query("SELECT domain, chain_pem, key_nonce, key_ciphertext FROM certificates WHERE chain_pem IS NOT NULL").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((get(r, "domain")?, get(r, "chain_pem")?, get(r, "key_nonce")?, get(r, "key_ciphertext")?))).collect()
    }

    pub async fn app_https(&self, app_id: i64) -> Result<Option<crate::tls::AppHttps>> {
        let r = sqlx::query("SELECT redirect, hsts FROM app_https WHERE app_id = $1").bind(app_id).fetch_optional(self.pool()).await?;
        r.map(|r| Ok(crate::tls::AppHttps { redirect: get::<i64>(&r, "redirect")? != 0, hsts: get::<i64>(&r, "hsts")? != 0 })).transpose()
    }

    pub async fn put_app_https(&self, app_id: i64, h: crate::tls::AppHttps) -> Result<()> {
        sqlx::query("INSERT INTO app_https (app_id, redirect, hsts) VALUES ($1, $2, $3) ON CONFLICT (app_id) DO UPDATE SET redirect = excluded.redirect, hsts = excluded.hsts")
            .bind(app_id)
            .bind(i64::from(h.redirect))
            .bind(i64::from(h.hsts))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn delete_certificate(&self, domain: &str) -> Result<()> {
        sqlx::query("DELETE FROM certificates WHERE domain = $1").bind(domain).execute(self.pool()).await?;
        Ok(())
    }
}
