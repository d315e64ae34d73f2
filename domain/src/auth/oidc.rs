//! Sign in through the installation's own OpenID Connect provider (Keycloak, Authentik, Dex,
//! Google, Entra ID…): authorization code flow with discovery, PKCE (S256) and a `nonce`.
//!
//! The browser is sent to the provider's authorize page with a one-use `state` (server-side, ten
//! minutes), a PKCE challenge and a nonce; the callback exchanges the code (client secret + PKCE
//! verifier) for an ID token, whose signature is checked against the provider's published keys
//! (asymmetric algorithms only, never `none` or a shared-secret one), and whose `iss`, `aud`,
//! `azp`, `exp` and `nonce` must be the expected ones. An account is matched by (issuer, `sub`) only —
//! never by email, which the provider may let anybody set. Sign-ups need `oidc_signup`.

use crate::access::Actor;
use crate::auth::two_factor::LoginStep;
use crate::error::{Error, Result};
use crate::store::github_installations::{Identity, OAuthState};
use crate::Services;

mod provider;

pub use provider::{Oidc, OidcUser, KEY_REFETCH};

/// Where the provider sends the browser back (under the dashboard's origin).
pub const CALLBACK_PATH: &str = "/api/v1/oidc/callback";
const STATE_TTL_MS: i64 = 10 * 60 * 1000;

/// The operator's provider (`oidc_issuer`, `oidc_client_id`, `oidc_client_secret`, `oidc_name`,
/// `oidc_signup`).
#[derive(Clone)]
pub struct OidcSettings {
    /// The issuer identifier, exactly as the provider's discovery document states it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: secrecy::SecretString,
    /// What the login button says: "Sign in with {name}".
    pub name: String,
    /// A provider account linked to nobody may sign in, getting a new account.
    pub signup: bool,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings").field("issuer", &self.issuer).field("client_id", &self.client_id).field("name", &self.name).finish_non_exhaustive()
    }
}

impl OidcSettings {
    /// Checks the issuer is an http(s) URL without credentials, query or fragment.
    pub fn check(&self) -> std::result::Result<(), String> {
        match url::Url::parse(&self.issuer) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && u.username().is_empty() && u.password().is_none() && u.query().is_none() && u.fragment().is_none() => {}
            _ => return Err(format!("oidc_issuer must be an http(s) URL without credentials, query or fragment, got {:?}", self.issuer)),
        }
        if self.client_id.trim().is_empty() || self.name.trim().is_empty() || self.name.len() > 60 {
            return Err("oidc_client_id must be set and oidc_name at most 60 characters".into());
        }
        Ok(())
    }

    /// The provider name identities are recorded under: one per issuer.
    pub fn provider(&self) -> String {
        format!("oidc:{}", self.issuer)
    }
}


/// What the OpenID Connect callback did.
pub enum OidcReturn {
    SignedIn { step: LoginStep, next: String },
    Linked { login: String },
}

impl Services {
    fn oidc_ready(&self) -> Result<&Oidc> {
        self.oidc.as_deref().ok_or_else(|| Error::Conflict("single sign-on is not configured on this installation (oidc_issuer, oidc_client_id, oidc_client_secret)".into()))
    }

    /// The login button's provider name, when single sign-on is configured.
    pub fn oidc_sign_in_name(&self) -> Option<String> {
        self.oidc.as_ref().map(|o| o.settings.name.clone())
    }

    /// The provider's authorize page for signing in (`link`: `None`) or for linking the provider
    /// account to `link`'s account.
    pub async fn oidc_authorize_url(&self, link: Option<&Actor>, next: &str) -> Result<String> {
        let oidc = self.oidc_ready()?;
        if link.is_some_and(|a| a.token.is_some()) {
            return Err(Error::Forbidden("linking an account needs a browser session, not an API token".into()));
        }
        let d = oidc.discovery().await?;
        let state = crate::auth::random_token();
        let verifier = format!("{}{}", crate::auth::random_token(), crate::auth::random_token());
        let nonce = crate::auth::random_token();
        let row = OAuthState {
            purpose: if link.is_some() { "oidc-link" } else { "oidc-login" }.into(),
            user_id: link.map(|a| a.user.id),
            team_id: None,
            verifier: Some(verifier.clone()),
            next: Some(crate::auth::local_path(next).to_string()),
            nonce: Some(nonce.clone()),
            created_at: crate::store::now_ms(),
        };
        self.store.put_oauth_state(&state, &row).await?;
        let mut to = url::Url::parse(&d.authorization_endpoint).map_err(|e| Error::internal("authorization endpoint", e))?;
        to.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &oidc.settings.client_id)
            .append_pair("redirect_uri", &format!("{}{CALLBACK_PATH}", self.links().dashboard))
            .append_pair("scope", "openid email profile")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &crate::github::login::pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(to.into())
    }

    /// The provider sent the browser back with `code` (or `error`) and `state`.
    pub async fn oidc_return(&self, actor: Option<&Actor>, state: &str, code: &str, error: &str, client: std::net::IpAddr) -> Result<OidcReturn> {
        let oidc = self.oidc_ready()?;
        let expired = || Error::Forbidden("this sign-in has expired or was used already: start again from Rhone".into());
        if state.is_empty() {
            return Err(Error::invalid("callback", "the identity provider's answer names no state"));
        }
        let st = self.store.take_oauth_state(state, STATE_TTL_MS).await?.ok_or_else(expired)?;
        if !error.is_empty() {
            let code: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
            return Err(Error::Forbidden(format!("the identity provider did not sign you in ({code})")));
        }
        if code.is_empty() {
            return Err(Error::invalid("callback", "the identity provider's answer names no code"));
        }
        let (Some(verifier), Some(nonce)) = (st.verifier.as_deref(), st.nonce.as_deref()) else { return Err(expired()) };
        let redirect = format!("{}{CALLBACK_PATH}", self.links().dashboard);
        let provider = oidc.settings.provider();
        match st.purpose.as_str() {
            "oidc-link" => {
                let actor = actor.filter(|a| Some(a.user.id) == st.user_id).ok_or_else(|| Error::Forbidden("this link was started by another user".into()))?;
                let who = oidc.redeem(code, verifier, nonce, &redirect).await?;
                let identity = Identity { provider, subject: who.subject, user_id: actor.user.id, login: who.login.clone() };
                if !self.store.link_identity(&identity).await? {
                    return Err(Error::Conflict(format!("the {} account {} is linked to a Rhone account already (or yours has another one linked)", oidc.settings.name, who.login)));
                }
                self.record_for_user(actor.user.id, actor.audit(crate::teams::AuditAction::IdentityLink, &format!("{}: {}", oidc.settings.name, who.login), "")).await;
                Ok(OidcReturn::Linked { login: who.login })
            }
            "oidc-login" => {
                let who = oidc.redeem(code, verifier, nonce, &redirect).await?;
                let user = match self.store.identity(&provider, &who.subject).await? {
                    Some(i) => {
                        self.store.rename_identity(&provider, &i.subject, &who.login).await?;
                        self.store.user_by_id(i.user_id).await?.ok_or(Error::Unauthorized)?
                    }
                    None if oidc.settings.signup => {
                        let fallback = format!("{}@users.noreply.rhone.invalid", &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(format!("{provider}\n{}", who.subject).as_bytes()))[..24]);
                        let identity = Identity { provider, subject: who.subject.clone(), user_id: 0, login: who.login.clone() };
                        self.sign_up_external(identity, who.verified_email.as_deref(), &fallback).await?
                    }
                    None => {
                        return Err(Error::Forbidden(format!(
                            "no Rhone account is linked to the {} account {}: sign in with your password and link it on your account page, or ask for an invitation",
                            oidc.settings.name, who.login
                        )))
                    }
                };
                if user.disabled {
                    return Err(Error::Forbidden("this account is disabled: ask the administrator of this Rhone".into()));
                }
                let step = self.begin_external_login(user, client, "oidc").await?;
                Ok(OidcReturn::SignedIn { step, next: st.next.unwrap_or_else(|| "/".into()) })
            }
            _ => Err(expired()),
        }
    }

    /// The provider account linked to the caller, if any.
    pub async fn linked_oidc(&self, actor: &Actor) -> Result<Option<String>> {
        let Some(oidc) = self.oidc.as_ref() else { return Ok(None) };
        Ok(self.store.identity_of_user(actor.user.id, &oidc.settings.provider()).await?.map(|i| i.login))
    }

    /// A new account (and personal team) for an identity of another provider, when sign-ups are
    /// allowed: its email is `email` (one the provider verified) if no account uses it, else
    /// `fallback`; it has no password.
    pub(crate) async fn sign_up_external(&self, mut identity: Identity, email: Option<&str>, fallback: &str) -> Result<crate::model::User> {
        let email = match email.and_then(|e| crate::types::Email::parse(e).ok()) {
            Some(e) if self.store.user_by_email(e.as_str()).await?.is_none() => e.as_str().to_string(),
            _ => fallback.to_string(),
        };
        let user = self.store.insert_user(&email, "!", "member").await?;
        identity.user_id = user.id;
        if !self.store.link_identity(&identity).await? {
            return Err(Error::Conflict("this account was linked meanwhile: sign in again".into()));
        }
        tracing::info!(user.id = user.id, provider = %identity.provider, login = %identity.login, "account created by an external sign-in");
        Ok(user)
    }
}
