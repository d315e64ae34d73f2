//! Who is asking, and the checks every `Services` method on team data makes before doing anything.
//!
//! The REST extractor and the server functions build an [`Actor`] (the user, the token the request
//! came with, the client address); the methods below resolve the actor's standing in the
//! resource's team from the store (one query, so a role change or removal applies to the very next
//! request) and ask [`policy::decide`]. A resource of a team the actor is not in is `NotFound`.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::model::{App, Deployment, User};
use crate::policy::{self, Action, Decision, Role, Standing, TokenLimits};
use crate::teams::{AuditAction, NewAuditEntry, Team};
use crate::types::Slug;
use crate::Services;

/// The token a request was authenticated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub id: i64,
    pub prefix: String,
    pub limits: TokenLimits,
}

/// The caller of a `Services` method: a signed-in user, through a browser session or an API token.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: User,
    pub token: Option<TokenUse>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    pub fn session(user: User, ip: Option<IpAddr>) -> Actor {
        Actor { user, token: None, ip }
    }

    pub fn limits(&self) -> Option<TokenLimits> {
        self.token.as_ref().map(|t| t.limits)
    }

    /// The installation's first account: manages users, sees no team's data it is not a member of.
    pub fn is_instance_admin(&self) -> bool {
        self.user.role == "owner" && self.is_unrestricted()
    }

    /// Whether it may act outside any one team (create teams, manage its own tokens): a session or
    /// an unrestricted write token.
    pub fn is_unrestricted(&self) -> bool {
        self.limits().is_none_or(|l| l.team_id.is_none() && l.scope == policy::Scope::Write)
    }

    /// How the audit log names it.
    pub fn label(&self) -> String {
        match &self.token {
            Some(t) => format!("{} (token {}…)", self.user.email, t.prefix),
            None => self.user.email.clone(),
        }
    }

    pub(crate) fn audit(&self, action: AuditAction, target: impl Into<String>, detail: impl Into<String>) -> NewAuditEntry {
        NewAuditEntry {
            user_id: Some(self.user.id),
            actor: self.label(),
            token_id: self.token.as_ref().map(|t| t.id),
            action,
            target: target.into(),
            detail: detail.into(),
            ip: self.ip.map(|ip| ip.to_string()),
        }
    }
}

/// What `action` means, for a refusal message.
fn verb(action: Action) -> &'static str {
    use Action::*;
    match action {
        ReadApp | ReadDeployments | ReadLogs | ReadTeam | ReadMembers => "see this",
        ReadEnvKeys => "see environment variable names",
        Deploy => "deploy",
        Rollback => "roll back",
        CancelDeployment => "cancel deployments",
        Operate => "restart, stop or start apps",
        CreateApp => "create apps",
        UpdateApp => "change app settings",
        DeleteApp => "delete apps",
        WriteEnv => "change environment variables",
        RevealEnv => "reveal environment variable values",
        Invite => "invite members",
        ChangeMemberRole => "change members' roles",
        RemoveMember => "remove members",
        ReadAudit => "read the audit log",
        UpdateTeam => "change the team",
        DeleteTeam => "delete the team",
        TransferOwnership => "make owners",
        ManageBilling => "manage billing",
    }
}

/// Turns the policy's decision into the domain's error (`what` names the resource for a 404). A team
/// that requires two-factor sign-in refuses members without it (after the membership check, so
/// outsiders still get 404).
pub(crate) fn enforce(actor: &Actor, team_id: i64, role: Option<Role>, action: Action, what: &'static str, require_2fa: bool) -> Result<()> {
    let standing = Standing { team_id, role, token: actor.limits() };
    match policy::decide(standing, action) {
        Decision::Allow if require_2fa && !actor.user.two_factor => {
            Err(Error::Forbidden("this team requires two-factor sign-in: turn it on under Account first".into()))
        }
        Decision::Allow => Ok(()),
        Decision::NotFound => Err(Error::NotFound(what)),
        Decision::Forbidden => {
            let why = match (actor.limits(), role) {
                (Some(l), _) if l.scope == policy::Scope::Read && !action.is_read() => "this API token is read-only".to_string(),
                (_, Some(r)) => format!("a {} of this team", r.as_str()),
                (_, None) => "not a member".to_string(),
            };
            Err(Error::Forbidden(format!("you cannot {} ({why})", verb(action))))
        }
    }
}

impl Services {
    /// The app, if the actor may do `action` to it.
    pub(crate) async fn app_for(&self, actor: &Actor, slug: &str, action: Action) -> Result<App> {
        Ok(self.app_and_role(actor, slug, action).await?.0)
    }

    /// The app and the actor's role in its team (allowed, so a member's), from the one query.
    async fn app_and_role(&self, actor: &Actor, slug: &str, action: Action) -> Result<(App, Role)> {
        Slug::parse(slug).map_err(|_| Error::NotFound("app"))?;
        let (app, role, require_2fa) = self.store.app_with_role(slug, actor.user.id).await?.ok_or(Error::NotFound("app"))?;
        enforce(actor, app.team_id, role, action, "app", require_2fa)?;
        Ok((app, role.ok_or(Error::NotFound("app"))?))
    }

    /// The app, the team that owns it and the actor's role there (what the dashboard offers depends
    /// on it; every action still asks the policy).
    pub async fn app_standing(&self, actor: &Actor, slug: &str) -> Result<(App, Team, Role)> {
        let (app, role) = self.app_and_role(actor, slug, Action::ReadApp).await?;
        let team = self.store.team_by_id(app.team_id).await?;
        Ok((app, team, role))
    }

    /// The deployment, if the actor may do `action` to its app.
    pub(crate) async fn deployment_for(&self, actor: &Actor, id: i64, action: Action) -> Result<(App, Deployment)> {
        let dep = match self.store.deployment(id).await {
            Err(Error::NotFound(_)) => return Err(Error::NotFound("deployment")),
            other => other?,
        };
        let app = match self.app_for(actor, &dep.app_slug, action).await {
            Err(Error::NotFound(_)) => return Err(Error::NotFound("deployment")),
            other => other?,
        };
        Ok((app, dep))
    }

    /// The team named by `slug`, and the actor's role in it, if it may do `action`.
    pub(crate) async fn team_for(&self, actor: &Actor, slug: &str, action: Action) -> Result<(Team, Role)> {
        let (team, role) = self.store.team_with_role(slug.trim(), actor.user.id).await?.ok_or(Error::NotFound("team"))?;
        enforce(actor, team.id, role, action, "team", team.require_2fa)?;
        Ok((team, role.ok_or(Error::NotFound("team"))?))
    }

    /// Records an audited action in `team_id`'s log. A failure to record is logged, not returned:
    /// the action already happened.
    pub(crate) async fn record(&self, team_ids: &[i64], entry: NewAuditEntry) {
        if let Err(e) = self.store.append_audit(team_ids, &entry).await {
            tracing::error!(error = %e, action = entry.action.as_str(), "writing the audit log failed");
        }
    }
}
