-- Billing: each team's Stripe customer, plan and subscription state (applied from Stripe's events in
-- the order of their `created`, whatever order they arrive in), and the events already handled.
-- Keep migrations/sqlite/0024_billing.sql in step.
CREATE TABLE billing_accounts (
    team_id BIGINT PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    customer_id TEXT UNIQUE,
    plan TEXT NOT NULL DEFAULT 'free',
    subscription_id TEXT,
    subscription_status TEXT,
    -- the `created` (unix s) of the newest event applied to the subscription / to the payment state
    subscription_at BIGINT NOT NULL DEFAULT 0,
    payment_at BIGINT NOT NULL DEFAULT 0,
    period_start BIGINT,
    period_end BIGINT,
    payment_failed_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
