//! Two-factor sign-in: enrolment (a pending secret shown as a QR code, confirmed by a first code,
//! then ten recovery codes shown once), the second step of a login (a TOTP code or a recovery code,
//! each usable once), and turning it off (with the password).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::totp::{self, TotpSecret};
use super::{hash_secret, random_token, Issued};
use crate::access::Actor;
use crate::error::{Error, Result};
use crate::model::User;
use crate::teams::AuditAction;
use crate::Services;

/// How long the second step of a login may wait, and how many codes it may try.
const CHALLENGE_TTL: Duration = Duration::from_secs(300);
const CHALLENGE_TRIES: u32 = 5;
const ISSUER: &str = "Rhone";

/// What the first step of a login answers.
pub enum LoginStep {
    Done(Issued<User>),
    /// The password was right and the account has two-factor sign-in: send a code with this
    /// challenge (valid 5 minutes, 5 tries).
    NeedsCode { challenge: String },
}

/// A secret waiting for its first code: shown once, as a QR code and as text.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub otpauth_url: String,
    pub qr_svg: String,
    pub secret_base32: String,
}

/// Logins waiting for their second step (memory only: a restart asks for the password again).
#[derive(Clone, Default)]
pub(crate) struct Challenges(Arc<Mutex<HashMap<String, (i64, Instant, u32)>>>);

impl Challenges {
    fn issue(&self, user_id: i64) -> String {
        let token = random_token();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at, _)| at.elapsed() < CHALLENGE_TTL);
        map.insert(hash_secret(&token), (user_id, Instant::now(), 0));
        token
    }

    /// The challenge's user, counting one try; `None` when unknown, expired or out of tries.
    fn attempt(&self, token: &str) -> Option<i64> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = hash_secret(token.trim());
        let (user, at, tries) = map.get_mut(&key)?;
        *tries += 1;
        let (user, live) = (*user, at.elapsed() < CHALLENGE_TTL && *tries <= CHALLENGE_TRIES);
        if !live {
            map.remove(&key);
        }
        live.then_some(user)
    }

    fn finish(&self, token: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&hash_secret(token.trim()));
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn aad(user_id: i64) -> String {
    format!("totp:{user_id}")
}

impl Services {
    /// Checks the password; an account with two-factor sign-in gets a challenge for its code instead
    /// of a session.
    pub async fn begin_login(&self, email: &str, password: &str, client: IpAddr) -> Result<LoginStep> {
        let user = self.authenticate(email, password, client).await?;
        if user.two_factor {
            return Ok(LoginStep::NeedsCode { challenge: self.challenges.issue(user.id) });
        }
        Ok(LoginStep::Done(self.open_session(user, client, "password").await?))
    }

    /// A login proven elsewhere (`how`: `github`): a session, or the two-factor step first.
    pub async fn begin_external_login(&self, user: User, client: IpAddr, how: &str) -> Result<LoginStep> {
        if user.two_factor {
            return Ok(LoginStep::NeedsCode { challenge: self.challenges.issue(user.id) });
        }
        Ok(LoginStep::Done(self.open_session(user, client, how).await?))
    }

    /// The second step: a TOTP code or a recovery code for the challenge's account.
    pub async fn finish_login(&self, challenge: &str, code: &str, client: IpAddr) -> Result<Issued<User>> {
        let expired = || Error::invalid("challenge", "this sign-in has expired: enter your email and password again");
        let user_id = self.challenges.attempt(challenge).ok_or_else(expired)?;
        let user = self.store.user_by_id(user_id).await?.filter(|u| !u.disabled).ok_or_else(expired)?;
        let how = self.check_second_factor(&user, code, client).await?;
        self.challenges.finish(challenge);
        self.open_session(user, client, how).await
    }

    /// Checks a code for `user`: a TOTP code (each step once) or a recovery code (each once). Says
    /// which was used. Attempts are counted like password attempts (per account and client, and per
    /// client), so codes cannot be guessed by logging in again and again.
    pub async fn check_second_factor(&self, user: &User, code: &str, client: IpAddr) -> Result<&'static str> {
        let attempt = self.limiter.begin(&format!("second factor of {}", user.email), client)?;
        let how = self.second_factor(user, code).await?;
        self.limiter.succeeded(attempt);
        Ok(how)
    }

    async fn second_factor(&self, user: &User, code: &str) -> Result<&'static str> {
        let wrong = || Error::invalid("code", "is not a valid code: use the 6 digits your authenticator shows now, or a recovery code");
        let Some(stored) = self.store.totp(user.id).await?.filter(|t| t.enabled) else {
            return Err(wrong());
        };
        let secret = self.totp_secret(user.id, &stored.nonce, &stored.ciphertext)?;
        let last = stored.last_step.and_then(|s| u64::try_from(s).ok());
        if let Some(step) = totp::verify(&secret, code, unix_now(), last) {
            if self.store.use_totp_step(user.id, i64::try_from(step).unwrap_or(i64::MAX)).await? {
                return Ok("totp");
            }
            return Err(wrong());
        }
        let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() >= 10 && self.store.use_recovery_code(user.id, &totp::hash_recovery_code(code)).await? {
            let left = self.store.recovery_codes_left(user.id).await?;
            tracing::info!(user.id = user.id, recovery_codes.left = left, "signed in with a recovery code");
            return Ok("recovery code");
        }
        Err(wrong())
    }

    fn totp_secret(&self, user_id: i64, nonce: &[u8], ciphertext: &[u8]) -> Result<TotpSecret> {
        let text = self.key.open(&aad(user_id), nonce, ciphertext)?;
        TotpSecret::from_base32(&text).ok_or_else(|| Error::internal("stored totp secret", "not base32"))
    }

    async fn open_session(&self, user: User, client: IpAddr, how: &str) -> Result<Issued<User>> {
        let secret = random_token();
        self.store.insert_session(&hash_secret(&secret), user.id, crate::store::now_ms() + super::SESSION_TTL_MS).await?;
        self.record_for_user(user.id, Actor::session(user.clone(), Some(client)).audit(AuditAction::Login, "", how)).await;
        Ok(Issued { secret, record: user })
    }

    /// Starts (or restarts) enrolment: a new secret, kept until a code confirms it.
    pub async fn begin_totp(&self, actor: &Actor) -> Result<Enrolment> {
        refuse_token(actor)?;
        let secret = TotpSecret::generate();
        let (nonce, ciphertext) = self.key.seal(&aad(actor.user.id), &secret.to_base32())?;
        if !self.store.set_pending_totp(actor.user.id, &nonce, &ciphertext).await? {
            return Err(Error::Conflict("two-factor sign-in is already on: turn it off first to use a new authenticator".into()));
        }
        let url = totp::otpauth_url(&secret, ISSUER, &actor.user.email);
        Ok(Enrolment { qr_svg: totp::qr_svg(&url), otpauth_url: url, secret_base32: secret.to_base32() })
    }

    /// Confirms enrolment with a first code; returns the recovery codes (shown once).
    pub async fn confirm_totp(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        refuse_token(actor)?;
        let Some(stored) = self.store.totp(actor.user.id).await?.filter(|t| !t.enabled) else {
            return Err(Error::Conflict("start again: there is no authenticator waiting for its first code".into()));
        };
        let secret = self.totp_secret(actor.user.id, &stored.nonce, &stored.ciphertext)?;
        let step = totp::verify(&secret, code, unix_now(), None)
            .ok_or_else(|| Error::invalid("code", "does not match: enter the 6 digits your authenticator shows now"))?;
        let codes = totp::recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| totp::hash_recovery_code(c)).collect();
        if !self.store.enable_totp(actor.user.id, i64::try_from(step).unwrap_or(i64::MAX), &hashes).await? {
            return Err(Error::Conflict("two-factor sign-in is already on".into()));
        }
        tracing::info!(user.id = actor.user.id, "two-factor sign-in turned on");
        Ok(codes)
    }

    /// New recovery codes (the old ones stop working), after a current code.
    pub async fn regenerate_recovery_codes(&self, actor: &Actor, code: &str) -> Result<Vec<String>> {
        refuse_token(actor)?;
        let client = actor.ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        self.check_second_factor(&actor.user, code, client).await?;
        let codes = totp::recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| totp::hash_recovery_code(c)).collect();
        self.store.replace_recovery_codes(actor.user.id, &hashes).await?;
        Ok(codes)
    }

    /// Turns two-factor sign-in off, after the password.
    pub async fn disable_totp(&self, actor: &Actor, password: &str, client: IpAddr) -> Result<()> {
        refuse_token(actor)?;
        self.authenticate(&actor.user.email, password, client).await.map_err(|e| match e {
            Error::Unauthorized => Error::invalid("password", "is not your password"),
            other => other,
        })?;
        self.store.disable_totp(actor.user.id).await?;
        tracing::info!(user.id = actor.user.id, "two-factor sign-in turned off");
        Ok(())
    }

    /// Whether the actor's account has two-factor sign-in, and how many recovery codes are left.
    pub async fn totp_status(&self, actor: &Actor) -> Result<(bool, i64)> {
        let on = self.store.totp(actor.user.id).await?.is_some_and(|t| t.enabled);
        Ok((on, if on { self.store.recovery_codes_left(actor.user.id).await? } else { 0 }))
    }
}

/// Two-factor settings change only from a signed-in browser, never with an API token.
fn refuse_token(actor: &Actor) -> Result<()> {
    if actor.token.is_some() {
        return Err(Error::Forbidden("two-factor sign-in is managed from the dashboard, not with an API token".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_allows_five_tries_then_is_gone() {
        let c = Challenges::default();
        let t = c.issue(7);
        for _ in 0..CHALLENGE_TRIES {
            assert_eq!(c.attempt(&t), Some(7));
        }
        assert_eq!(c.attempt(&t), None, "the sixth try is refused");
        assert_eq!(c.attempt(&t), None);
        assert_eq!(c.attempt("made-up"), None);
        let t2 = c.issue(8);
        c.finish(&t2);
        assert_eq!(c.attempt(&t2), None, "a finished challenge is gone");
    }
}
