//! First run. While no user exists, the one-time `/setup` page creates the owner, but only for whoever
//! holds the setup token: a random value kept in `<data_dir>/setup-token` (0600), printed by
//! `rhone serve` at start and by `rhone admin setup-token`, and deleted once the owner exists.
//! Creating the owner is one conditional insert, so two concurrent setups make exactly one owner.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::User;
use crate::types::Email;
use crate::Services;

use super::{hash_secret, random_token};

const TOKEN_FILE: &str = "setup-token";

fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TOKEN_FILE)
}

fn read_token(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::internal("read the setup token", e)),
    }
}

/// The token in `data_dir`, created (0600, complete before it appears) if there is none yet.
fn load_or_create_token(data_dir: &Path) -> Result<String> {
    let path = token_path(data_dir);
    if let Some(t) = read_token(&path)? {
        return Ok(t);
    }
    let token = random_token()[..32].to_string();
    let tmp = data_dir.join(format!(".{TOKEN_FILE}.{}", &random_token()[..8]));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(token.as_bytes())?;
        f.sync_all()
    };
    write().map_err(|e| Error::internal("write the setup token", e))?;
    // a hard link never replaces an existing file: if another process got there first, use its token
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(token),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_token(&path)?.ok_or_else(|| Error::internal("read the setup token", "empty file"))
        }
        Err(e) => Err(Error::internal("write the setup token", e)),
    }
}

impl Services {
    pub async fn needs_setup(&self) -> Result<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    /// The setup token while no user exists (created on first use); `None` once setup is done.
    pub async fn setup_token(&self) -> Result<Option<String>> {
        if !self.needs_setup().await? {
            return Ok(None);
        }
        load_or_create_token(&self.settings.data_dir).map(Some)
    }

    /// Creates a user: the owner if there is no user yet (decided atomically), a member otherwise.
    /// For operators (`RHONE_ADMIN_*`, `rhone admin create-user`); the web uses [`Services::setup_owner`].
    pub async fn create_user(&self, email: &str, password: &str) -> Result<User> {
        let email = Email::parse(email)?;
        let hash = self.passwords.hash(password).await?;
        match self.store.insert_first_owner(email.as_str(), &hash).await? {
            Some(owner) => {
                self.forget_setup_token();
                Ok(owner)
            }
            None => self.store.insert_user(email.as_str(), &hash, "member").await,
        }
    }

    /// Creates the account an invitation was sent to (its email, this password).
    pub(crate) async fn create_invited_user(&self, email: &str, password: &str) -> Result<User> {
        super::passwords::check_new(password).map_err(|_| Error::invalid("password", format!("must be at least {} characters", super::MIN_PASSWORD)))?;
        if self.store.user_by_email(email).await?.is_some() {
            return Err(Error::Conflict("an account with this email exists: log in, then open the invitation link again".into()));
        }
        let hash = self.passwords.hash(password).await?;
        self.store.insert_user(email, &hash, "member").await
    }

    /// Creates the first (owner) account for the holder of the setup token; refused once any user
    /// exists, and exactly one of concurrent setups succeeds.
    pub async fn setup_owner(&self, email: &str, password: &str, token: &str) -> Result<User> {
        let done = || Error::Conflict("setup is already done: log in instead".into());
        if !self.needs_setup().await? {
            return Err(done());
        }
        let expected = read_token(&token_path(&self.settings.data_dir))?;
        // compare digests, so the time taken says nothing about how much of the token was right
        if expected.is_none_or(|t| hash_secret(&t) != hash_secret(token.trim())) {
            return Err(Error::invalid(
                "token",
                "is not this install's setup token: copy it from the log of `rhone serve` or run `rhone admin setup-token`",
            ));
        }
        let email = Email::parse(email)?;
        let hash = self.passwords.hash(password).await?;
        let owner = self.store.insert_first_owner(email.as_str(), &hash).await?.ok_or_else(done)?;
        tracing::info!(user.email = %owner.email, "created the owner account through /setup");
        self.forget_setup_token();
        Ok(owner)
    }

    fn forget_setup_token(&self) {
        match std::fs::remove_file(token_path(&self.settings.data_dir)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, "could not delete the used setup token"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_token_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_token(dir.path()).unwrap();
        let b = load_or_create_token(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        let mode = std::fs::metadata(token_path(dir.path())).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
    }

    #[test]
    fn concurrent_creators_agree_on_one_token() {
        let dir = tempfile::tempdir().unwrap();
        let tokens: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8).map(|_| s.spawn(|| load_or_create_token(dir.path()).unwrap())).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    }
}
