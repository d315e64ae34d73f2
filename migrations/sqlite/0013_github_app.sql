-- GitHub App: the repository (owner/name) and App installation each app's pushes came through, and
-- per deployment the last commit status posted (state) or the last failure to post one (error).
-- Keep migrations/postgres/0013_github_app.sql in step.
ALTER TABLE app_github ADD COLUMN full_name TEXT;
ALTER TABLE app_github ADD COLUMN installation_id BIGINT;
CREATE TABLE github_statuses (
    deployment_id BIGINT PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
    state TEXT,
    error TEXT,
    updated_at BIGINT NOT NULL
);
