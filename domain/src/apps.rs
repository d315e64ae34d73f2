//! Apps and their environment variables.

mod control;
mod run;
pub mod status;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::model::App;
use crate::policy::Action;
use crate::teams::AuditAction;
use crate::store::apps::SealedVar;
use crate::types::{parse_health_path, parse_root_dir, EnvKey, GitRef, RepoUrl, RuntimeKind, Slug};
use crate::Services;

pub const MASK: &str = "********";
const MAX_VALUE: usize = 32 * 1024;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    /// The team (slug) that will own it; absent: the token's team, else the caller's personal team.
    pub team: Option<String>,
    pub name: String,
    /// Derived from `name` when absent.
    pub slug: Option<String>,
    pub repo_url: String,
    /// Empty or absent: the repository's default branch.
    pub branch: Option<String>,
    pub root_dir: Option<String>,
    pub build_command: Option<String>,
    pub start_command: Option<String>,
    pub health_check_path: Option<String>,
    /// `process`, `docker`, or absent / `auto` for the installation's default.
    pub runtime: Option<String>,
    /// Cores (`0.5`); absent: no limit.
    pub cpu_limit: Option<f64>,
    pub memory_limit_mb: Option<i64>,
    pub replicas: Option<i64>,
    pub drain_timeout_secs: Option<i64>,
    pub stop_timeout_secs: Option<i64>,
    pub sticky_sessions: Option<bool>,
    pub dockerfile_path: Option<String>,
    /// Absent: on.
    pub auto_deploy: Option<bool>,
    /// Absent: on.
    pub watch_root_dir: Option<bool>,
    /// Absent: off.
    pub previews: Option<bool>,
    /// Ask the repository first (`git ls-remote`, at most 10 s) whether it answers and has the
    /// branch; a wrong URL or branch is then refused with git's reason (the dashboard asks, unless
    /// "create anyway" is ticked).
    #[serde(default)]
    pub check_repo: bool,
}

/// A partial update; an empty string clears `branch`, `build_command`, `start_command` and
/// `dockerfile_path`, `null` clears `cpu_limit` and `memory_limit_mb`. Runtime settings apply to
/// versions started after the change; `runtime: "auto"` picks the installation's default again.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppPatch {
    pub name: Option<String>,
    pub repo_url: Option<String>,
    pub branch: Option<String>,
    pub root_dir: Option<String>,
    pub build_command: Option<String>,
    pub start_command: Option<String>,
    pub health_check_path: Option<String>,
    pub runtime: Option<String>,
    #[serde(default, deserialize_with = "run::nullable")]
    pub cpu_limit: Option<Option<f64>>,
    #[serde(default, deserialize_with = "run::nullable")]
    pub memory_limit_mb: Option<Option<i64>>,
    pub replicas: Option<i64>,
    pub drain_timeout_secs: Option<i64>,
    pub stop_timeout_secs: Option<i64>,
    pub sticky_sessions: Option<bool>,
    pub dockerfile_path: Option<String>,
    pub auto_deploy: Option<bool>,
    pub watch_root_dir: Option<bool>,
    pub previews: Option<bool>,
}

fn parse_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", "is required"));
    }
    if name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be at most 100 characters, without control characters"));
    }
    Ok(name.to_string())
}

fn parse_branch(b: &str) -> Result<String> {
    let b = b.trim();
    if b.is_empty() {
        return Ok(String::new());
    }
    GitRef::parse(b).map(|r| r.as_str().to_string()).map_err(|_| Error::invalid("branch", "is not a valid branch name"))
}

fn parse_command(field: &'static str, c: &str) -> Result<Option<String>> {
    let c = c.trim();
    if c.len() > 4096 || c.contains('\0') {
        return Err(Error::invalid(field, "must be at most 4096 characters"));
    }
    Ok((!c.is_empty()).then(|| c.to_string()))
}

impl Services {
    pub async fn create_app(&self, actor: &Actor, input: NewApp) -> Result<App> {
        let team = self.team_for_new_app(actor, input.team.as_deref()).await?;
        let name = parse_name(&input.name)?;
        let slug = match input.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Slug::parse_new(s)?,
            None => {
                let derived = Slug::from_name(&name).map_err(|_| Error::invalid("slug", "is required: the name has no letter or digit to make one from"))?;
                Slug::parse_new(derived.as_str())?
            }
        };
        let mut draft = App {
            id: 0,
            team_id: team.id,
            slug: slug.to_string(),
            name,
            repo_url: RepoUrl::parse(&input.repo_url)?.as_str().to_string(),
            branch: parse_branch(input.branch.as_deref().unwrap_or(""))?,
            root_dir: parse_root_dir(input.root_dir.as_deref().unwrap_or(""))?,
            build_command: parse_command("build_command", input.build_command.as_deref().unwrap_or(""))?,
            start_command: parse_command("start_command", input.start_command.as_deref().unwrap_or(""))?,
            health_check_path: parse_health_path(input.health_check_path.as_deref().unwrap_or("/"))?,
            runtime: RuntimeKind::Process,
            cpu_limit: None,
            memory_limit_mb: None,
            replicas: App::DEFAULT_REPLICAS,
            drain_timeout_secs: App::DEFAULT_DRAIN_TIMEOUT_SECS,
            stop_timeout_secs: App::DEFAULT_STOP_TIMEOUT_SECS,
            sticky_sessions: false,
            dockerfile_path: None,
            auto_deploy: input.auto_deploy.unwrap_or(true),
            watch_root_dir: input.watch_root_dir.unwrap_or(true),
            previews: input.previews.unwrap_or(false),
            preview_of: None,
            pr_number: None,
            stopped_at: None,
            created_at: 0,
            updated_at: 0,
        };
        run::apply(&mut draft, &run::RunInput {
            cpu_limit: Some(input.cpu_limit),
            memory_limit_mb: Some(input.memory_limit_mb),
            replicas: input.replicas,
            drain_timeout_secs: input.drain_timeout_secs,
            stop_timeout_secs: input.stop_timeout_secs,
            sticky_sessions: input.sticky_sessions,
            dockerfile_path: input.dockerfile_path,
        })?;
        self.check_repo_source(&draft.repo_url).await?;
        if input.check_repo {
            self.probe_repo(team.id, &draft.repo_url, &draft.branch).await?;
        }
        draft.runtime = self.runtime_choice(input.runtime.as_deref()).await?;
        self.check_limit(team.id, crate::billing::Limit::Apps).await?;
        self.check_region(team.id).await?;
        let app = self.store.insert_app(&draft).await?;
        self.routes.register(&app.slug);
        tracing::info!(app.slug = %app.slug, team.slug = %team.slug, "app created");
        self.record(&[team.id], actor.audit(AuditAction::AppCreate, &app.slug, "")).await;
        if self.settings.acme.is_some() {
            // its {slug}.{base_domain} is covered by the wildcard, or gets its own certificate
            // (a failure here is retried by the periodic checks)
            let queued = async { self.refresh_slug_https().await?; self.ensure_platform_certificates().await };
            if let Err(e) = queued.await {
                tracing::warn!(app.slug = %app.slug, error = %e, "could not queue the app's certificate");
            }
        }
        Ok(app)
    }

    /// The apps of the actor's teams (of team `team` only, when given).
    pub async fn list_apps(&self, actor: &Actor, team: Option<&str>) -> Result<Vec<App>> {
        let only = match team.map(str::trim).filter(|t| !t.is_empty()) {
            Some(slug) => Some(self.team_for(actor, slug, Action::ReadApp).await?.0.id),
            None => actor.limits().and_then(|l| l.team_id),
        };
        self.store.apps_of_user(actor.user.id, only).await
    }

    pub async fn app(&self, actor: &Actor, slug: &str) -> Result<App> {
        self.app_for(actor, slug, Action::ReadApp).await
    }

    pub async fn update_app(&self, actor: &Actor, slug: &str, patch: AppPatch) -> Result<App> {
        let mut app = self.app_for(actor, slug, Action::UpdateApp).await?;
        if let Some(n) = patch.name {
            app.name = parse_name(&n)?;
        }
        if let Some(u) = patch.repo_url {
            app.repo_url = RepoUrl::parse(&u)?.as_str().to_string();
            self.check_repo_source(&app.repo_url).await?;
        }
        if let Some(b) = patch.branch {
            app.branch = parse_branch(&b)?;
        }
        if let Some(r) = patch.root_dir {
            app.root_dir = parse_root_dir(&r)?;
        }
        if let Some(c) = patch.build_command {
            app.build_command = parse_command("build_command", &c)?;
        }
        if let Some(c) = patch.start_command {
            app.start_command = parse_command("start_command", &c)?;
        }
        if let Some(p) = patch.health_check_path {
            app.health_check_path = parse_health_path(&p)?;
        }
        if let Some(on) = patch.auto_deploy {
            app.auto_deploy = on;
        }
        if let Some(on) = patch.watch_root_dir {
            app.watch_root_dir = on;
        }
        if let Some(on) = patch.previews {
            if on && app.preview_of.is_some() {
                return Err(Error::invalid("previews", "a preview has no previews of its own"));
            }
            app.previews = on;
        }
        run::apply(&mut app, &run::RunInput {
            cpu_limit: patch.cpu_limit,
            memory_limit_mb: patch.memory_limit_mb,
            replicas: patch.replicas,
            drain_timeout_secs: patch.drain_timeout_secs,
            stop_timeout_secs: patch.stop_timeout_secs,
            sticky_sessions: patch.sticky_sessions,
            dockerfile_path: patch.dockerfile_path,
        })?;
        if patch.runtime.is_some() {
            app.runtime = self.runtime_choice(patch.runtime.as_deref()).await?;
        }
        let app = self.store.update_app(&app).await?;
        self.record(&[app.team_id], actor.audit(AuditAction::AppUpdate, &app.slug, "")).await;
        Ok(app)
    }

    /// Stops the app's versions, cancels its deployments and deletes its builds, logs and records.
    pub async fn delete_app(&self, actor: &Actor, slug: &str) -> Result<()> {
        let app = self.app_for(actor, slug, Action::DeleteApp).await?;
        // its pull request previews first
        for preview in self.store.list_apps().await?.into_iter().filter(|a| a.preview_of == Some(app.id)) {
            self.remove_app(&preview).await?;
        }
        self.remove_app(&app).await?;
        self.record(&[app.team_id], actor.audit(AuditAction::AppDelete, &app.slug, "")).await;
        Ok(())
    }

    /// Stops an app's versions, cancels its deployments and deletes its builds, logs and records
    /// (`delete_app`, and a preview whose pull request closed).
    pub(crate) async fn remove_app(&self, app: &App) -> Result<()> {
        self.cancel_app_deployments(app.id).await?;
        let route = self.routes.remove(&app.slug);
        if let Some(r) = route {
            self.stop_version(r.deployment_id).await;
        }
        self.stop_app_instances(app.id).await;
        let mut dep_ids = Vec::new();
        let mut before = None;
        loop {
            let page = self.store.list_deployments(app.id, before, 200).await?;
            if page.is_empty() {
                break;
            }
            before = page.last().map(|d| d.id);
            dep_ids.extend(page.iter().map(|d| d.id));
        }
        // its verified domains' certificates go with it (the domain rows cascade)
        for d in self.store.domains_of_app(app.id).await?.into_iter().filter(|d| d.verified_at.is_some()) {
            self.drop_certificate(&d.domain).await?;
        }
        self.drop_app_certificate(&app.slug).await?;
        self.store.delete_app(app.id).await?;
        for id in dep_ids {
            self.store.delete_log(&crate::logs::deploy_channel(id)).await?;
        }
        self.store.delete_log(&crate::logs::app_channel(app.id)).await?;
        let dir = self.settings.app_dir(&app.slug);
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(app.slug = %app.slug, error = %e, "removing build directory failed");
            }
        }
        tracing::info!(app.slug = %app.slug, "app deleted");
        Ok(())
    }

    /// Env vars with values masked unless `reveal` (which admins may do, and which is audited).
    pub async fn env(&self, actor: &Actor, slug: &str, reveal: bool) -> Result<BTreeMap<String, String>> {
        let app = self.app_for(actor, slug, if reveal { Action::RevealEnv } else { Action::ReadEnvKeys }).await?;
        if !reveal {
            return self.masked_env(app.id).await;
        }
        let vars: BTreeMap<String, String> = self.env_plain(app.id).await?.into_iter().collect();
        let keys: Vec<&str> = vars.keys().map(String::as_str).collect();
        self.record(&[app.team_id], actor.audit(AuditAction::EnvReveal, &app.slug, keys.join(", "))).await;
        Ok(vars)
    }

    async fn masked_env(&self, app_id: i64) -> Result<BTreeMap<String, String>> {
        let vars = self.store.env_vars(app_id).await?;
        Ok(vars.into_iter().map(|v| (v.key, MASK.to_string())).collect())
    }

    pub(crate) async fn env_plain(&self, app_id: i64) -> Result<Vec<(String, String)>> {
        let vars = self.store.env_vars(app_id).await?;
        vars.into_iter()
            .map(|v| Ok((v.key.clone(), self.key.open(&aad(app_id, &v.key), &v.nonce, &v.ciphertext)?)))
            .collect()
    }

    /// `replace`: the map becomes the whole set. Otherwise merge; a `None` value deletes the key.
    pub async fn write_env(&self, actor: &Actor, slug: &str, vars: BTreeMap<String, Option<String>>, replace: bool) -> Result<BTreeMap<String, String>> {
        let app = self.app_for(actor, slug, Action::WriteEnv).await?;
        let mut changes = Vec::with_capacity(vars.len());
        for (k, v) in vars {
            let key = EnvKey::parse(&k)?;
            let sealed = match v {
                Some(v) if replace || v != MASK => {
                    if v.len() > MAX_VALUE || v.contains('\0') {
                        return Err(Error::invalid("env", format!("value of {k} must be at most 32 KiB of text")));
                    }
                    let (nonce, ciphertext) = self.key.seal(&aad(app.id, key.as_str()), &v)?;
                    Some(SealedVar { key: key.as_str().to_string(), nonce, ciphertext })
                }
                // merging the masked placeholder back keeps the stored value
                Some(_) => continue,
                None if replace => return Err(Error::invalid("env", format!("value of {k} must be a string"))),
                None => None,
            };
            changes.push((key.as_str().to_string(), sealed));
        }
        self.store.write_env_vars(app.id, replace, &changes).await?;
        let keys: Vec<String> = changes.iter().map(|(k, v)| if v.is_some() { k.clone() } else { format!("-{k}") }).collect();
        let detail = format!("{}{}", if replace { "replaced: " } else { "" }, keys.join(", "));
        self.record(&[app.team_id], actor.audit(AuditAction::EnvWrite, &app.slug, detail)).await;
        self.masked_env(app.id).await
    }
}

impl Services {
    /// The log channel of a deployment's build and release, if the actor may read it.
    pub async fn deployment_log(&self, actor: &Actor, deployment_id: i64) -> Result<String> {
        self.deployment_for(actor, deployment_id, Action::ReadLogs).await?;
        Ok(crate::logs::deploy_channel(deployment_id))
    }

    /// The log channel of an app's output, if the actor may read it.
    pub async fn app_log(&self, actor: &Actor, slug: &str) -> Result<String> {
        let app = self.app_for(actor, slug, Action::ReadLogs).await?;
        Ok(crate::logs::app_channel(app.id))
    }
}

/// What an app's variable is sealed under (its app id and key).
pub(crate) fn env_aad(app_id: i64, key: &str) -> String {
    aad(app_id, key)
}

fn aad(app_id: i64, key: &str) -> String {
    format!("{app_id}:{key}")
}
