-- Per-app runtime settings. Keep migrations/sqlite/0005_app_runtime_settings.sql in step.
-- They apply to versions started after a change. Apps made before this version ran as native
-- processes, so they keep `process`; `cpu_millicores` (1000 = one core) and `memory_limit_mb` NULL =
-- no limit; `sticky_sessions` is 0/1.
ALTER TABLE apps ADD COLUMN runtime TEXT NOT NULL DEFAULT 'process';
ALTER TABLE apps ADD COLUMN cpu_millicores BIGINT;
ALTER TABLE apps ADD COLUMN memory_limit_mb BIGINT;
ALTER TABLE apps ADD COLUMN replicas BIGINT NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN drain_timeout_secs BIGINT NOT NULL DEFAULT 30;
ALTER TABLE apps ADD COLUMN stop_timeout_secs BIGINT NOT NULL DEFAULT 10;
ALTER TABLE apps ADD COLUMN sticky_sessions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN dockerfile_path TEXT;
