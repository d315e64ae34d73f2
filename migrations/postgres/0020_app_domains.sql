-- Apps' custom domains: each claim has its own token (the TXT challenge); a domain is verified for
-- at most one app (the partial unique index), unverified claims may coexist. Keep
-- migrations/sqlite/0020_app_domains.sql in step.
CREATE TABLE app_domains (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    token TEXT NOT NULL,
    verified_at BIGINT,
    checked_at BIGINT,
    last_error TEXT,
    failed_checks BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX app_domains_per_app ON app_domains (app_id, domain);
CREATE UNIQUE INDEX app_domains_verified_once ON app_domains (domain) WHERE verified_at IS NOT NULL;
