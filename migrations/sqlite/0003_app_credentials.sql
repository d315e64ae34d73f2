-- Per-app git credentials for private repositories. Keep migrations/postgres/0003_app_credentials.sql
-- in step. One credential per app: an access token (handed to git through GIT_ASKPASS) or a deploy
-- key (an ed25519 key pair Rhone generated; the public half is shown, the private half is only used
-- for a fetch). The secret half is sealed like env vars (AES-256-GCM, `app_id:credential:<kind>` as
-- associated data); it is never stored or returned in clear.

CREATE TABLE app_credentials (
    app_id     INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    username   TEXT,
    public_key TEXT,
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
