//! Accounts: passwords (argon2, off the async threads: `passwords.rs`), the login limits
//! (`limiter.rs`), first-run setup (`setup.rs`), browser sessions and API tokens. Session ids and
//! tokens are random 32-byte values; only their SHA-256 is stored.

mod limiter;
mod passwords;
mod setup;
pub mod totp;
pub mod oidc;
pub mod two_factor;

use std::net::IpAddr;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::model::{ApiToken, User};
use crate::policy::{Scope, TokenLimits};
use crate::teams::AuditAction;
use crate::types::Email;
use crate::Services;

pub use limiter::{Attempt, LoginLimiter};
pub use passwords::{PasswordPool, MIN_PASSWORD};
pub(crate) use two_factor::Challenges;
pub use two_factor::{Enrolment, LoginStep};

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

/// The session cookie's name when it is `Secure` (dashboard served over https): the `__Host-` prefix
/// makes browsers refuse it unless it is `Secure`, host-only and `Path=/`, so a sibling subdomain
/// (an app) can neither set nor shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-rhone_session";

/// The session cookie's name for a dashboard whose cookies are (not) `Secure`.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The `Set-Cookie` value of a session (`max_age_secs` 0 ends it). Secure cookies get the `__Host-`
/// prefix, which browsers accept only with `Secure`, `Path=/` and no `Domain`.
pub fn session_set_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let name = session_cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

pub const SESSION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
const TOKEN_PREFIX: &str = "rhone_";

pub fn hash_secret(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// `next` if it is a path on this dashboard (`/…`, not `//host` or `/\host`), else `/`: where a
/// login may send the browser afterwards.
pub fn local_path(next: &str) -> &str {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") && !next.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        next
    } else {
        "/"
    }
}

pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A freshly issued secret: shown once to the user, never stored in clear.
pub struct Issued<T> {
    pub secret: String,
    pub record: T,
}

impl Services {
    /// Checks a password. The attempt is counted (per `client`, and per account and `client`) before
    /// the password is looked at, and argon2 runs on the blocking pool.
    pub async fn authenticate(&self, email: &str, password: &str, client: IpAddr) -> Result<User> {
        let parsed = Email::parse(email);
        let account = match &parsed {
            Ok(e) => e.as_str().to_string(),
            Err(_) => email.trim().to_ascii_lowercase(),
        };
        let attempt = self.limiter.begin(&account, client)?;
        let found = match parsed {
            Ok(e) => self.store.user_by_email(e.as_str()).await?,
            Err(_) => None,
        };
        let ok = self.passwords.verify(password, found.as_ref().map(|(_, h)| h.as_str())).await?;
        match found {
            Some((user, _)) if ok && user.disabled => {
                self.limiter.succeeded(attempt);
                Err(Error::Forbidden("this account is disabled: ask the administrator of this Rhone".into()))
            }
            Some((user, _)) if ok => {
                self.limiter.succeeded(attempt);
                Ok(user)
            }
            _ => Err(Error::Unauthorized),
        }
    }

    /// Changes `user`'s password after checking the current one (counted like a login attempt) and
    /// ends all their sessions except `keep_session` (the one asking, if it is a browser session).
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str, keep_session: Option<&str>, client: IpAddr) -> Result<()> {
        if !actor.is_unrestricted() {
            return Err(Error::Forbidden("a limited API token cannot change the password".into()));
        }
        let user = &actor.user;
        passwords::check_new(new).map_err(|_| Error::invalid("new", format!("must be at least {MIN_PASSWORD} characters")))?;
        let attempt = self.limiter.begin(&user.email, client)?;
        let found = self.store.user_by_email(&user.email).await?.filter(|(u, _)| u.id == user.id);
        let Some((_, hash)) = found else { return Err(Error::NotFound("user")) };
        if !self.passwords.verify(current, Some(&hash)).await? {
            return Err(Error::invalid("current", "is not your current password"));
        }
        self.limiter.succeeded(attempt);
        let hash = self.passwords.hash(new).await?;
        let keep = keep_session.map(hash_secret);
        let ended = self.store.set_password(user.id, &hash, keep.as_deref()).await?;
        tracing::info!(user.id = user.id, sessions.ended = ended, "password changed");
        Ok(())
    }

    pub async fn logout(&self, session: &str) -> Result<()> {
        self.store.delete_session(&hash_secret(session)).await
    }

    pub async fn user_by_session(&self, session: &str) -> Result<Option<User>> {
        self.store.user_by_session(&hash_secret(session)).await
    }

    /// The actor behind a browser session (a disabled user has none).
    pub async fn actor_by_session(&self, session: &str, ip: Option<IpAddr>) -> Result<Option<Actor>> {
        Ok(self.user_by_session(session).await?.map(|u| Actor::session(u, ip)))
    }

    /// The actor behind an API token, with the token's limits.
    pub async fn actor_by_api_token(&self, token: &str, ip: Option<IpAddr>) -> Result<Option<Actor>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        Ok(self.store.user_by_api_token(&hash_secret(token)).await?.map(|(user, token)| Actor { user, token: Some(token), ip }))
    }

    /// Issues a token for the actor's user, limited to `team` (a slug the user belongs to) and
    /// `scope`; a token can only be made by a session or an unlimited write token, and never has more
    /// rights than its user.
    pub async fn issue_api_token(&self, actor: &Actor, name: &str, team: Option<&str>, scope: Scope) -> Result<Issued<ApiToken>> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(Error::invalid("name", "must be 1 to 100 characters"));
        }
        if !actor.is_unrestricted() {
            return Err(Error::Forbidden("a limited API token cannot make tokens".into()));
        }
        let team_id = match team.map(str::trim).filter(|t| !t.is_empty()) {
            Some(slug) => Some(self.team_for(actor, slug, crate::policy::Action::ReadTeam).await?.0.id),
            None => None,
        };
        let secret = format!("{TOKEN_PREFIX}{}", random_token());
        let limits = TokenLimits { team_id, scope };
        let record = self.store.insert_api_token(actor.user.id, name, &hash_secret(&secret), &secret[..12], limits).await?;
        let entry = actor.audit(AuditAction::TokenCreate, &record.name, format!("{}…, {}", record.prefix, scope.as_str()));
        match team_id {
            Some(id) => self.record(&[id], entry).await,
            None => self.record_for_user(actor.user.id, entry).await,
        }
        Ok(Issued { secret, record })
    }

    pub async fn list_api_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>> {
        self.store.list_api_tokens(actor.user.id).await
    }

    pub async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<()> {
        if !actor.is_unrestricted() {
            return Err(Error::Forbidden("a limited API token cannot revoke tokens".into()));
        }
        let token = self.store.list_api_tokens(actor.user.id).await?.into_iter().find(|t| t.id == id).ok_or(Error::NotFound("token"))?;
        if !self.store.delete_api_token(actor.user.id, id).await? {
            return Err(Error::NotFound("token"));
        }
        self.record_for_user(actor.user.id, actor.audit(AuditAction::TokenRevoke, &token.name, format!("{}…", token.prefix))).await;
        Ok(())
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
        assert_eq!(cookie_value(["__Host-rhone_session=1"], SESSION_COOKIE), None);
        assert_eq!(cookie_value(["rhone_session=1"], session_cookie_name(true)), None, "https wants the prefixed cookie only");
    }
}
