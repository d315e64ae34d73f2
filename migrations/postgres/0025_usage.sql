-- Metering: each run of an app's instance (opened when the runtime starts it, closed when it
-- stops; kept after the app is gone, for billing), and each usage report sent to Stripe's meters:
-- one per team, meter and closed window, its identifier deterministic. Keep
-- migrations/sqlite/0025_usage.sql in step.
CREATE TABLE machine_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id BIGINT NOT NULL,
    app_id BIGINT NOT NULL,
    deployment_id BIGINT NOT NULL,
    replica BIGINT NOT NULL,
    size TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    stopped_at BIGINT
);
CREATE INDEX machine_runs_team ON machine_runs (team_id, started_at);
CREATE UNIQUE INDEX machine_runs_open ON machine_runs (deployment_id, replica) WHERE stopped_at IS NULL;
CREATE TABLE usage_reports (
    team_id BIGINT NOT NULL,
    meter TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    value BIGINT NOT NULL,
    identifier TEXT NOT NULL,
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, meter, window_start)
);
-- when the team got its Stripe customer: usage from then on is reported
ALTER TABLE billing_accounts ADD COLUMN metered_since BIGINT;
