-- Per-app git settings. Keep migrations/postgres/0012_app_git_settings.sql in step.
-- `auto_deploy` (0/1): a push to the app's branch deploys it. `watch_root_dir` (0/1): only when the
-- push changed files under the app's root directory. Both on for existing apps (what they did).
ALTER TABLE apps ADD COLUMN auto_deploy INTEGER NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN watch_root_dir INTEGER NOT NULL DEFAULT 1;
