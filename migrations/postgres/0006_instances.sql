-- A version may run as several instances (replicas): each one's runtime, opaque instance id and
-- loopback port get their own row. Rows of earlier versions move over as replica 0.
CREATE TABLE instances (
    deployment_id BIGINT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    replica INTEGER NOT NULL,
    runtime TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    port INTEGER NOT NULL,
    PRIMARY KEY (deployment_id, replica)
);
INSERT INTO instances (deployment_id, replica, runtime, instance_id, port)
    SELECT id, 0, runtime, instance_id, port FROM deployments WHERE instance_id IS NOT NULL AND port IS NOT NULL;
UPDATE deployments SET instance_id = NULL;
