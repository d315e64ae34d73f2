-- A domain may redirect (308) to another domain of its app (apex ↔ www). Keep
-- migrations/postgres/0021_domain_redirects.sql in step.
ALTER TABLE app_domains ADD COLUMN redirect_to TEXT;
