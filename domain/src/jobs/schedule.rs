//! The scheduler for periodic jobs. Every Rhone process ticks it every few seconds; a tick fires each
//! due schedule with a conditional UPDATE of its `schedules` row (see `store/schedules.rs`), so each
//! periodic job is enqueued once per interval however many processes tick.

use std::time::Duration;

use super::{new_job, Job, PurgeSessions, Retention};
use crate::error::Result;
use crate::store::{now_ms, NewJob};
use crate::Services;

/// How often a process looks for due periodic jobs.
pub const SCHEDULER_TICK: Duration = Duration::from_secs(5);

struct Periodic {
    name: &'static str,
    every: Duration,
    /// The job row for a run due at the given time.
    job: fn(i64) -> Result<NewJob>,
}

fn scheduled<J: Job + Default>(due: i64) -> Result<NewJob> {
    let mut row = new_job(&J::default(), due)?;
    // one run per firing: the key names the slot
    row.dedupe_key = Some(format!("{}@{due}", J::KIND));
    Ok(row)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl Services {
    fn periodic(&self) -> Vec<Periodic> {
        let r = &self.settings.retention;
        let mut all = vec![
            Periodic { name: Retention::KIND, every: r.interval, job: scheduled::<Retention> },
            Periodic { name: PurgeSessions::KIND, every: r.session_purge_interval, job: scheduled::<PurgeSessions> },
            Periodic { name: crate::domains::DomainChecks::KIND, every: self.settings.domains.check_interval, job: scheduled::<crate::domains::DomainChecks> },
        ];
        if let Some(b) = &self.settings.billing {
            all.push(Periodic { name: crate::billing::UsageReport::KIND, every: b.usage_report, job: scheduled::<crate::billing::UsageReport> });
        }
        all
    }

    /// Creates (or updates the interval of) each periodic job's schedule row.
    pub async fn register_schedules(&self) -> Result<()> {
        let now = now_ms();
        for p in self.periodic() {
            self.store.ensure_schedule(p.name, ms(p.every), now).await?;
        }
        Ok(())
    }

    /// Enqueues every periodic job that is due; returns how many this call enqueued.
    pub async fn run_scheduler_tick(&self) -> Result<usize> {
        let now = now_ms();
        let mut fired = 0;
        for p in self.periodic() {
            if self.store.fire_schedule(p.name, now, &(p.job)(now)?).await? {
                tracing::debug!(job.kind = p.name, "periodic job enqueued");
                fired += 1;
            }
        }
        if fired > 0 {
            self.wake_workers();
        }
        Ok(fired)
    }

    /// Registers the schedules, then ticks every [`SCHEDULER_TICK`] until `shutdown` flips to true.
    pub async fn run_scheduler(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut registered = false;
        loop {
            if !registered {
                registered = match self.register_schedules().await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, "could not register periodic jobs");
                        false
                    }
                };
            }
            if let Err(e) = self.run_scheduler_tick().await {
                tracing::error!(error = %e, "scheduler tick failed");
            }
            self.flush_bandwidth().await;
            tokio::select! {
                _ = tokio::time::sleep(SCHEDULER_TICK) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}
