-- Rhone schema v1 (PostgreSQL). Keep migrations/sqlite/0001_init.sql in step.
-- Timestamps are unix milliseconds (INTEGER) so both backends share one Store implementation.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'owner',
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE apps (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    repo_url          TEXT NOT NULL,
    branch            TEXT NOT NULL,
    root_dir          TEXT NOT NULL DEFAULT '.',
    build_command     TEXT,
    start_command     TEXT,
    health_check_path TEXT NOT NULL DEFAULT '/',
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE env_vars (
    app_id     BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    nonce      BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, key)
);

CREATE TABLE deployments (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id         BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    git_ref        TEXT NOT NULL,
    commit_sha     TEXT,
    commit_message TEXT,
    plan           TEXT,
    artifact_dir   TEXT,
    rollback_of    BIGINT,
    port           BIGINT,
    pid            BIGINT,
    pid_start      BIGINT,
    error          TEXT,
    build_ms       BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    finished_at    BIGINT
);
CREATE INDEX deployments_app ON deployments(app_id, id);

CREATE TABLE deployment_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id BIGINT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    status        TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX deployment_events_dep ON deployment_events(deployment_id);

CREATE TABLE jobs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    payload    TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'queued',
    attempts   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    locked_at  BIGINT
);
CREATE INDEX jobs_queued ON jobs(status, id);

CREATE TABLE log_lines (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    stream        TEXT NOT NULL,
    line          TEXT NOT NULL
);
CREATE INDEX log_lines_channel ON log_lines(channel, seq);
