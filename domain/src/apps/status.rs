//! What an app is doing now, for the API and the dashboard: the live version's runtime state (read
//! from the supervisors in memory: running with its restarts, restarting, crashed with the reason
//! and the app's last log lines, stopped) and the disk its kept builds use (image sizes on the
//! engine, checkout directories on disk; computed on request, cached briefly, never on the proxy
//! path).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;
use crate::logs::app_channel;
use crate::model::App;
use crate::pipeline::Artifact;
use crate::routing::Target;
use crate::runtime::State;
use crate::ttl::TtlMap;
use crate::Services;

/// How many of the app's last log lines a crashed app shows.
pub const CRASH_LINES: usize = 20;

/// How long a computed disk usage is reused while the app's kept builds stay the same.
const USAGE_TTL: Duration = Duration::from_secs(10);

pub use wire::RunState;

pub use wire::{AppListItem, AppOverview, AppState, DiskUsage, RuntimeStatus};

/// Disk usage computed recently, per app, with the kept builds it was computed for.
#[derive(Clone)]
pub(crate) struct UsageCache(TtlMap<i64, (Vec<String>, DiskUsage)>);

impl Default for UsageCache {
    fn default() -> Self {
        UsageCache(TtlMap::new(USAGE_TTL))
    }
}

impl UsageCache {
    fn get(&self, app_id: i64, kept: &[String]) -> Option<DiskUsage> {
        self.0.get(&app_id).filter(|(k, _)| k == kept).map(|(_, u)| u)
    }

    fn put(&self, app_id: i64, kept: Vec<String>, usage: DiskUsage) {
        self.0.put(app_id, (kept, usage));
    }
}

impl Services {
    /// The app with its live version's runtime state (the last log lines when it crashed) and the
    /// disk its kept builds use.
    pub async fn app_overview(&self, actor: &crate::access::Actor, slug: &str) -> Result<AppOverview> {
        let app = self.app(actor, slug).await?;
        let (live, newest) = self.store.live_and_newest(Some(app.id)).await?.remove(&app.id).unwrap_or_default();
        let mut item = self.list_item(app, live, newest);
        if let Some(st) = item.runtime_status.as_mut().filter(|s| s.state == RunState::Crashed) {
            st.last_lines = self.last_lines(item.app.id).await;
        }
        let disk_usage = match self.disk_usage(&item.app).await {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!(app.slug = %item.app.slug, error = %e, "measuring disk usage failed");
                None
            }
        };
        Ok(AppOverview { item, disk_usage })
    }

    /// The actor's apps (of team `team` only, when given) with their state and releases: two
    /// queries whatever the number of apps.
    pub async fn list_app_overviews(&self, actor: &crate::access::Actor, team: Option<&str>) -> Result<Vec<AppListItem>> {
        let apps = self.list_apps(actor, team).await?;
        let mut releases = self.store.live_and_newest(None).await?;
        Ok(apps
            .into_iter()
            .map(|app| {
                let (live, newest) = releases.remove(&app.id).unwrap_or_default();
                self.list_item(app, live, newest)
            })
            .collect())
    }

    fn list_item(&self, app: App, live: Option<crate::model::Deployment>, newest: Option<crate::model::Deployment>) -> AppListItem {
        let runtime_status = self.runtime_status(&app);
        let deploying = newest.as_ref().is_some_and(|d| d.status.in_progress());
        let state = AppState::of(app.stopped_at.is_some(), runtime_status.as_ref(), deploying);
        AppListItem { app, state, runtime_status, live, newest }
    }

    /// The live version's state, from the route table and the supervisors (memory only).
    pub fn runtime_status(&self, app: &App) -> Option<RuntimeStatus> {
        let route = self.routes.live(&app.slug)?;
        let id = route.deployment_id;
        let mut status = RuntimeStatus {
            state: RunState::Running,
            deployment_id: id,
            restarts: 0,
            instances: 0,
            running: 0,
            reason: None,
            last_lines: Vec::new(),
        };
        if matches!(route.target, Target::Static { .. }) {
            status.state = RunState::Static;
            return Some(status);
        }
        let instances = self.runtime.of(id);
        if instances.is_empty() {
            status.state = RunState::Stopped;
            status.reason = Some("no instance of the live version runs".into());
            return Some(status);
        }
        status.instances = instances.len();
        for inst in &instances {
            status.restarts = status.restarts.saturating_add(inst.restarts());
            let (state, reason) = match inst.state() {
                State::Running { .. } => {
                    status.running += 1;
                    (RunState::Running, None)
                }
                State::Restarting(why) => (RunState::Restarting, Some(why)),
                State::Crashed(why) => (RunState::Crashed, Some(why)),
                State::Exited(why) => (RunState::Stopped, Some(why)),
                State::Stopped | State::Detached => (RunState::Stopped, Some("stopped by Rhone".to_string())),
            };
            if state > status.state {
                status.state = state;
                status.reason = match (reason, instances.len()) {
                    (Some(r), n) if n > 1 => Some(format!("instance {}: {r}", inst.replica + 1)),
                    (r, _) => r,
                };
            }
        }
        Some(status)
    }

    /// The app's last runtime log lines (from memory and the store), oldest first.
    async fn last_lines(&self, app_id: i64) -> Vec<String> {
        match self.logs.subscribe(&app_channel(app_id), CRASH_LINES).await {
            Ok(sub) => sub.history.into_iter().map(|l| l.line).collect(),
            Err(e) => {
                tracing::warn!(app.id = app_id, error = %e, "reading the last log lines failed");
                Vec::new()
            }
        }
    }

    /// Disk used by the app's kept builds: its images on the engine (docker) and its kept checkout
    /// directories (process). Cached for a few seconds while the kept builds stay the same.
    pub async fn disk_usage(&self, app: &App) -> Result<DiskUsage> {
        let mut kept: Vec<String> = self.store.kept_builds(app.id).await?.into_iter().map(|(_, a)| a).collect();
        kept.sort();
        kept.dedup();
        if let Some(u) = self.usage.get(app.id, &kept) {
            return Ok(u);
        }
        let root = self.settings.builds_dir();
        let mut dirs: Vec<PathBuf> = Vec::new();
        let mut images = false;
        for a in &kept {
            match Artifact::parse(a) {
                Artifact::Dir(d) if d.starts_with(&root) => dirs.push(d),
                Artifact::Dir(_) => {}
                Artifact::Image(_) => images = true,
            }
        }
        let mut bytes = tokio::task::spawn_blocking(move || dirs.iter().map(|d| dir_size(d)).sum::<u64>())
            .await
            .map_err(|e| crate::Error::internal("measure build directories", e))?;
        if images {
            bytes += u64::try_from(self.runtime.docker().disk_usage(&app.slug).await?).unwrap_or(0);
        }
        let usage = DiskUsage { bytes, builds: kept.len() };
        self.usage.put(app.id, kept, usage);
        Ok(usage)
    }
}

/// Bytes of disk the tree at `root` takes (allocated blocks, like `du`), symlinks not followed.
pub fn dir_size(root: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else { continue };
        total = total.saturating_add(meta.blocks().saturating_mul(512));
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_size_counts_files_below_and_never_follows_a_symlink_out() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("big"), vec![7u8; 1 << 20]).unwrap();
        let root = t.path().join("build");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        let empty = dir_size(&root);
        std::fs::write(root.join("a/b/file"), vec![1u8; 64 * 1024]).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        let size = dir_size(&root);
        assert!(size >= empty + 64 * 1024, "the file counts: {size}");
        assert!(size < empty + (1 << 20), "the symlinked megabyte does not: {size}");
        assert_eq!(dir_size(&t.path().join("missing")), 0);
    }

    #[test]
    fn the_worst_state_wins_and_names_are_stable() {
        assert!(RunState::Crashed > RunState::Restarting && RunState::Restarting > RunState::Stopped);
        assert!(RunState::Stopped > RunState::Running);
        assert_eq!(serde_json::to_value(RunState::Restarting).unwrap(), "restarting");
        assert_eq!(RunState::Crashed.as_str(), "crashed");
    }

    #[test]
    fn cached_usage_is_reused_only_for_the_same_kept_builds() {
        let cache = UsageCache::default();
        let kept = vec!["a".to_string()];
        cache.put(1, kept.clone(), DiskUsage { bytes: 5, builds: 1 });
        assert_eq!(cache.get(1, &kept), Some(DiskUsage { bytes: 5, builds: 1 }));
        assert_eq!(cache.get(1, &["a".to_string(), "b".to_string()]), None, "a new kept build is measured again");
        assert_eq!(cache.get(2, &kept), None);
    }
}
