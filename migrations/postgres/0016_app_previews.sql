-- Preview deployments per pull request. `previews` (0/1): the app's pull requests get previews.
-- A preview is an app of its own (`pr-{number}-{slug}`) with `preview_of` (the app) and
-- `pr_number`; deleting the app deletes them first (Rhone stops them). Keep
-- migrations/sqlite/0016_app_previews.sql in step.
ALTER TABLE apps ADD COLUMN previews BIGINT NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN preview_of BIGINT REFERENCES apps(id);
ALTER TABLE apps ADD COLUMN pr_number BIGINT;
