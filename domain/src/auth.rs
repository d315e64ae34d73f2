//! Accounts: argon2 password hashes, browser sessions, API tokens and the login rate limit.
//! Session ids and tokens are random 32-byte values; only their SHA-256 is stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{ApiToken, User};
use crate::store::now_ms;
use crate::types::Email;
use crate::Services;

/// The browser session cookie (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "rhone_session";

/// The value of cookie `name` among `Cookie` header values.
pub fn cookie_value<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub const SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
const TOKEN_PREFIX: &str = "rhone_";
const MIN_PASSWORD: usize = 8;

pub fn hash_secret(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD} characters")));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("hash password", e))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Failed logins per key (email and client address) in a sliding window.
#[derive(Clone, Default)]
pub struct LoginLimiter {
    failures: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
}

impl LoginLimiter {
    const MAX: usize = 5;
    const WINDOW: Duration = Duration::from_secs(60);

    fn check(&self, key: &str) -> Result<()> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let list = map.entry(key.to_string()).or_default();
        list.retain(|t| now.duration_since(*t) < Self::WINDOW);
        if list.len() >= Self::MAX {
            let wait = Self::WINDOW.saturating_sub(now.duration_since(list[0]));
            return Err(Error::RateLimited { retry_after_secs: wait.as_secs().max(1) });
        }
        Ok(())
    }

    fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_string()).or_default().push(Instant::now());
        if map.len() > 10_000 {
            map.retain(|_, v| v.last().is_some_and(|t| t.elapsed() < Self::WINDOW));
        }
    }

    fn succeed(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// A freshly issued secret: shown once to the user, never stored in clear.
pub struct Issued<T> {
    pub secret: String,
    pub record: T,
}

impl Services {
    pub async fn needs_setup(&self) -> Result<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    pub async fn create_user(&self, email: &str, password: &str) -> Result<User> {
        let email = Email::parse(email)?;
        let hash = hash_password(password)?;
        let role = if self.needs_setup().await? { "owner" } else { "member" };
        self.store.insert_user(email.as_str(), &hash, role).await
    }

    /// Creates the first (owner) account; refused once any user exists.
    pub async fn setup_owner(&self, email: &str, password: &str) -> Result<User> {
        if !self.needs_setup().await? {
            return Err(Error::Conflict("setup is already done: log in instead".into()));
        }
        self.create_user(email, password).await
    }

    /// Checks a password; `client` (an IP address) is part of the rate-limit key.
    pub async fn authenticate(&self, email: &str, password: &str, client: &str) -> Result<User> {
        let email = Email::parse(email).map_err(|_| Error::Unauthorized)?;
        let keys = [format!("email:{}", email.as_str()), format!("ip:{client}")];
        for k in &keys {
            self.limiter.check(k)?;
        }
        let found = self.store.user_by_email(email.as_str()).await?;
        let ok = match &found {
            Some((_, hash)) => verify_password(password, hash),
            None => {
                // spend the same time as a real check so timing does not reveal which emails exist
                let _ = hash_password("not-a-real-password-xx");
                false
            }
        };
        match found {
            Some((user, _)) if ok => {
                keys.iter().for_each(|k| self.limiter.succeed(k));
                Ok(user)
            }
            _ => {
                keys.iter().for_each(|k| self.limiter.fail(k));
                Err(Error::Unauthorized)
            }
        }
    }

    pub async fn login(&self, email: &str, password: &str, client: &str) -> Result<Issued<User>> {
        let user = self.authenticate(email, password, client).await?;
        let secret = random_token();
        self.store.insert_session(&hash_secret(&secret), user.id, now_ms() + SESSION_TTL_MS).await?;
        Ok(Issued { secret, record: user })
    }

    pub async fn logout(&self, session: &str) -> Result<()> {
        self.store.delete_session(&hash_secret(session)).await
    }

    pub async fn user_by_session(&self, session: &str) -> Result<Option<User>> {
        self.store.user_by_session(&hash_secret(session)).await
    }

    pub async fn issue_api_token(&self, user: &User, name: &str) -> Result<Issued<ApiToken>> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(Error::invalid("name", "must be 1 to 100 characters"));
        }
        let secret = format!("{TOKEN_PREFIX}{}", random_token());
        let record = self.store.insert_api_token(user.id, name, &hash_secret(&secret), &secret[..12]).await?;
        Ok(Issued { secret, record })
    }

    pub async fn user_by_api_token(&self, token: &str) -> Result<Option<User>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        self.store.user_by_api_token(&hash_secret(token)).await
    }

    pub async fn list_api_tokens(&self, user: &User) -> Result<Vec<ApiToken>> {
        self.store.list_api_tokens(user.id).await
    }

    pub async fn revoke_api_token(&self, user: &User, id: i64) -> Result<()> {
        if self.store.delete_api_token(user.id, id).await? {
            Ok(())
        } else {
            Err(Error::NotFound("token"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_value_finds_the_named_cookie_across_headers() {
        let headers = ["a=1; rhone_session=abc", "b=2"];
        assert_eq!(cookie_value(headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie_value(headers, "b"), Some("2"));
        assert_eq!(cookie_value(["xrhone_session=1"], SESSION_COOKIE), None);
    }

    #[test]
    fn password_hash_verifies_only_the_same_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse!", &h));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn limiter_blocks_after_five_failures_and_resets_on_success() {
        let l = LoginLimiter::default();
        for _ in 0..5 {
            l.check("k").unwrap();
            l.fail("k");
        }
        assert!(matches!(l.check("k"), Err(Error::RateLimited { .. })));
        assert!(l.check("other").is_ok());
        l.succeed("k");
        assert!(l.check("k").is_ok());
    }
}
