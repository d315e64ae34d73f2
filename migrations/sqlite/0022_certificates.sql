-- ACME: the account per CA directory (its credentials sealed like env vars) and one certificate per
-- custom domain (the chain, its private key sealed, its validity, the last issuance error). Keep
-- migrations/postgres/0022_certificates.sql in step.
CREATE TABLE acme_accounts (
    directory TEXT PRIMARY KEY,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE certificates (
    domain TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    chain_pem TEXT,
    key_nonce BLOB,
    key_ciphertext BLOB,
    not_before BIGINT,
    not_after BIGINT,
    last_error TEXT,
    updated_at BIGINT NOT NULL
);
