//! Sign in with GitHub (the App's OAuth client), and linking GitHub to a signed-in account.
//!
//! The browser is sent to GitHub's authorize page with a one-use `state` (stored server-side, ten
//! minutes) and a PKCE challenge (S256; the verifier never leaves Rhone); the callback exchanges the
//! code with that verifier. An account is matched by GitHub's numeric user id only — never by login
//! or email, which change hands. A GitHub account linked to nobody signs in only when the operator
//! allows sign-ups (`github_signup`): it then gets a new account and personal team; otherwise the
//! user is told to link GitHub from a password session. Two-factor sign-in still asks for its code.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::installations::{CALLBACK_PATH, STATE_TTL_MS};
use crate::access::Actor;
use crate::auth::two_factor::LoginStep;
use crate::error::{Error, Result};
use crate::store::github_installations::{Identity, OAuthState};
use crate::Services;

pub const PROVIDER: &str = "github";

/// The PKCE challenge of a verifier (RFC 7636, S256).
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the GitHub callback did.
pub enum GitHubReturn {
    /// A sign-in: a session (or the two-factor step), then `next`.
    SignedIn { step: LoginStep, next: String },
    /// GitHub was linked to the signed-in account.
    Linked { login: String },
    /// An App installation was connected to a team.
    Installed { team: String },
}


impl Services {
    fn github_client_ready(&self) -> Result<(&super::api::GitHubAppSettings, std::sync::Arc<dyn super::api::GitHubApi>)> {
        match (self.settings.github_app.as_ref(), self.github.clone()) {
            (Some(app), Some(api)) if app.client_id.is_some() => Ok((app, api)),
            _ => Err(Error::Conflict("GitHub sign-in is not configured on this installation (github_client_id, github_client_secret)".into())),
        }
    }

    /// Whether the login page offers "Sign in with GitHub".
    pub fn github_sign_in_enabled(&self) -> bool {
        self.github_client_ready().is_ok()
    }

    /// GitHub's authorize page for signing in (`link`: `None`) or for linking GitHub to `link`'s
    /// account; the browser comes back to the callback with `code` and `state`.
    pub async fn github_authorize_url(&self, link: Option<&Actor>, next: &str) -> Result<String> {
        let (app, _) = self.github_client_ready()?;
        if let Some(a) = link {
            if a.token.is_some() {
                return Err(Error::Forbidden("linking GitHub needs a browser session, not an API token".into()));
            }
        }
        let state = crate::auth::random_token();
        let verifier = format!("{}{}", crate::auth::random_token(), crate::auth::random_token());
        let row = OAuthState {
            purpose: if link.is_some() { "link" } else { "login" }.into(),
            user_id: link.map(|a| a.user.id),
            team_id: None,
            verifier: Some(verifier.clone()),
            next: Some(crate::auth::local_path(next).to_string()),
            nonce: None,
            created_at: crate::store::now_ms(),
        };
        self.store.put_oauth_state(&state, &row).await?;
        let redirect = format!("{}{CALLBACK_PATH}", self.links().dashboard);
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", app.client_id.as_deref().unwrap_or_default())
            .append_pair("redirect_uri", &redirect)
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce_challenge(&verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "false")
            .finish();
        Ok(format!("{}/login/oauth/authorize?{query}", app.web_url))
    }

    /// GitHub sent the browser back (`actor`: the session it carries, if any).
    pub async fn github_return(&self, actor: Option<&Actor>, state: &str, code: &str, installation_id: Option<i64>, client: std::net::IpAddr) -> Result<GitHubReturn> {
        let expired = || Error::Forbidden("this GitHub link has expired or was used already: start again from Rhone".into());
        if state.is_empty() || code.is_empty() {
            return Err(Error::invalid("callback", "GitHub's answer names no code or state"));
        }
        let st = self.store.take_oauth_state(state, STATE_TTL_MS).await?.ok_or_else(expired)?;
        match st.purpose.as_str() {
            "install" => {
                let actor = actor.ok_or(Error::Unauthorized)?;
                let id = installation_id.ok_or_else(|| Error::invalid("callback", "GitHub's answer names no installation"))?;
                let (team, _) = self.finish_install(actor, st, code, id).await?;
                Ok(GitHubReturn::Installed { team })
            }
            "link" => {
                let actor = actor.filter(|a| Some(a.user.id) == st.user_id).ok_or_else(|| Error::Forbidden("this GitHub link was started by another user".into()))?;
                let gh = self.github_user(code, &st).await?;
                let identity = Identity { provider: PROVIDER.into(), subject: gh.id.to_string(), user_id: actor.user.id, login: gh.login.clone() };
                if !self.store.link_identity(&identity).await? {
                    return Err(Error::Conflict(format!("the GitHub account {} is linked to a Rhone account already (or yours has another GitHub account linked)", gh.login)));
                }
                self.record_for_user(actor.user.id, actor.audit(crate::teams::AuditAction::GitHubLink, &gh.login, "")).await;
                Ok(GitHubReturn::Linked { login: gh.login })
            }
            "login" => {
                let gh = self.github_user(code, &st).await?;
                let next = st.next.clone().unwrap_or_else(|| "/".into());
                let user = match self.store.identity(PROVIDER, &gh.id.to_string()).await? {
                    Some(i) => {
                        self.store.rename_identity(PROVIDER, &i.subject, &gh.login).await?;
                        self.store.user_by_id(i.user_id).await?.ok_or(Error::Unauthorized)?
                    }
                    None if self.settings.github_signup => self.sign_up_from_github(&gh).await?,
                    None => {
                        return Err(Error::Forbidden(format!(
                            "no Rhone account is linked to the GitHub account {}: sign in with your password and link GitHub on your account page, or ask for an invitation",
                            gh.login
                        )))
                    }
                };
                if user.disabled {
                    return Err(Error::Forbidden("this account is disabled: ask the administrator of this Rhone".into()));
                }
                let step = self.begin_external_login(user, client, "github").await?;
                Ok(GitHubReturn::SignedIn { step, next })
            }
            _ => Err(expired()),
        }
    }

    async fn github_user(&self, code: &str, st: &OAuthState) -> Result<super::api::GitHubUser> {
        let (_, api) = self.github_client_ready()?;
        let redirect = format!("{}{CALLBACK_PATH}", self.links().dashboard);
        let token = api.exchange_code(code, st.verifier.as_deref(), &redirect).await?;
        let user = api.user(&token).await?;
        if user.id <= 0 || user.login.is_empty() || user.login.len() > 100 {
            return Err(Error::internal("github user", "GitHub described no user"));
        }
        Ok(user)
    }

    /// A new account (and personal team) for a GitHub user, when sign-ups are allowed. Its email is
    /// GitHub's public one if no account uses it, else GitHub's no-reply address; it has no password.
    async fn sign_up_from_github(&self, gh: &super::api::GitHubUser) -> Result<crate::model::User> {
        let noreply = format!("{}+{}@users.noreply.github.com", gh.id, gh.login.to_ascii_lowercase());
        let identity = Identity { provider: PROVIDER.into(), subject: gh.id.to_string(), user_id: 0, login: gh.login.clone() };
        self.sign_up_external(identity, gh.email.as_deref(), &noreply).await
    }

    /// The GitHub account linked to the caller, if any.
    pub async fn linked_github(&self, actor: &Actor) -> Result<Option<String>> {
        Ok(self.store.identity_of_user(actor.user.id, PROVIDER).await?.map(|i| i.login))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        assert_eq!(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn only_dashboard_paths_are_returned_to() {
        use crate::auth::local_path;
        assert_eq!(local_path("/apps/x"), "/apps/x");
        for bad in ["//evil.example", "/\\evil", "https://evil.example", "", "/a\nb"] {
            assert_eq!(local_path(bad), "/", "{bad:?}");
        }
    }
}
