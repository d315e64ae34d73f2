-- Metering: bytes the proxy sent to each app's clients, counted in memory and written here once
-- per flush (never per request), stamped with the flush time. Keep migrations/postgres/0026_bandwidth.sql
-- in step.
CREATE TABLE bandwidth_usage (
    team_id BIGINT NOT NULL,
    app_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    bytes BIGINT NOT NULL
);
CREATE INDEX bandwidth_usage_team ON bandwidth_usage (team_id, at);
