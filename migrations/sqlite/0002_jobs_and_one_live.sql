-- Jobs with retries and a schedule; at most one live deployment per app. Keep
-- migrations/postgres/0002_jobs_and_one_live.sql in step.

-- A failed attempt is queued again with `run_at` in the future until `max_attempts` is reached.
ALTER TABLE jobs ADD COLUMN run_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN finished_at INTEGER;
UPDATE jobs SET finished_at = COALESCE(locked_at, created_at) WHERE status IN ('done', 'failed');
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE INDEX jobs_finished ON jobs(finished_at);

-- One row per periodic job; whoever moves `next_run_at` on (a conditional UPDATE) enqueues the run.
CREATE TABLE schedules (
    name        TEXT PRIMARY KEY,
    interval_ms INTEGER NOT NULL,
    next_run_at INTEGER NOT NULL
);

-- Retention deletes log lines by age.
CREATE INDEX log_lines_at ON log_lines(at);

-- Repair what a crash between two writes could have left, then make two live versions impossible.
UPDATE deployments SET status = 'superseded'
 WHERE status = 'live' AND id NOT IN (SELECT MAX(id) FROM deployments WHERE status = 'live' GROUP BY app_id);
UPDATE deployments SET status = 'failed', error = 'interrupted: Rhone stopped before this deployment was queued; deploy again',
       finished_at = COALESCE(finished_at, updated_at)
 WHERE status = 'pending' AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dedupe_key = 'deploy:' || deployments.id AND j.status IN ('queued', 'running'));
CREATE UNIQUE INDEX deployments_one_live ON deployments(app_id) WHERE status = 'live';
