//! The processes the store records for versions (pid + start time), for recovery after a restart.

use super::{get, Store};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct RecordedProcess {
    pub deployment_id: i64,
    pub status: String,
    pub port: Option<i64>,
    pub pid: i64,
    pub pid_start: Option<i64>,
}

impl Store {
    /// Every deployment with a recorded process, live or not.
    pub async fn recorded_processes(&self) -> Result<Vec<RecordedProcess>> {
        let rows = sqlx::query("SELECT id, status, port, pid, pid_start FROM deployments WHERE pid IS NOT NULL ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RecordedProcess {
                    deployment_id: get(r, "id")?,
                    status: get(r, "status")?,
                    port: get(r, "port")?,
                    pid: get(r, "pid")?,
                    pid_start: get(r, "pid_start")?,
                })
            })
            .collect()
    }
}
