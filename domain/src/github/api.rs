//! The GitHub API as Rhone uses it, behind [`GitHubApi`]: installation access tokens (minted with
//! the App's JWT, cached until five minutes before they expire) and commit statuses. One real
//! implementation, over octocrab; its base URL is configurable (GitHub Enterprise Server, and the
//! tests' local stand-in).
//!
//! Tokens are secrets: they are held as [`secrecy::SecretString`]-backed values, never formatted into
//! an error, a log line or a stored URL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use octocrab::models::InstallationId;
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::installations::{InstallationPayload, RepoRef};
use crate::error::{Error, Result};

/// The GitHub App Rhone acts as (`github_app_id`, `github_app_private_key_file`).
#[derive(Clone)]
pub struct GitHubAppSettings {
    pub app_id: u64,
    /// The App's private key (PEM). Never printed.
    pub private_key_pem: String,
    /// REST API root (`https://api.github.com`; `https://ghe.example.com/api/v3` on Enterprise).
    pub api_url: String,
    /// Web root (`https://github.com`): installation pages, OAuth.
    pub web_url: String,
    /// The App's OAuth client (`github_client_id`, `github_client_secret`): needed to connect an
    /// installation to a team (GitHub confirms the installing user) and to sign in with GitHub.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for GitHubAppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubAppSettings")
            .field("app_id", &self.app_id)
            .field("private_key_pem", &"…")
            .field("api_url", &self.api_url)
            .field("web_url", &self.web_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .finish()
    }
}

impl GitHubAppSettings {
    /// Refuses a key that is not an RSA private key in PEM, naming the setting (not the key).
    pub fn check(&self) -> std::result::Result<(), String> {
        jsonwebtoken::EncodingKey::from_rsa_pem(self.private_key_pem.as_bytes())
            .map(|_| ())
            .map_err(|_| "github_app_private_key_file is not an RSA private key in PEM form".to_string())
    }
}

/// A commit status's state (GitHub's four).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusState {
    Pending,
    Success,
    Failure,
    Error,
}

impl StatusState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Error => "error",
        }
    }
}

/// One commit status, as posted to `POST /repos/{owner}/{repo}/statuses/{sha}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitStatus {
    pub state: StatusState,
    pub target_url: Option<String>,
    /// At most 140 characters (GitHub's limit).
    pub description: String,
    /// `rhone/{slug}`.
    pub context: String,
}

/// An installation access token; `Debug` hides it.
#[derive(Clone)]
pub struct InstallationToken(pub String);

impl std::fmt::Debug for InstallationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstallationToken(…)")
    }
}

/// What Rhone asks of GitHub.
pub trait GitHubApi: Send + Sync + 'static {
    /// A token of installation `installation` valid for at least five more minutes.
    fn installation_token(&self, installation: i64) -> BoxFuture<'_, Result<InstallationToken>>;

    /// Posts `status` on commit `sha` of repository `full_name` (`owner/name`).
    fn create_status<'a>(&'a self, installation: i64, full_name: &'a str, sha: &'a str, status: &'a CommitStatus) -> BoxFuture<'a, Result<()>>;

    /// The App's slug (its public page is `{web_url}/apps/{slug}`).
    fn app_slug(&self) -> BoxFuture<'_, Result<String>>;

    /// What GitHub says installation `id` is (`GET /app/installations/{id}`).
    fn installation(&self, id: i64) -> BoxFuture<'_, Result<InstallationPayload>>;

    /// The repositories installation `id` covers (`GET /installation/repositories`, every page).
    fn installation_repos(&self, id: i64) -> BoxFuture<'_, Result<Vec<RepoRef>>>;

    /// The branch names of `full_name` (at most 300).
    fn branches<'a>(&'a self, installation: i64, full_name: &'a str) -> BoxFuture<'a, Result<Vec<String>>>;

    /// Exchanges an OAuth `code` for the user's token (`POST {web_url}/login/oauth/access_token`).
    fn exchange_code<'a>(&'a self, code: &'a str, verifier: Option<&'a str>, redirect_uri: &'a str) -> BoxFuture<'a, Result<String>>;

    /// The installation ids of this App the user can access (`GET /user/installations`).
    fn user_installations<'a>(&'a self, user_token: &'a str) -> BoxFuture<'a, Result<Vec<i64>>>;

    /// Who the user token belongs to (`GET /user`).
    fn user<'a>(&'a self, user_token: &'a str) -> BoxFuture<'a, Result<GitHubUser>>;
}

/// A GitHub account, as `GET /user` describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct GitHubUser {
    /// GitHub's numeric id: what Rhone matches on (logins and emails change hands).
    pub id: i64,
    pub login: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// The real client: one App client (JWT) and one client per installation, each caching its token.
pub struct OctocrabGitHub {
    app: Octocrab,
    installations: Mutex<HashMap<i64, Arc<Octocrab>>>,
    settings: GitHubAppSettings,
    slug: tokio::sync::OnceCell<String>,
}

/// How long a cached token must still be valid to be used.
const TOKEN_MARGIN_SECS: i64 = 300;

impl OctocrabGitHub {
    pub fn new(settings: &GitHubAppSettings) -> Result<OctocrabGitHub> {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(settings.private_key_pem.as_bytes())
            .map_err(|_| Error::internal("github app", "the private key is not an RSA key in PEM form"))?;
        let app = Octocrab::builder()
            .base_uri(settings.api_url.as_str())
            .map_err(|e| Error::internal("github api url", e))?
            .app(settings.app_id.into(), key)
            // Rhone's jobs retry with their own backoff (and show it); no hidden retries below them
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| Error::internal("github client", e))?;
        Ok(OctocrabGitHub { app, installations: Mutex::new(HashMap::new()), settings: settings.clone(), slug: tokio::sync::OnceCell::new() })
    }

    /// A client without App credentials, on `base` (the web root for OAuth; the API root for a
    /// user's token).
    fn plain(&self, base: &str, user_token: Option<&str>) -> Result<Octocrab> {
        let mut b = Octocrab::builder()
            .base_uri(base)
            .map_err(|e| Error::internal("github url", e))?
            .add_retry_config(RetryConfig::None)
            .add_header(http::header::ACCEPT, "application/json".into())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)));
        if let Some(t) = user_token {
            b = b.user_access_token(t.to_string());
        }
        b.build().map_err(|e| Error::internal("github client", e))
    }

    async fn slug_of_app(&self) -> Result<String> {
        let slug = self
            .slug
            .get_or_try_init(|| async {
                let app: serde_json::Value = self.app.get("/app", None::<&()>).await.map_err(explain)?;
                app["slug"].as_str().filter(|s| full_name_part(s)).map(str::to_string).ok_or_else(|| Error::internal("github app", "GitHub named no slug for the App"))
            })
            .await?;
        Ok(slug.clone())
    }

    async fn get_installation(&self, id: i64) -> Result<InstallationPayload> {
        self.app.get(format!("/app/installations/{id}"), None::<&()>).await.map_err(explain)
    }

    async fn repos_of(&self, id: i64) -> Result<Vec<RepoRef>> {
        #[derive(serde::Deserialize)]
        struct Page {
            repositories: Vec<RepoRef>,
        }
        let client = self.client_for(id)?;
        all_pages(10, |page| {
            let client = client.clone();
            async move {
                let p: Page = client.get(format!("/installation/repositories?per_page={PER_PAGE}&page={page}"), None::<&()>).await.map_err(explain)?;
                Ok(p.repositories)
            }
        })
        .await
    }

    async fn branches_of(&self, installation: i64, full_name: &str) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct Branch {
            name: String,
        }
        let (owner, name) = full_name.split_once('/').filter(|(o, n)| full_name_part(o) && full_name_part(n)).ok_or_else(|| Error::invalid("repository", "is not owner/name"))?;
        let client = self.client_for(installation)?;
        all_pages(3, |page| {
            let client = client.clone();
            let route = format!("/repos/{owner}/{name}/branches?per_page={PER_PAGE}&page={page}");
            async move {
                let b: Vec<Branch> = client.get(route, None::<&()>).await.map_err(explain)?;
                Ok(b.into_iter().map(|b| b.name).collect())
            }
        })
        .await
    }

    async fn exchange(&self, code: &str, verifier: Option<&str>, redirect_uri: &str) -> Result<String> {
        let (Some(id), Some(secret)) = (&self.settings.client_id, &self.settings.client_secret) else {
            return Err(Error::Conflict("GitHub sign-in is not configured (github_client_id, github_client_secret)".into()));
        };
        let mut form = serde_json::json!({"client_id": id, "client_secret": secret, "code": code, "redirect_uri": redirect_uri});
        if let Some(v) = verifier {
            form["code_verifier"] = v.into();
        }
        let web = self.plain(&self.settings.web_url, None)?;
        let answer: serde_json::Value = web.post("/login/oauth/access_token", Some(&form)).await.map_err(explain)?;
        match answer["access_token"].as_str() {
            Some(t) if !t.is_empty() => Ok(t.to_string()),
            _ => {
                let why: String = answer["error_description"].as_str().or(answer["error"].as_str()).unwrap_or("no token").chars().filter(|c| !c.is_control()).take(200).collect();
                Err(Error::Forbidden(format!("GitHub refused the sign-in code: {why}")))
            }
        }
    }

    async fn installations_of_user(&self, user_token: &str) -> Result<Vec<i64>> {
        #[derive(serde::Deserialize)]
        struct Page {
            installations: Vec<Id>,
        }
        #[derive(serde::Deserialize)]
        struct Id {
            id: i64,
        }
        let client = self.plain(&self.settings.api_url, Some(user_token))?;
        all_pages(5, |page| {
            let client = &client;
            async move {
                let p: Page = client.get(format!("/user/installations?per_page={PER_PAGE}&page={page}"), None::<&()>).await.map_err(explain)?;
                Ok(p.installations.into_iter().map(|i| i.id).collect())
            }
        })
        .await
    }

    fn client_for(&self, id: i64) -> Result<Arc<Octocrab>> {
        let mut map = self.installations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = map.get(&id) {
            return Ok(c.clone());
        }
        let id_u = u64::try_from(id).map_err(|_| Error::invalid("installation", "is not an installation id"))?;
        let client = Arc::new(self.app.installation(InstallationId(id_u)).map_err(|e| Error::internal("github installation", e))?);
        map.insert(id, client.clone());
        Ok(client)
    }

    async fn token(&self, installation: i64) -> Result<InstallationToken> {
        let client = self.client_for(installation)?;
        let token = client.installation_token_with_buffer(chrono::Duration::seconds(TOKEN_MARGIN_SECS)).await.map_err(explain)?;
        Ok(InstallationToken(token.expose_secret().to_string()))
    }

    async fn status(&self, installation: i64, full_name: &str, sha: &str, status: &CommitStatus) -> Result<()> {
        let (owner, name) = full_name.split_once('/').ok_or_else(|| Error::invalid("repository", "is not owner/name"))?;
        if !full_name_part(owner) || !full_name_part(name) || sha.len() != 40 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid("repository", "is not a repository and commit GitHub knows"));
        }
        let client = self.client_for(installation)?;
        // the token first, so an App/installation problem is named as such
        client.installation_token_with_buffer(chrono::Duration::seconds(TOKEN_MARGIN_SECS)).await.map_err(explain)?;
        let route = format!("/repos/{owner}/{name}/statuses/{sha}");
        let _: serde_json::Value = client.post(route, Some(status)).await.map_err(explain)?;
        Ok(())
    }
}

impl GitHubApi for OctocrabGitHub {
    fn installation_token(&self, installation: i64) -> BoxFuture<'_, Result<InstallationToken>> {
        Box::pin(self.token(installation))
    }

    fn create_status<'a>(&'a self, installation: i64, full_name: &'a str, sha: &'a str, status: &'a CommitStatus) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.status(installation, full_name, sha, status))
    }

    fn app_slug(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.slug_of_app())
    }

    fn installation(&self, id: i64) -> BoxFuture<'_, Result<InstallationPayload>> {
        Box::pin(self.get_installation(id))
    }

    fn installation_repos(&self, id: i64) -> BoxFuture<'_, Result<Vec<RepoRef>>> {
        Box::pin(self.repos_of(id))
    }

    fn branches<'a>(&'a self, installation: i64, full_name: &'a str) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(self.branches_of(installation, full_name))
    }

    fn exchange_code<'a>(&'a self, code: &'a str, verifier: Option<&'a str>, redirect_uri: &'a str) -> BoxFuture<'a, Result<String>> {
        Box::pin(self.exchange(code, verifier, redirect_uri))
    }

    fn user_installations<'a>(&'a self, user_token: &'a str) -> BoxFuture<'a, Result<Vec<i64>>> {
        Box::pin(self.installations_of_user(user_token))
    }

    fn user<'a>(&'a self, user_token: &'a str) -> BoxFuture<'a, Result<GitHubUser>> {
        Box::pin(async move {
            let client = self.plain(&self.settings.api_url, Some(user_token))?;
            client.get("/user", None::<&()>).await.map_err(explain)
        })
    }
}

/// Items GitHub is asked for per page.
const PER_PAGE: usize = 100;

/// The items of pages 1, 2, … of a list (at most `max_pages`), until one comes back short.
async fn all_pages<T, F, Fut>(max_pages: u32, mut page: F) -> Result<Vec<T>>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    let mut all = Vec::new();
    for n in 1..=max_pages {
        let items = page(n).await?;
        let full = items.len() >= PER_PAGE;
        all.extend(items);
        if !full {
            break;
        }
    }
    Ok(all)
}

/// One half of `owner/name` as GitHub spells them.
pub(super) fn full_name_part(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// An octocrab error as one line a user may read: GitHub's own answer, or why it was not reached.
/// Never the request (which may carry a token) and never a backtrace.
fn explain(e: octocrab::Error) -> Error {
    let msg = match &e {
        octocrab::Error::GitHub { source, .. } => {
            let mut m: String = source.message.chars().filter(|c| !c.is_control()).take(200).collect();
            if m.is_empty() {
                m = "no message".into();
            }
            format!("GitHub answered {}: {m}", source.status_code.as_u16())
        }
        octocrab::Error::Hyper { .. } | octocrab::Error::Service { .. } => "GitHub could not be reached (connection failed or timed out)".to_string(),
        octocrab::Error::Serde { .. } | octocrab::Error::Json { .. } => "GitHub's answer was not what its API documents".to_string(),
        octocrab::Error::JWT { .. } => "the GitHub App's token could not be signed (check the private key)".to_string(),
        _ => "the GitHub request failed".to_string(),
    };
    Error::Internal(msg)
}
