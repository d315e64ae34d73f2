//! The instance admin (the installation's first account): lists accounts, disables and re-enables
//! them, ends their sessions. It sees no team's data through this: only who exists.

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::Services;

pub use wire::UserSummary;

fn only_admin(actor: &Actor) -> Result<()> {
    if actor.is_instance_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden("only the administrator of this Rhone manages accounts".into()))
    }
}

impl Services {
    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserSummary>> {
        only_admin(actor)?;
        self.store.list_users().await
    }

    /// Disables an account (its sessions end, its tokens stop working, it cannot log in) or enables it
    /// again. The admin cannot disable itself.
    pub async fn set_user_disabled(&self, actor: &Actor, user_id: i64, disabled: bool) -> Result<()> {
        only_admin(actor)?;
        if disabled && user_id == actor.user.id {
            return Err(Error::Conflict("you cannot disable your own account".into()));
        }
        if !self.store.set_user_disabled(user_id, disabled).await? {
            return Err(Error::NotFound("user"));
        }
        tracing::info!(user.id = user_id, by = %actor.user.email, disabled, "account {}", if disabled { "disabled" } else { "enabled" });
        Ok(())
    }

    /// Ends every browser session of an account (its API tokens keep working).
    pub async fn reset_user_sessions(&self, actor: &Actor, user_id: i64) -> Result<u64> {
        only_admin(actor)?;
        if self.store.user_by_id(user_id).await?.is_none() {
            return Err(Error::NotFound("user"));
        }
        let ended = self.store.delete_sessions_of(user_id).await?;
        tracing::info!(user.id = user_id, by = %actor.user.email, sessions.ended = ended, "sessions reset");
        Ok(ended)
    }
}
