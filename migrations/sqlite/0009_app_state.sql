-- An app's own state and numbered releases. Keep migrations/postgres/0009_app_state.sql in step.
-- `apps.stopped_at`: taken out of service by a user (the proxy answers "stopped", nothing restarts
-- it, a Rhone restart leaves it stopped) until started again.
ALTER TABLE apps ADD COLUMN stopped_at INTEGER;

-- Releases are numbered per app (v1, v2, ...): every deployment takes the next number of its app.
-- `kind`: deploy (a build), rollback (an earlier build again), restart (the live build again, with
-- the current environment). `live_at`: when it went live. `commit_author`: as git names it.
ALTER TABLE deployments ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN kind TEXT NOT NULL DEFAULT 'deploy';
ALTER TABLE deployments ADD COLUMN live_at INTEGER;
ALTER TABLE deployments ADD COLUMN commit_author TEXT;
-- `stage`: where the pipeline is (queued, clone, build, start, health_check, switch); kept once it
-- ends, so a failure says where it happened.
ALTER TABLE deployments ADD COLUMN stage TEXT;

UPDATE deployments SET number = (SELECT COUNT(*) FROM deployments d2 WHERE d2.app_id = deployments.app_id AND d2.id <= deployments.id);
UPDATE deployments SET kind = 'rollback' WHERE rollback_of IS NOT NULL;
UPDATE deployments SET live_at = (SELECT MIN(e.at) FROM deployment_events e WHERE e.deployment_id = deployments.id AND e.status = 'live');
CREATE UNIQUE INDEX deployments_app_number ON deployments(app_id, number);
