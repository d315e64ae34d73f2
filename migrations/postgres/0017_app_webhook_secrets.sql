-- Per-app secrets of GitLab and Gitea/Forgejo push webhooks (sealed like env vars, bound to
-- `{app_id}:webhook`; shown once when made). Keep migrations/sqlite/0017_app_webhook_secrets.sql in step.
CREATE TABLE app_webhook_secrets (
    app_id BIGINT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
