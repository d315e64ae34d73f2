-- Each version records which runtime runs it and that runtime's own opaque instance id ("pid:start"
-- for a native process, a container id later), instead of process-only columns.
ALTER TABLE deployments ADD COLUMN runtime TEXT NOT NULL DEFAULT 'process';
ALTER TABLE deployments ADD COLUMN instance_id TEXT;
UPDATE deployments SET instance_id = pid::text || ':' || pid_start::text WHERE pid IS NOT NULL AND pid_start IS NOT NULL;
ALTER TABLE deployments DROP COLUMN pid;
ALTER TABLE deployments DROP COLUMN pid_start;
