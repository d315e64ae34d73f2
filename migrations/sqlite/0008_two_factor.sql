-- Two-factor sign-in (TOTP, RFC 6238) with recovery codes, and the team setting that requires it.
-- Keep migrations/postgres/0008_two_factor.sql in step. The secret is sealed with the installation
-- key (like env values); `totp_enabled_at` is set once a code confirmed the enrolment;
-- `totp_last_step` is the last time step a code was accepted for (a code works once).
ALTER TABLE users ADD COLUMN totp_nonce BLOB;
ALTER TABLE users ADD COLUMN totp_ciphertext BLOB;
ALTER TABLE users ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

-- Only hashes are stored; a used code keeps its row (used_at) so it cannot be used again.
CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE teams ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0;
