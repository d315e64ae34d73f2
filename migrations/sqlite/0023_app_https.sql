-- Per app: redirect HTTP to HTTPS on its custom domains once they have a certificate (default on),
-- and send HSTS over HTTPS (default off). A row only once changed. Keep
-- migrations/postgres/0023_app_https.sql in step.
CREATE TABLE app_https (
    app_id BIGINT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    redirect BIGINT NOT NULL,
    hsts BIGINT NOT NULL
);
