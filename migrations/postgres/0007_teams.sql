-- Teams, memberships, invitations and the audit log (issue 10). Keep migrations/sqlite/0007_teams.sql in step.
-- Every user gets a personal team (slug: the email's local part and the user id); apps already
-- created belong to the first owner's personal team. `users.role = 'owner'` marks the instance admin
-- (the installation's first account); team roles live in `team_members.role`.

CREATE TABLE teams (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    personal_of BIGINT UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id    BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

INSERT INTO teams (slug, name, personal_of, created_at)
    SELECT CASE
               WHEN lower(split_part(email, '@', 1)) ~ '^[a-z0-9][a-z0-9-]*$' AND length(email) < 60
               THEN lower(split_part(email, '@', 1)) || '-' || id
               ELSE 'user-' || id
           END,
           email, id, created_at
    FROM users;
INSERT INTO team_members (team_id, user_id, role, created_at)
    SELECT id, personal_of, 'owner', created_at FROM teams WHERE personal_of IS NOT NULL;

-- NULL only for apps made before any user existed: they are nobody's (404 for all) until the first
-- owner is created, who adopts them.
ALTER TABLE apps ADD COLUMN team_id BIGINT REFERENCES teams(id);
UPDATE apps SET team_id = (
    SELECT t.id FROM teams t JOIN users u ON u.id = t.personal_of
    WHERE u.role = 'owner' ORDER BY u.id LIMIT 1
);
CREATE INDEX apps_team ON apps(team_id);

-- A token may be limited to one team and to reading; existing tokens keep their user's full rights.
ALTER TABLE api_tokens ADD COLUMN team_id BIGINT REFERENCES teams(id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';

-- The instance admin can disable an account: its sessions and tokens stop working at once.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;

CREATE TABLE invitations (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id     BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    revoked_at  BIGINT
);
CREATE INDEX invitations_team ON invitations(team_id, id);

-- Append-only: rows are never updated; only retention deletes old ones.
CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id  BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id  BIGINT,
    actor    TEXT NOT NULL,
    token_id BIGINT,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT '',
    ip       TEXT,
    at       BIGINT NOT NULL
);
CREATE INDEX audit_log_team ON audit_log(team_id, id);
