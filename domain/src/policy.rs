//! Authorization (issue 10): the one table that says who may do what to a team's data.
//!
//! `decide(standing, action)` is the only place a permission is decided: `Services` methods that read
//! or change team data resolve the actor's standing in the resource's team (its role there, the
//! limits of the token it came with; `access.rs`) and ask here before doing anything; handlers and
//! server functions never decide permissions themselves.
//!
//! - Not a member of the resource's team (or a token restricted to another team): `NotFound`, so
//!   ids and slugs of other teams reveal nothing.
//! - A member whose role is below what the action needs, or a read-scoped token asked to write:
//!   `Forbidden` (the member may know the resource exists).
//! - The instance admin has no rights in a team it is not a member of.

pub use wire::{Role, Scope};

/// What an actor wants to do to a team's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // apps and what hangs off them (deployments, logs and env are checked through their app's team)
    ReadApp,
    ReadDeployments,
    ReadLogs,
    ReadEnvKeys,
    Deploy,
    Rollback,
    CancelDeployment,
    /// Restart, stop and start an app (its live build; nothing is built).
    Operate,
    CreateApp,
    UpdateApp,
    DeleteApp,
    WriteEnv,
    RevealEnv,
    // the team itself
    ReadTeam,
    ReadMembers,
    Invite,
    ChangeMemberRole,
    RemoveMember,
    ReadAudit,
    UpdateTeam,
    DeleteTeam,
    TransferOwnership,
    ManageBilling,
}

impl Action {
    pub const ALL: [Action; 23] = [
        Action::ReadApp,
        Action::ReadDeployments,
        Action::ReadLogs,
        Action::ReadEnvKeys,
        Action::Deploy,
        Action::Rollback,
        Action::CancelDeployment,
        Action::Operate,
        Action::CreateApp,
        Action::UpdateApp,
        Action::DeleteApp,
        Action::WriteEnv,
        Action::RevealEnv,
        Action::ReadTeam,
        Action::ReadMembers,
        Action::Invite,
        Action::ChangeMemberRole,
        Action::RemoveMember,
        Action::ReadAudit,
        Action::UpdateTeam,
        Action::DeleteTeam,
        Action::TransferOwnership,
        Action::ManageBilling,
    ];

    /// The lowest role allowed to do it: the table.
    pub fn needs(self) -> Role {
        use Action::*;
        match self {
            ReadApp | ReadDeployments | ReadLogs | ReadTeam | ReadMembers => Role::Viewer,
            ReadEnvKeys | Deploy | Rollback | CancelDeployment | Operate => Role::Member,
            CreateApp | UpdateApp | DeleteApp | WriteEnv | RevealEnv | Invite | ChangeMemberRole | RemoveMember | ReadAudit | UpdateTeam => {
                Role::Admin
            }
            DeleteTeam | TransferOwnership | ManageBilling => Role::Owner,
        }
    }

    /// Whether a read-scoped token may do it: only what changes nothing and reveals no secret.
    pub fn is_read(self) -> bool {
        use Action::*;
        matches!(self, ReadApp | ReadDeployments | ReadLogs | ReadEnvKeys | ReadTeam | ReadMembers | ReadAudit)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLimits {
    /// The only team the token may act in, if restricted.
    pub team_id: Option<i64>,
    pub scope: Scope,
}

/// The actor's standing towards one resource: who it is in that resource's team, read from the
/// store at the time of the request (a role change or removal applies at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The team that owns the resource.
    pub team_id: i64,
    /// The actor's role there; `None`: not a member.
    pub role: Option<Role>,
    /// Limits of the token the request came with; `None` for a session.
    pub token: Option<TokenLimits>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 404: the actor must not learn the resource exists.
    NotFound,
    /// 403: a member (or its token) without the right.
    Forbidden,
}

/// The one decision: may an actor with this standing do `action`?
pub fn decide(standing: Standing, action: Action) -> Decision {
    let Some(role) = standing.role else { return Decision::NotFound };
    if let Some(token) = standing.token {
        if token.team_id.is_some_and(|t| t != standing.team_id) {
            return Decision::NotFound;
        }
        if token.scope == Scope::Read && !action.is_read() {
            return Decision::Forbidden;
        }
    }
    if role >= action.needs() {
        Decision::Allow
    } else {
        Decision::Forbidden
    }
}

/// Why a change of membership is refused: a team always keeps an owner.
pub fn check_owner_change(owners: usize, target_is_owner: bool, new_role: Option<Role>) -> Result<(), &'static str> {
    let stays_owner = new_role == Some(Role::Owner);
    if target_is_owner && !stays_owner && owners <= 1 {
        return Err("the last owner cannot leave or be demoted: make another member owner first");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(role: Option<Role>, token: Option<TokenLimits>) -> Standing {
        Standing { team_id: 7, role, token }
    }

    /// The table written out by hand, role by role: what each may do (everything else is 403).
    fn allowed(role: Role) -> Vec<Action> {
        use Action::*;
        let viewer = vec![ReadApp, ReadDeployments, ReadLogs, ReadTeam, ReadMembers];
        let member = [viewer.clone(), vec![ReadEnvKeys, Deploy, Rollback, CancelDeployment, Operate]].concat();
        let admin = [
            member.clone(),
            vec![CreateApp, UpdateApp, DeleteApp, WriteEnv, RevealEnv, Invite, ChangeMemberRole, RemoveMember, ReadAudit, UpdateTeam],
        ]
        .concat();
        match role {
            Role::Viewer => viewer,
            Role::Member => member,
            Role::Admin => admin,
            Role::Owner => Action::ALL.to_vec(),
        }
    }

    #[test]
    fn each_role_may_do_exactly_what_the_table_says() {
        for role in Role::ALL {
            let allowed = allowed(role);
            for action in Action::ALL {
                let expected = if allowed.contains(&action) { Decision::Allow } else { Decision::Forbidden };
                assert_eq!(decide(standing(Some(role), None), action), expected, "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn outsiders_get_not_found_for_everything_whatever_their_token() {
        let tokens = [None, Some(TokenLimits { team_id: None, scope: Scope::Write }), Some(TokenLimits { team_id: Some(7), scope: Scope::Write })];
        for token in tokens {
            for action in Action::ALL {
                assert_eq!(decide(standing(None, token), action), Decision::NotFound, "{action:?} {token:?}");
            }
        }
    }

    #[test]
    fn a_token_never_has_more_rights_than_its_user() {
        let write = Some(TokenLimits { team_id: None, scope: Scope::Write });
        let read = Some(TokenLimits { team_id: None, scope: Scope::Read });
        let elsewhere = Some(TokenLimits { team_id: Some(8), scope: Scope::Write });
        for role in Role::ALL {
            for action in Action::ALL {
                let session = decide(standing(Some(role), None), action);
                assert_eq!(decide(standing(Some(role), write), action), session, "a write token is its user: {role:?} {action:?}");
                let by_read = decide(standing(Some(role), read), action);
                if action.is_read() {
                    assert_eq!(by_read, session, "{role:?} {action:?}");
                } else {
                    assert_eq!(by_read, Decision::Forbidden, "a read token changes nothing: {role:?} {action:?}");
                }
                assert_eq!(decide(standing(Some(role), elsewhere), action), Decision::NotFound, "a token of another team: {role:?} {action:?}");
            }
        }
    }

    #[test]
    fn a_read_token_reveals_no_secret() {
        assert!(!Action::RevealEnv.is_read());
        let read = Some(TokenLimits { team_id: Some(7), scope: Scope::Read });
        assert_eq!(decide(standing(Some(Role::Owner), read), Action::RevealEnv), Decision::Forbidden);
        assert_eq!(decide(standing(Some(Role::Owner), read), Action::ReadEnvKeys), Decision::Allow);
    }

    #[test]
    fn a_team_always_keeps_an_owner() {
        assert!(check_owner_change(1, true, None).is_err(), "the last owner cannot leave");
        assert!(check_owner_change(1, true, Some(Role::Admin)).is_err(), "nor be demoted");
        assert!(check_owner_change(1, true, Some(Role::Owner)).is_ok());
        assert!(check_owner_change(2, true, Some(Role::Member)).is_ok(), "one of two owners may step down");
        assert!(check_owner_change(1, false, None).is_ok(), "a non-owner may leave");
    }
}
