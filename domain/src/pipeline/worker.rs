//! The `deploy` job kind. Workers (`crate::jobs`) claim it like any job; a deploy attempt is never
//! repeated automatically (the user deploys again), and there is one job per deployment.

use super::{DeployJob, DEPLOY_JOB};
use crate::error::Result;
use crate::jobs::Job;
use crate::logs::deploy_channel;
use crate::model::DeploymentStatus as S;
use crate::Services;

const INTERNAL: &str = "Rhone hit an internal error while deploying (details are in the server log); deploy again";

impl Job for DeployJob {
    const KIND: &'static str = DEPLOY_JOB;
    const MAX_ATTEMPTS: i64 = 1;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("deploy:{}", self.deployment_id))
    }

    async fn run(&self, s: &Services) -> Result<()> {
        s.run_deploy(self.deployment_id).await
    }

    /// The pipeline failed outside its steps: the deployment must not stay in progress.
    async fn failed(&self, s: &Services, _error: &str) -> Result<()> {
        let id = self.deployment_id;
        s.pipeline.forget(id);
        if s.store.transition(id, &[S::Pending, S::Building, S::Deploying], S::Failed, Some(INTERNAL)).await? {
            let log = s.logs.open(&deploy_channel(id), vec![]).await;
            log.info(INTERNAL);
            log.end();
        }
        Ok(())
    }
}
