//! The running instance the store records for each version: which runtime runs it, that runtime's
//! own opaque instance id and its loopback port. Recovery after a restart starts from these rows.

use super::{get, Store};
use crate::error::Result;

/// One running instance of a version, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedInstance {
    pub deployment_id: i64,
    pub replica: u32,
    pub status: String,
    pub runtime: String,
    pub instance_id: String,
    pub port: Option<i64>,
}

impl Store {
    /// Records (or, with `None`, forgets) the instance running replica `replica` of a version.
    pub async fn set_instance(&self, deployment_id: i64, replica: u32, running: Option<(&str, &str, u16)>) -> Result<()> {
        match running {
            Some((runtime, instance, port)) => {
                sqlx::query(
                    "INSERT INTO instances (deployment_id, replica, runtime, instance_id, port) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (deployment_id, replica) DO UPDATE SET runtime = excluded.runtime, instance_id = excluded.instance_id, port = excluded.port",
                )
                .bind(deployment_id)
                .bind(i64::from(replica))
                .bind(runtime)
                .bind(instance)
                .bind(i64::from(port))
                .execute(self.pool())
                .await?;
                sqlx::query("UPDATE deployments SET runtime = $2 WHERE id = $1").bind(deployment_id).bind(runtime).execute(self.pool()).await?;
                // metering: a run opens when its instance starts (one open run per replica)
                sqlx::query(
                    "INSERT INTO machine_runs (team_id, app_id, deployment_id, replica, size, started_at)
                     SELECT a.team_id, a.id, d.id, $2, COALESCE(CAST(a.memory_limit_mb AS TEXT), 'default'), $3
                     FROM deployments d JOIN apps a ON a.id = d.app_id
                     WHERE d.id = $1 AND a.team_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM machine_runs WHERE deployment_id = $1 AND replica = $2 AND stopped_at IS NULL)",
                )
                .bind(deployment_id)
                .bind(i64::from(replica))
                .bind(super::now_ms())
                .execute(self.pool())
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM instances WHERE deployment_id = $1 AND replica = $2")
                    .bind(deployment_id)
                    .bind(i64::from(replica))
                    .execute(self.pool())
                    .await?;
                sqlx::query("UPDATE machine_runs SET stopped_at = $3 WHERE deployment_id = $1 AND replica = $2 AND stopped_at IS NULL")
                    .bind(deployment_id)
                    .bind(i64::from(replica))
                    .bind(super::now_ms())
                    .execute(self.pool())
                    .await?;
            }
        }
        Ok(())
    }

    /// Every recorded instance, of live versions or not, in deployment then replica order.
    pub async fn recorded_instances(&self) -> Result<Vec<RecordedInstance>> {
        let rows = sqlx::query(
            "SELECT i.deployment_id, i.replica, d.status, i.runtime, i.instance_id, i.port
             FROM instances i JOIN deployments d ON d.id = i.deployment_id ORDER BY i.deployment_id, i.replica",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let replica: i64 = get(r, "replica")?;
                Ok(RecordedInstance {
                    deployment_id: get(r, "deployment_id")?,
                    replica: u32::try_from(replica).unwrap_or(0),
                    status: get(r, "status")?,
                    runtime: get(r, "runtime")?,
                    instance_id: get(r, "instance_id")?,
                    port: get(r, "port")?,
                })
            })
            .collect()
    }
}
