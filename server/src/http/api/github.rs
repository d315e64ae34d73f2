//! The GitHub App from the dashboard: the install link of a team, the callback GitHub sends the
//! browser back to, and the repositories and branches the new-app form offers.

use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use domain::github::login::GitHubReturn;
use domain::net::ClientIp;
use domain::github::installations::TeamRepo;
use serde::Deserialize;

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::AppState;

pub(super) fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

/// `GET /teams/{team}/github/install`: to GitHub's page that installs the App (team admins).
pub async fn install(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Response> {
    Ok(see_other(&s.services.github_install_url(&a, &team).await?))
}

/// `GET /teams/{team}/github/repositories`: what the team may deploy through the App.
pub async fn repositories(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>) -> ApiResult<Json<Vec<TeamRepo>>> {
    Ok(Json(s.services.github_repositories(&a, &team).await?))
}

#[derive(Deserialize)]
pub struct BranchQuery {
    repo: String,
}

/// `GET /teams/{team}/github/branches?repo=owner/name`.
pub async fn branches(State(s): State<AppState>, Caller(a): Caller, Path(team): Path<String>, Query(q): Query<BranchQuery>) -> ApiResult<Json<Vec<String>>> {
    Ok(Json(s.services.github_branches(&a, &team, &q.repo).await?))
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    installation_id: Option<String>,
}

pub(super) fn encoded(msg: &str) -> String {
    url::form_urlencoded::byte_serialize(msg.as_bytes()).collect()
}

pub(super) fn public(e: domain::Error) -> String {
    match e {
        domain::Error::Internal(detail) => {
            tracing::error!(error = %detail, "a GitHub sign-in or connection failed");
            "Rhone could not finish with GitHub (see the server log)".to_string()
        }
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
pub struct Next {
    #[serde(default)]
    pub(super) next: String,
}

/// `GET /auth/github?next=`: to GitHub's authorize page (sign in with GitHub).
pub async fn sign_in(State(s): State<AppState>, Query(q): Query<Next>) -> Response {
    match s.services.github_authorize_url(None, &q.next).await {
        Ok(to) => see_other(&to),
        Err(e) => crate::http::session::login_error(&domain::Error::Forbidden(public(e))),
    }
}

/// `GET /account/github/link`: to GitHub's authorize page, to link GitHub to this account.
pub async fn link(State(s): State<AppState>, Caller(a): Caller) -> Response {
    match s.services.github_authorize_url(Some(&a), "/account").await {
        Ok(to) => see_other(&to),
        Err(e) => see_other(&format!("/account?github_error={}", encoded(&public(e)))),
    }
}

/// `GET /github/callback`: GitHub sends the browser back here — after signing in (a session, then
/// the page asked for), after linking (the account page), or after installing the App (with
/// `installation_id`; the team's new-app page, which offers the repositories). A refusal lands on
/// the same page, saying why.
pub async fn callback(State(s): State<AppState>, caller: Option<Caller>, Extension(client): Extension<ClientIp>, Query(q): Query<Callback>) -> Response {
    let actor = caller.map(|Caller(a)| a);
    let installation = q.installation_id.as_deref().and_then(|i| i.trim().parse::<i64>().ok()).filter(|i| *i > 0);
    match s.services.github_return(actor.as_ref(), &q.state, &q.code, installation, client.0).await {
        Ok(GitHubReturn::SignedIn { step, next }) => crate::http::session::signed_in(&s, step, &next),
        Ok(GitHubReturn::Linked { .. }) => see_other("/account?github=linked"),
        Ok(GitHubReturn::Installed { team }) => see_other(&format!("/t/{team}/apps/new?github=connected")),
        Err(e) => {
            let msg = public(e);
            match (installation, &actor) {
                (Some(_), Some(_)) => see_other(&format!("/apps/new?github_error={}", encoded(&msg))),
                (None, Some(_)) => see_other(&format!("/account?github_error={}", encoded(&msg))),
                (_, None) => crate::http::session::login_error(&domain::Error::Forbidden(msg)),
            }
        }
    }
}
