-- GitHub push webhooks: each delivery is handled once (X-GitHub-Delivery; outcome NULL while it is
-- being handled), and an app takes pushes only from the repository id recorded at the first push
-- that matched its repository URL.
CREATE TABLE webhook_deliveries (
    delivery_id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    outcome TEXT
);
CREATE TABLE app_github (
    app_id BIGINT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    repo_id BIGINT NOT NULL
);
