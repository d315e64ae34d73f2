-- Rhone schema v1 (SQLite). Keep migrations/postgres/0001_init.sql in step.
-- Timestamps are unix milliseconds (INTEGER) so both backends share one Store implementation.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'owner',
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE apps (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    slug              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    repo_url          TEXT NOT NULL,
    branch            TEXT NOT NULL,
    root_dir          TEXT NOT NULL DEFAULT '.',
    build_command     TEXT,
    start_command     TEXT,
    health_check_path TEXT NOT NULL DEFAULT '/',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE TABLE env_vars (
    app_id     INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, key)
);

CREATE TABLE deployments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id         INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    git_ref        TEXT NOT NULL,
    commit_sha     TEXT,
    commit_message TEXT,
    plan           TEXT,
    artifact_dir   TEXT,
    rollback_of    INTEGER,
    port           INTEGER,
    pid            INTEGER,
    pid_start      INTEGER,
    error          TEXT,
    build_ms       INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finished_at    INTEGER
);
CREATE INDEX deployments_app ON deployments(app_id, id);

CREATE TABLE deployment_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX deployment_events_dep ON deployment_events(deployment_id);

CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    payload    TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'queued',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    locked_at  INTEGER
);
CREATE INDEX jobs_queued ON jobs(status, id);

CREATE TABLE log_lines (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    at            INTEGER NOT NULL,
    stream        TEXT NOT NULL,
    line          TEXT NOT NULL
);
CREATE INDEX log_lines_channel ON log_lines(channel, seq);
