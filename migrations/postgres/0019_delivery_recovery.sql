-- Webhook deliveries survive a crash: a claimed delivery keeps its payload until it is handled (a
-- restart handles the unfinished ones again), and a deployment made for a delivery names it, so
-- handling it again finds that deployment instead of making a second one. Keep
-- migrations/sqlite/0019_delivery_recovery.sql in step.
ALTER TABLE webhook_deliveries ADD COLUMN payload TEXT;
ALTER TABLE deployments ADD COLUMN delivery_key TEXT;
CREATE UNIQUE INDEX deployments_one_per_delivery ON deployments (app_id, delivery_key);
