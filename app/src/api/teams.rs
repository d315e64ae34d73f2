//! Teams: the caller's teams, members, invitations and the audit log. Every permission is decided by
//! the domain call; these only carry it.

use leptos::prelude::*;
use wire::{AuditEntry, Invitation, Member, MyTeam, Role};

use crate::error::AppError;

/// A new invitation: its single-use link is shown once; `emailed` when a relay took the email,
/// `email_error` when sending failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IssuedInvitation {
    pub invitation: Invitation,
    pub url: String,
    pub emailed: bool,
    pub email_error: Option<String>,
}

/// What an invitation link offers, for the page that accepts it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InvitationOffer {
    pub team_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    /// `pending` when it can still be accepted.
    pub state: wire::InvitationState,
    /// The signed-in user, if any (accepting joins them).
    pub signed_in_as: Option<String>,
}

#[server]
pub async fn list_my_teams() -> Result<Vec<MyTeam>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.my_teams(&actor).await?)
}

/// Creates a team and opens it.
#[server]
pub async fn create_team(name: String) -> Result<MyTeam, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let team = services.create_team(&actor, &name, None).await?;
    leptos_axum::redirect(&format!("/t/{}", team.team.slug));
    Ok(team)
}

#[server]
pub async fn get_team(team: String) -> Result<MyTeam, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.team(&actor, &team).await?)
}

#[server]
pub async fn list_members(team: String) -> Result<Vec<Member>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.members(&actor, &team).await?)
}

#[server]
pub async fn change_member_role(team: String, user_id: i64, role: Role) -> Result<Member, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.change_member_role(&actor, &team, user_id, role).await?)
}

#[server]
pub async fn remove_member(team: String, user_id: i64) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.remove_member(&actor, &team, user_id).await?)
}

#[server]
pub async fn invite_member(team: String, email: String, role: Role) -> Result<IssuedInvitation, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let base = use_context::<crate::server::DashboardUrl>().map(|u| u.0).unwrap_or_default();
    let issued = services.invite(&actor, &team, &email, role, &base).await?;
    let (emailed, email_error) = issued.email.reported();
    Ok(IssuedInvitation { url: issued.url, invitation: issued.invitation, emailed, email_error })
}

#[server]
pub async fn list_invitations(team: String) -> Result<Vec<Invitation>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.invitations(&actor, &team).await?)
}

#[server]
pub async fn revoke_invitation(team: String, id: i64) -> Result<(), AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    Ok(services.revoke_invitation(&actor, &team, id).await?)
}

/// What the link offers (no sign-in needed: the token is the secret).
#[server]
pub async fn get_invitation(token: String) -> Result<InvitationOffer, AppError> {
    let services = super::ctx::services()?;
    let (inv, team) = services.invitation_preview(&token).await?;
    let signed_in_as = super::ctx::user(&services).await?.map(|u| u.email);
    Ok(InvitationOffer { team_name: team.name, email: inv.email, role: inv.role, invited_by: inv.invited_by, state: inv.state, signed_in_as })
}

/// A page of the team's audit log, newest first; `before` is the last id of the previous page.
#[server]
pub async fn audit_log(team: String, user_id: Option<i64>, action: String, before: Option<i64>) -> Result<Vec<AuditEntry>, AppError> {
    let (services, actor) = super::ctx::authorize().await?;
    let filter = domain::teams::AuditFilter { user_id, action: super::ctx::opt(action), before, limit: AUDIT_PAGE };
    Ok(services.audit_log(&actor, &team, filter).await?)
}

pub const AUDIT_PAGE: i64 = 50;
