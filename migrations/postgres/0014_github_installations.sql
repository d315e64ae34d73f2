-- GitHub App installations (from the installation webhooks and the installation callback), the
-- repositories each covers, and the team each is connected to (NULL: none yet; only the installation
-- callback, verified with the installing user's GitHub token, sets it). One-use OAuth states of the
-- browser flows. Keep migrations/sqlite/0014_github_installations.sql in step.
CREATE TABLE github_installations (
    id BIGINT PRIMARY KEY,
    account_login TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    account_type TEXT NOT NULL,
    team_id BIGINT REFERENCES teams(id) ON DELETE SET NULL,
    suspended BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX github_installations_team ON github_installations (team_id);
CREATE TABLE github_installation_repos (
    installation_id BIGINT NOT NULL REFERENCES github_installations(id) ON DELETE CASCADE,
    repo_id BIGINT NOT NULL,
    full_name TEXT NOT NULL,
    private BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (installation_id, repo_id)
);
CREATE TABLE oauth_states (
    state TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    team_id BIGINT REFERENCES teams(id) ON DELETE CASCADE,
    verifier TEXT,
    next TEXT,
    created_at BIGINT NOT NULL
);
