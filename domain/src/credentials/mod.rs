//! Per-app credentials for private repositories: an access token (git asks for it through
//! `GIT_ASKPASS` and gets it from its own environment) or a deploy key (an ed25519 key pair Rhone
//! generates; the public half is shown to the user, the private half is written to a 0600 file only
//! for the length of a fetch and used through `GIT_SSH_COMMAND`). The secret half is sealed at rest like
//! env vars, bound to `app_id:credential:<kind>`, and never returned, logged or put in argv or a URL.

mod git_auth;

pub use git_auth::GitAuth;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::App;
use crate::store::credentials::StoredCredential;
use crate::access::Actor;
use crate::policy::Action;
use crate::teams::AuditAction;
use crate::Services;

/// The user name git sends with a token when none is set (GitHub accepts any; this is its convention).
pub const DEFAULT_USERNAME: &str = "x-access-token";
const MAX_TOKEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Token,
    DeployKey,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Token => "token",
            CredentialKind::DeployKey => "deploy_key",
        }
    }

    fn parse(s: &str) -> Result<CredentialKind> {
        match s {
            "token" => Ok(CredentialKind::Token),
            "deploy_key" => Ok(CredentialKind::DeployKey),
            other => Err(Error::Internal(format!("unknown credential kind {other:?} in the database"))),
        }
    }
}

/// What may be shown about an app's credential: never the token or the private key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialInfo {
    pub kind: Option<CredentialKind>,
    /// The user name sent with a token.
    pub username: Option<String>,
    /// A deploy key's public half, to add to the repository host (read-only access is enough).
    pub public_key: Option<String>,
    pub updated_at: Option<i64>,
}

/// A token as pasted: surrounding whitespace is dropped; inside, no spaces or control characters.
pub fn parse_token(token: &str) -> Result<String> {
    let t = token.trim();
    if t.is_empty() || t.len() > MAX_TOKEN || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid("token", "must be 1 to 4096 characters without spaces or line breaks"));
    }
    Ok(t.to_string())
}

/// The user name for a token: empty means the default; no `:` (HTTP Basic splits on it).
pub fn parse_username(username: Option<&str>) -> Result<String> {
    let u = username.unwrap_or("").trim();
    if u.is_empty() {
        return Ok(DEFAULT_USERNAME.to_string());
    }
    if u.len() > 256 || u.contains(':') || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid("username", "must be at most 256 characters without ':', spaces or line breaks"));
    }
    Ok(u.to_string())
}

fn aad(app_id: i64, kind: CredentialKind) -> String {
    format!("{app_id}:credential:{}", kind.as_str())
}

fn info(c: StoredCredential) -> Result<CredentialInfo> {
    Ok(CredentialInfo {
        kind: Some(CredentialKind::parse(&c.kind)?),
        username: c.username,
        public_key: c.public_key,
        updated_at: Some(c.updated_at),
    })
}

impl Services {
    /// What the app's credential is, without its secret.
    pub async fn credential(&self, actor: &Actor, slug: &str) -> Result<CredentialInfo> {
        let app = self.app_for(actor, slug, Action::ReadEnvKeys).await?;
        self.credential_info(app.id).await
    }

    async fn credential_info(&self, app_id: i64) -> Result<CredentialInfo> {
        match self.store.credential(app_id).await? {
            Some(c) => info(c),
            None => Ok(CredentialInfo::default()),
        }
    }

    /// Sets an access token for fetching over HTTPS (replacing a deploy key the app had).
    pub async fn set_access_token(&self, actor: &Actor, slug: &str, token: &str, username: Option<&str>) -> Result<CredentialInfo> {
        let app = self.app_for(actor, slug, Action::UpdateApp).await?;
        let (token, username) = (parse_token(token)?, parse_username(username)?);
        let (nonce, ciphertext) = self.key.seal(&aad(app.id, CredentialKind::Token), &token)?;
        let kind = CredentialKind::Token.as_str().to_string();
        let sealed = StoredCredential { kind, username: Some(username), public_key: None, nonce, ciphertext, updated_at: 0 };
        self.store.put_credential(app.id, &sealed).await?;
        tracing::info!(app.slug = %app.slug, "access token set");
        self.record(&[app.team_id], actor.audit(AuditAction::CredentialChange, &app.slug, "access token set")).await;
        self.credential_info(app.id).await
    }

    /// Generates a new deploy key (replacing the app's credential); returns its public half.
    pub async fn generate_deploy_key(&self, actor: &Actor, slug: &str) -> Result<CredentialInfo> {
        let app = self.app_for(actor, slug, Action::UpdateApp).await?;
        let (private, public) = git_auth::generate_ed25519(&self.settings.run_dir(), &format!("rhone-{}", app.slug)).await?;
        let (nonce, ciphertext) = self.key.seal(&aad(app.id, CredentialKind::DeployKey), &private)?;
        let kind = CredentialKind::DeployKey.as_str().to_string();
        let sealed = StoredCredential { kind, username: None, public_key: Some(public), nonce, ciphertext, updated_at: 0 };
        self.store.put_credential(app.id, &sealed).await?;
        tracing::info!(app.slug = %app.slug, "deploy key generated");
        self.record(&[app.team_id], actor.audit(AuditAction::CredentialChange, &app.slug, "deploy key generated")).await;
        self.credential_info(app.id).await
    }

    /// Removes the app's credential (nothing to do when it has none).
    pub async fn delete_credential(&self, actor: &Actor, slug: &str) -> Result<()> {
        let app = self.app_for(actor, slug, Action::UpdateApp).await?;
        if self.store.delete_credential(app.id).await? {
            tracing::info!(app.slug = %app.slug, "git credential removed");
            self.record(&[app.team_id], actor.audit(AuditAction::CredentialChange, &app.slug, "removed")).await;
        }
        Ok(())
    }

    /// The decrypted secret of the app's credential, if any.
    async fn credential_plain(&self, app_id: i64) -> Result<Option<(StoredCredential, CredentialKind, String)>> {
        let Some(c) = self.store.credential(app_id).await? else { return Ok(None) };
        let kind = CredentialKind::parse(&c.kind)?;
        let secret = self.key.open(&aad(app_id, kind), &c.nonce, &c.ciphertext)?;
        Ok(Some((c, kind, secret)))
    }

    /// The environment git needs to fetch this app's repository; drop it right after the fetch (a
    /// deploy key's temporary file goes with it).
    pub(crate) async fn git_auth(&self, app: &App) -> Result<GitAuth> {
        let run_dir = self.settings.run_dir();
        match self.credential_plain(app.id).await? {
            // a repository of a GitHub App installation connected to the app's team: a fresh
            // installation token (the app's own credential, when it has one, wins)
            None => match self.installation_token_for(app.team_id, &app.repo_url).await {
                Ok(Some(token)) => GitAuth::token(&run_dir, DEFAULT_USERNAME, &token.0),
                Ok(None) => Ok(GitAuth::none()),
                Err(e) => {
                    let why = match e {
                        Error::Internal(m) => m,
                        other => other.to_string(),
                    };
                    Err(Error::Forbidden(format!("GitHub gave no installation token to clone with: {why}")))
                }
            },
            Some((c, CredentialKind::Token, token)) => {
                GitAuth::token(&run_dir, c.username.as_deref().unwrap_or(DEFAULT_USERNAME), &token)
            }
            Some((_, CredentialKind::DeployKey, key)) => GitAuth::deploy_key(&run_dir, app.id, &key),
        }
    }

    /// Values the deployment log redacts: the app's token, should anything ever echo it.
    pub(crate) async fn credential_redactions(&self, app_id: i64) -> Vec<String> {
        match self.credential_plain(app_id).await {
            Ok(Some((_, CredentialKind::Token, token))) => vec![token],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_token_is_trimmed_and_one_with_inner_spaces_or_newlines_is_refused() {
        assert_eq!(parse_token("  ghp_abc123\n").unwrap(), "ghp_abc123");
        for bad in ["", "   ", "a b", "line1\nline2", "nul\0", &"x".repeat(4097)] {
            assert!(matches!(parse_token(bad), Err(Error::Invalid { field: "token", .. })), "{bad:?}");
        }
    }

    #[test]
    fn a_username_defaults_to_x_access_token_and_may_not_contain_a_colon() {
        assert_eq!(parse_username(None).unwrap(), DEFAULT_USERNAME);
        assert_eq!(parse_username(Some(" ")).unwrap(), DEFAULT_USERNAME);
        assert_eq!(parse_username(Some("oauth2")).unwrap(), "oauth2");
        for bad in ["a:b", "a b", "a\nb"] {
            assert!(parse_username(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credential_kinds_have_distinct_associated_data_from_env_vars() {
        assert_eq!(aad(7, CredentialKind::Token), "7:credential:token");
        assert_eq!(aad(7, CredentialKind::DeployKey), "7:credential:deploy_key");
        // env var keys are [A-Z_][A-Z0-9_]*: `credential:token` can never be one
        assert!(crate::types::EnvKey::parse("credential:token").is_err());
        let k = crate::crypto::SecretKey::generate();
        let (n, c) = k.seal(&aad(7, CredentialKind::Token), "t").unwrap();
        assert!(k.open(&aad(7, CredentialKind::DeployKey), &n, &c).is_err());
        assert!(k.open(&aad(8, CredentialKind::Token), &n, &c).is_err());
    }

    #[test]
    fn info_serializes_kind_in_snake_case_and_null_without_a_credential() {
        let none = serde_json::to_value(CredentialInfo::default()).unwrap();
        assert_eq!(none["kind"], serde_json::Value::Null);
        let info = CredentialInfo { kind: Some(CredentialKind::DeployKey), ..Default::default() };
        assert_eq!(serde_json::to_value(info).unwrap()["kind"], "deploy_key");
    }
}
