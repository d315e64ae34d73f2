-- A team's optional spend cap (cents, in its plan's currency) and whether reaching it also stops the
-- team's running apps (an explicit opt-in); and the billing alerts already sent, once per team,
-- billing period and alert (a limit at 80 or 100 %, the cap). Keep
-- migrations/postgres/0027_spend_caps.sql in step.
ALTER TABLE billing_accounts ADD COLUMN spend_cap_cents BIGINT;
ALTER TABLE billing_accounts ADD COLUMN stop_at_cap BIGINT NOT NULL DEFAULT 0;
CREATE TABLE billing_alerts (
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    period_start BIGINT NOT NULL,
    alert TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, period_start, alert)
);
