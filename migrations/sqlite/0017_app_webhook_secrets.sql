-- Per-app secrets of GitLab and Gitea/Forgejo push webhooks (sealed like env vars, bound to
-- `{app_id}:webhook`; shown once when made). Keep migrations/postgres/0017_app_webhook_secrets.sql in step.
CREATE TABLE app_webhook_secrets (
    app_id BIGINT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
