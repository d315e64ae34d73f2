//! Teams, their members, invitations and the audit log.

use serde::{Deserialize, Serialize};

/// A member's role in a team, lowest first: each role can do everything the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read only: apps, deployments, logs.
    Viewer,
    /// Deploy, roll back, cancel, see logs and env keys (not their values).
    Member,
    /// Manage apps, env vars, settings and members below owner.
    Admin,
    /// Everything: billing, deleting the team, transferring ownership.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// May deploy, roll back and cancel.
    pub fn can_deploy(self) -> bool {
        self >= Role::Member
    }

    /// May change apps, env values, members and invitations, and read the audit log.
    pub fn can_manage(self) -> bool {
        self >= Role::Admin
    }
}

/// What an API token is limited to (a session has no limits beyond its user's roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Team {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// A user's personal team (cannot be deleted).
    pub personal: bool,
    /// Members must use two-factor sign-in to reach its data.
    #[serde(default)]
    pub require_2fa: bool,
    pub created_at: i64,
}

/// A team the caller belongs to, with its role there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MyTeam {
    #[serde(flatten)]
    pub team: Team,
    pub role: Role,
    /// A failed payment and what follows (billing on): said in a banner on the team's pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_warning: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub joined_at: i64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationState {
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Accepted => "accepted",
            InvitationState::Revoked => "revoked",
            InvitationState::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub team_id: i64,
    pub email: String,
    pub role: Role,
    /// The inviter's email (gone if their account was deleted).
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: InvitationState,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    /// Who, as they were named then (email, and the token's prefix when one was used).
    pub actor: String,
    pub token_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: Option<String>,
}

/// An account as the instance admin sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub instance_admin: bool,
    pub created_at: i64,
    pub disabled: bool,
    pub two_factor: bool,
    /// Teams it belongs to.
    pub teams: i64,
    /// Browser sessions not expired.
    pub sessions: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_their_names_in_order() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Viewer < Role::Member && Role::Member < Role::Admin && Role::Admin < Role::Owner);
        assert!(!Role::Viewer.can_deploy() && Role::Member.can_deploy() && !Role::Member.can_manage() && Role::Admin.can_manage());
    }

    #[test]
    fn a_team_of_mine_is_flat_in_json() {
        let mut t = MyTeam { team: Team { id: 1, slug: "a".into(), name: "A".into(), personal: false, require_2fa: false, created_at: 0 }, role: Role::Admin, billing_warning: None };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!((v["slug"].as_str(), v["role"].as_str(), v.get("billing_warning")), (Some("a"), Some("admin"), None), "no warning, no key");
        assert_eq!(serde_json::from_value::<MyTeam>(v).unwrap(), t);
        t.billing_warning = Some("A payment failed".into());
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["billing_warning"], "A payment failed");
        assert_eq!(serde_json::from_value::<MyTeam>(v).unwrap(), t);
    }
}
