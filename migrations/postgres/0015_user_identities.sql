-- Accounts of other identity providers linked to Rhone users (GitHub: subject = GitHub's numeric
-- user id, never the login or the email, which can change hands). Keep
-- migrations/sqlite/0015_user_identities.sql in step.
CREATE TABLE user_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    login TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE UNIQUE INDEX user_identities_one_per_user ON user_identities (user_id, provider);
