-- The release (deployment number) each runtime log line came from; NULL for build logs, Rhone's own
-- notes and lines stored before this column existed.
ALTER TABLE log_lines ADD COLUMN release_no BIGINT;
