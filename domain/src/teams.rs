//! Teams: who belongs to them with which role, invitations, and the audit log. Every check goes
//! through `access.rs` and `policy.rs`.

use serde::Deserialize;

use crate::access::Actor;
use crate::auth::{hash_secret, random_token};
use crate::error::{Error, Result};
use crate::model::User;
use crate::policy::{Action, Role};
use crate::types::{Email, Slug};
use crate::Services;

pub use wire::{AuditEntry, Invitation, InvitationState, Member, MyTeam, Team};

/// The audited actions (`as_str` is what the log stores and the filter takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Login,
    AppCreate,
    AppUpdate,
    AppDelete,
    EnvWrite,
    EnvReveal,
    CredentialChange,
    Deploy,
    Cancel,
    Rollback,
    AppRestart,
    AppStop,
    AppStart,
    Invite,
    InvitationRevoke,
    Join,
    RoleChange,
    MemberRemove,
    TokenCreate,
    TokenRevoke,
    TeamCreate,
    TeamUpdate,
    GitHubConnect,
    GitHubLink,
    IdentityLink,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        use AuditAction::*;
        match self {
            Login => "login",
            AppCreate => "app.create",
            AppUpdate => "app.update",
            AppDelete => "app.delete",
            EnvWrite => "env.write",
            EnvReveal => "env.reveal",
            CredentialChange => "credential.change",
            Deploy => "deploy",
            Cancel => "deployment.cancel",
            Rollback => "rollback",
            AppRestart => "app.restart",
            AppStop => "app.stop",
            AppStart => "app.start",
            Invite => "invite",
            InvitationRevoke => "invitation.revoke",
            Join => "join",
            RoleChange => "member.role",
            MemberRemove => "member.remove",
            TokenCreate => "token.create",
            TokenRevoke => "token.revoke",
            TeamCreate => "team.create",
            TeamUpdate => "team.update",
            GitHubConnect => "github.connect",
            GitHubLink => "github.link",
            IdentityLink => "identity.link",
        }
    }
}

/// An entry to append (see [`Actor::audit`]).
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub user_id: Option<i64>,
    pub actor: String,
    pub token_id: Option<i64>,
    pub action: AuditAction,
    pub target: String,
    pub detail: String,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditFilter {
    pub user_id: Option<i64>,
    pub action: Option<String>,
    /// Entries with an id below this (the previous page's last id).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A new invitation with its link (the token in it is the secret, shown once) and whether it was
/// emailed.
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub url: String,
    pub email: EmailOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    /// No SMTP relay is configured: the link is only shown.
    NotConfigured,
    Sent,
    /// What to tell the inviter (the details are in the server log).
    Failed(String),
}

impl EmailOutcome {
    /// As the API and the dashboard report it: whether a relay took the email, and why not if it
    /// failed.
    pub fn reported(self) -> (bool, Option<String>) {
        match self {
            EmailOutcome::Sent => (true, None),
            EmailOutcome::NotConfigured => (false, None),
            EmailOutcome::Failed(why) => (false, Some(why)),
        }
    }
}

fn parse_team_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(Error::invalid("name", "must be 1 to 100 characters"));
    }
    Ok(name.to_string())
}

fn refuse_restricted(actor: &Actor) -> Result<()> {
    if actor.is_unrestricted() {
        Ok(())
    } else {
        Err(Error::Forbidden("this API token is limited to one team or to reading".into()))
    }
}

impl Services {
    /// The teams the actor belongs to (a token limited to one team sees that one).
    pub async fn my_teams(&self, actor: &Actor) -> Result<Vec<MyTeam>> {
        let mut teams = self.store.teams_of(actor.user.id).await?;
        if let Some(only) = actor.limits().and_then(|l| l.team_id) {
            teams.retain(|t| t.team.id == only);
        }
        for t in &mut teams {
            t.billing_warning = self.billing_warning(t.team.id).await?;
        }
        Ok(teams)
    }

    pub async fn create_team(&self, actor: &Actor, name: &str, slug: Option<&str>) -> Result<MyTeam> {
        refuse_restricted(actor)?;
        let name = parse_team_name(name)?;
        let slug = match slug.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Slug::parse(s)?,
            None => Slug::from_name(&name).map_err(|_| Error::invalid("name", "must contain a letter or digit"))?,
        };
        let team = self.store.insert_team(slug.as_str(), &name, actor.user.id).await?;
        self.record(&[team.id], actor.audit(AuditAction::TeamCreate, &team.slug, "")).await;
        Ok(MyTeam { team, role: Role::Owner, billing_warning: None })
    }

    pub async fn team(&self, actor: &Actor, slug: &str) -> Result<MyTeam> {
        let (team, role) = self.team_for(actor, slug, Action::ReadTeam).await?;
        Ok(MyTeam { team, role, billing_warning: None })
    }

    /// Renames the team (its name, and its slug when given) and sets whether its members must use
    /// two-factor sign-in (which the one setting it must use already).
    pub async fn update_team(&self, actor: &Actor, slug: &str, name: Option<&str>, new_slug: Option<&str>, require_2fa: Option<bool>) -> Result<MyTeam> {
        let (team, role) = self.team_for(actor, slug, Action::UpdateTeam).await?;
        if let Some(required) = require_2fa {
            if required && !actor.user.two_factor {
                return Err(Error::Conflict("turn on two-factor sign-in for your own account first".into()));
            }
            self.store.set_team_requires_2fa(team.id, required).await?;
            let detail = if required { "two-factor sign-in required" } else { "two-factor sign-in optional" };
            self.record(&[team.id], actor.audit(AuditAction::TeamUpdate, &team.slug, detail)).await;
        }
        if name.is_none() && new_slug.is_none() {
            let team = self.store.team_by_id(team.id).await?;
            return Ok(MyTeam { team, role, billing_warning: None });
        }
        let name = name.map(parse_team_name).transpose()?.unwrap_or(team.name.clone());
        let new_slug = new_slug.map(|s| Slug::parse(s.trim())).transpose()?.map_or(team.slug.clone(), |s| s.to_string());
        let updated = self.store.update_team(team.id, &new_slug, &name).await?;
        self.record(&[team.id], actor.audit(AuditAction::TeamUpdate, &updated.slug, format!("was {} ({})", team.slug, team.name))).await;
        Ok(MyTeam { team: updated, role, billing_warning: None })
    }

    /// Deletes a team that owns no apps; a personal team stays.
    pub async fn delete_team(&self, actor: &Actor, slug: &str) -> Result<()> {
        let (team, _) = self.team_for(actor, slug, Action::DeleteTeam).await?;
        if team.personal {
            return Err(Error::Conflict("a personal team cannot be deleted".into()));
        }
        self.store.delete_team(team.id).await?;
        tracing::info!(team.slug = %team.slug, "team deleted");
        Ok(())
    }

    pub async fn members(&self, actor: &Actor, slug: &str) -> Result<Vec<Member>> {
        let (team, _) = self.team_for(actor, slug, Action::ReadMembers).await?;
        self.store.members(team.id).await
    }

    /// Changes a member's role: admins manage members below owner; only owners make or unmake
    /// owners; the last owner stays.
    pub async fn change_member_role(&self, actor: &Actor, slug: &str, user_id: i64, new_role: Role) -> Result<Member> {
        let (team, my_role) = self.team_for(actor, slug, Action::ChangeMemberRole).await?;
        let current = self.store.role_in(team.id, user_id).await?.ok_or(Error::NotFound("member"))?;
        if (current == Role::Owner || new_role == Role::Owner) && my_role < Role::Owner {
            return Err(Error::Forbidden("only an owner can make or unmake owners".into()));
        }
        if !self.store.set_member_role(team.id, user_id, Some(new_role)).await? {
            return Err(Error::NotFound("member"));
        }
        let member = self.store.members(team.id).await?.into_iter().find(|m| m.user_id == user_id).ok_or(Error::NotFound("member"))?;
        let detail = format!("{} → {}", current.as_str(), new_role.as_str());
        self.record(&[team.id], actor.audit(AuditAction::RoleChange, &member.email, detail)).await;
        Ok(member)
    }

    /// Removes a member (anyone may leave a team themselves); their tokens limited to this team go
    /// too, and their sessions stop reaching the team's data at once.
    pub async fn remove_member(&self, actor: &Actor, slug: &str, user_id: i64) -> Result<()> {
        let leaving = user_id == actor.user.id;
        let action = if leaving { Action::ReadTeam } else { Action::RemoveMember };
        let (team, my_role) = self.team_for(actor, slug, action).await?;
        let current = self.store.role_in(team.id, user_id).await?.ok_or(Error::NotFound("member"))?;
        if !leaving && current == Role::Owner && my_role < Role::Owner {
            return Err(Error::Forbidden("only an owner can remove an owner".into()));
        }
        let email = self.store.members(team.id).await?.into_iter().find(|m| m.user_id == user_id).map(|m| m.email).unwrap_or_default();
        if !self.store.set_member_role(team.id, user_id, None).await? {
            return Err(Error::NotFound("member"));
        }
        let detail = if leaving { "left" } else { "removed" };
        self.record(&[team.id], actor.audit(AuditAction::MemberRemove, email, detail)).await;
        Ok(())
    }

    /// Invites `email` with `role`: a single-use link `{link_base}/invite/{token}`, emailed when a
    /// relay is configured (a failed email does not undo the invitation: the link is still shown).
    pub async fn invite(&self, actor: &Actor, slug: &str, email: &str, role: Role, link_base: &str) -> Result<IssuedInvitation> {
        let (team, my_role) = self.team_for(actor, slug, Action::Invite).await?;
        if role == Role::Owner && my_role < Role::Owner {
            return Err(Error::Forbidden("only an owner can invite owners".into()));
        }
        let email = Email::parse(email)?;
        self.check_limit(team.id, crate::billing::Limit::Members).await?;
        let token = random_token();
        let invitation = self
            .store
            .insert_invitation(team.id, email.as_str(), role, &hash_secret(&token), actor.user.id, crate::store::now_ms() + i64::try_from(self.settings.invitation_ttl.as_millis()).unwrap_or(i64::MAX / 2))
            .await?;
        self.record(&[team.id], actor.audit(AuditAction::Invite, email.as_str(), role.as_str())).await;
        let url = format!("{}/invite/{token}", link_base.trim_end_matches('/'));
        let email = match &self.mailer {
            None => EmailOutcome::NotConfigured,
            Some(mailer) => {
                let days = (self.settings.invitation_ttl.as_secs() / 86_400) as i64;
                let (subject, body) = crate::mail::invitation_email(&team.name, &actor.user.email, role.as_str(), &url, days);
                match mailer.send(email.as_str(), &subject, &body).await {
                    Ok(()) => EmailOutcome::Sent,
                    Err(e) => {
                        tracing::warn!(error = %e, relay = %mailer.relay(), "sending an invitation email failed");
                        EmailOutcome::Failed(format!("could not send the email through {}: copy the link instead", mailer.relay()))
                    }
                }
            }
        };
        Ok(IssuedInvitation { invitation, url, email })
    }

    pub async fn invitations(&self, actor: &Actor, slug: &str) -> Result<Vec<Invitation>> {
        let (team, _) = self.team_for(actor, slug, Action::Invite).await?;
        self.store.invitations(team.id).await
    }

    pub async fn revoke_invitation(&self, actor: &Actor, slug: &str, id: i64) -> Result<()> {
        let (team, _) = self.team_for(actor, slug, Action::Invite).await?;
        let inv = self.store.invitation(team.id, id).await?;
        if !self.store.revoke_invitation(team.id, id).await? {
            return Err(Error::Conflict(format!("the invitation is {:?} and can no longer be revoked", inv.state).to_lowercase()));
        }
        self.record(&[team.id], actor.audit(AuditAction::InvitationRevoke, &inv.email, "")).await;
        Ok(())
    }

    /// What an invitation link offers (for the accept page), without using it.
    pub async fn invitation_preview(&self, token: &str) -> Result<(Invitation, crate::teams::Team)> {
        let inv = self.store.invitation_by_token(&hash_secret(token.trim())).await?.ok_or(Error::NotFound("invitation"))?;
        let team = self.store.team_by_id(inv.team_id).await?;
        Ok((inv, team))
    }

    /// Uses an invitation: the signed-in `actor` joins, or, without one, a new account is made for
    /// the invited email with `password`. Single use: of concurrent accepts exactly one wins.
    pub async fn accept_invitation(&self, token: &str, actor: Option<&Actor>, password: Option<&str>) -> Result<(User, MyTeam)> {
        let hash = hash_secret(token.trim());
        let inv = self.store.invitation_by_token(&hash).await?.ok_or(Error::NotFound("invitation"))?;
        let gone = |state| Error::Conflict(format!("this invitation is {} : ask for a new one", match state {
            InvitationState::Accepted => "already used",
            InvitationState::Revoked => "revoked",
            _ => "expired",
        }).replace(" :", ":"));
        if inv.state != InvitationState::Pending {
            return Err(gone(inv.state));
        }
        let user = match (actor, password) {
            (Some(a), _) => {
                refuse_restricted(a)?;
                a.user.clone()
            }
            (None, Some(p)) => self.create_invited_user(&inv.email, p).await?,
            (None, None) => return Err(Error::invalid("password", "log in first, or choose a password for the new account")),
        };
        let Some(used) = self.store.accept_invitation(&hash, user.id).await? else {
            let now = self.store.invitation_by_token(&hash).await?.map_or(InvitationState::Revoked, |i| i.state);
            return Err(gone(now));
        };
        let team = self.store.team_by_id(used.team_id).await?;
        let role = self.store.role_in(team.id, user.id).await?.ok_or(Error::NotFound("team"))?;
        let who = match actor {
            Some(a) => a.audit(AuditAction::Join, &user.email, used.role.as_str()),
            None => Actor::session(user.clone(), None).audit(AuditAction::Join, &user.email, used.role.as_str()),
        };
        self.record(&[team.id], who).await;
        Ok((user, MyTeam { team, role, billing_warning: None }))
    }

    /// A page of the team's audit log, newest first.
    pub async fn audit_log(&self, actor: &Actor, slug: &str, filter: AuditFilter) -> Result<Vec<AuditEntry>> {
        let (team, _) = self.team_for(actor, slug, Action::ReadAudit).await?;
        self.store.audit(team.id, &filter).await
    }

    /// The team an app is created in: the named one, else the token's, else the personal team.
    pub(crate) async fn team_for_new_app(&self, actor: &Actor, slug: Option<&str>) -> Result<Team> {
        let slug = match slug.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => s.to_string(),
            None => match actor.limits().and_then(|l| l.team_id) {
                Some(id) => self.store.team_by_id(id).await?.slug,
                None => self.store.personal_team(actor.user.id).await?.slug,
            },
        };
        Ok(self.team_for(actor, &slug, Action::CreateApp).await?.0)
    }

    /// A user's personal team (for the operator's `rhone admin create-user`).
    pub async fn personal_team_of(&self, user: &User) -> Result<Team> {
        self.store.personal_team(user.id).await
    }

    /// Writes `entry` into every team the user belongs to (logins, tokens).
    pub(crate) async fn record_for_user(&self, user_id: i64, entry: crate::teams::NewAuditEntry) {
        match self.store.teams_of(user_id).await {
            Ok(teams) => {
                let ids: Vec<i64> = teams.iter().map(|t| t.team.id).collect();
                self.record(&ids, entry).await;
            }
            Err(e) => tracing::error!(error = %e, "writing the audit log failed"),
        }
    }
}
