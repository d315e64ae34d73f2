-- OpenID Connect sign-in: the nonce an ID token must carry back, kept with the flow's one-use
-- state. Keep migrations/postgres/0018_oauth_nonce.sql in step.
ALTER TABLE oauth_states ADD COLUMN nonce TEXT;
