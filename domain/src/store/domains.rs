//! Apps' custom domains: the claim (token), its verification and the last check's result.

use sqlx::any::AnyRow;

use super::{get, now_ms, Store};
use crate::domains::DomainRow;
use crate::error::{Error, Result};

const COLS: &str = "d.id, d.app_id, a.slug AS app_slug, d.domain, d.token, d.verified_at, d.checked_at, d.last_error, d.failed_checks, d.created_at, d.redirect_to";

fn row(r: &AnyRow) -> Result<DomainRow> {
    Ok(DomainRow {
        id: get(r, "id")?,
        app_id: get(r, "app_id")?,
        app_slug: get(r, "app_slug")?,
        domain: get(r, "domain")?,
        token: get(r, "token")?,
        verified_at: get(r, "verified_at")?,
        checked_at: get(r, "checked_at")?,
        last_error: get(r, "last_error")?,
        failed_checks: get(r, "failed_checks")?,
        created_at: get(r, "created_at")?,
        redirect_to: get(r, "redirect_to")?,
    })
}

impl Store {
    async fn domain_rows(&self, filter: &str, bind: Option<&str>, id: Option<i64>) -> Result<Vec<DomainRow>> {
        let sql = format!("SELECT {COLS} FROM app_domains d JOIN apps a ON a.id = d.app_id WHERE {filter} ORDER BY d.domain, d.id");
        let mut q = sqlx::query(&sql);
        if let Some(b) = bind {
            q = q.bind(b.to_string());
        }
        if let Some(i) = id {
            q = q.bind(i);
        }
        q.fetch_all(self.pool()).await?.iter().map(row).collect()
    }

    pub async fn domains_of_app(&self, app_id: i64) -> Result<Vec<DomainRow>> {
        self.domain_rows("d.app_id = $1", None, Some(app_id)).await
    }

    pub async fn domain(&self, id: i64) -> Result<DomainRow> {
        self.domain_rows("d.id = $1", None, Some(id)).await?.into_iter().next().ok_or(Error::NotFound("domain"))
    }

    /// The row `domain` is verified by, if any.
    pub async fn verified_domain(&self, domain: &str) -> Result<Option<DomainRow>> {
        Ok(self.domain_rows("d.domain = $1 AND d.verified_at IS NOT NULL", Some(domain), None).await?.into_iter().next())
    }

    pub async fn verified_domains(&self) -> Result<Vec<DomainRow>> {
        self.domain_rows("d.verified_at IS NOT NULL", None, None).await
    }

    pub async fn all_domains(&self) -> Result<Vec<DomainRow>> {
        self.domain_rows("1 = 1", None, None).await
    }

    pub async fn insert_domain(&self, app_id: i64, domain: &str, token: &str) -> Result<DomainRow> {
        let id: i64 = sqlx::query_scalar("INSERT INTO app_domains (app_id, domain, token, failed_checks, created_at) VALUES ($1, $2, $3, 0, $4) RETURNING id")
            .bind(app_id)
            .bind(domain)
            .bind(token)
            .bind(now_ms())
            .fetch_one(self.pool())
            .await?;
        self.domain(id).await
    }

    pub async fn delete_domain(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM app_domains WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// Marks a claim verified unless another claim of the same domain is (false then).
    pub async fn mark_domain_verified(&self, id: i64, at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE app_domains SET verified_at = $2 WHERE id = $1 AND verified_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM app_domains o WHERE o.domain = app_domains.domain AND o.verified_at IS NOT NULL AND o.id <> $1)",
        )
        .bind(id)
        .bind(at)
        .execute(self.pool())
        .await;
        match done {
            Ok(d) => Ok(d.rows_affected() == 1),
            // the unique index on verified domains decided a race
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn set_domain_redirect(&self, id: i64, to: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE app_domains SET redirect_to = $2 WHERE id = $1").bind(id).bind(to).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn unverify_domain(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE app_domains SET verified_at = NULL WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn set_domain_check(&self, id: i64, at: i64, error: Option<&str>, failed_checks: i64) -> Result<()> {
        sqlx::query("UPDATE app_domains SET checked_at = $2, last_error = $3, failed_checks = $4 WHERE id = $1")
            .bind(id)
            .bind(at)
            .bind(error)
            .bind(failed_checks)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
