//! The serializable records shared by `domain` (which makes them), the REST API (which returns them
//! as they are) and the dashboard (which shows them, compiled to wasm). Serde only: no logic beyond
//! names and parsing of the enums.

mod apps;
pub mod billing;
mod overview;
pub mod slug;
mod status;
mod teams;

pub use apps::{ApiToken, App, CpuLimit, Deployment, DeploymentKind, GitHubStatus, Invalid, RuntimeKind, Stage, User};

pub use overview::{AppListItem, AppOverview, AppState, DiskUsage, QueuedBuild, RuntimeStatus};
pub use status::{DeploymentStatus, QueueState, RunState};
pub use teams::{AuditEntry, Invitation, InvitationState, Member, MyTeam, Role, Scope, Team, UserSummary};
