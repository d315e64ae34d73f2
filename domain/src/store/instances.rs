//! The running instance the store records for each version: which runtime runs it, that runtime's
//! own opaque instance id and its loopback port. Recovery after a restart starts from these rows.

use super::{get, Store};
use crate::error::Result;

/// A version's running instance, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedInstance {
    pub deployment_id: i64,
    pub status: String,
    pub runtime: String,
    pub instance_id: String,
    pub port: Option<i64>,
}

impl Store {
    /// Records (or, with `None`, forgets) the instance running a version.
    pub async fn set_instance(&self, deployment_id: i64, running: Option<(&str, &str, u16)>) -> Result<()> {
        let (runtime, instance, port) = match running {
            Some((runtime, instance, port)) => (runtime, Some(instance), Some(i64::from(port))),
            None => ("process", None, None),
        };
        sqlx::query("UPDATE deployments SET runtime = $2, instance_id = $3, port = $4 WHERE id = $1")
            .bind(deployment_id)
            .bind(runtime)
            .bind(instance)
            .bind(port)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every deployment with a recorded instance, live or not.
    pub async fn recorded_instances(&self) -> Result<Vec<RecordedInstance>> {
        let rows = sqlx::query("SELECT id, status, runtime, instance_id, port FROM deployments WHERE instance_id IS NOT NULL ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RecordedInstance {
                    deployment_id: get(r, "id")?,
                    status: get(r, "status")?,
                    runtime: get(r, "runtime")?,
                    instance_id: get(r, "instance_id")?,
                    port: get(r, "port")?,
                })
            })
            .collect()
    }
}
