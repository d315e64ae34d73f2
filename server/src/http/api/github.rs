//! The GitHub App from the dashboard: the install link of a team, the callback GitHub sends the
//! browser back to, and the repositories and branches the new-app form offers.

use axum::extract::{Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::github::installations::TeamRepo;
use serde::Deserialize;

use crate::http::auth::Caller;
use crate::http::error::ApiResult;
use crate::http::AppState;

fn see_other(to: &str) -> Response {
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

/// `GET /github/callback`: GitHub sends the browser back here after the App was installed (with
/// `installation_id`, `code` and the install link's `state`). The signed-in user lands on the
/// team's new-app page, which offers the repositories; a refusal lands there too, saying why.
pub async fn callback(State(s): State<AppState>, caller: Option<Caller>, Query(q): Query<Callback>) -> Response {
    let Some(Caller(a)) = caller else { return see_other("/login") };
    let installation = q.installation_id.as_deref().and_then(|i| i.trim().parse::<i64>().ok()).filter(|i| *i > 0);
    let result = match installation {
        Some(id) if !q.code.is_empty() && !q.state.is_empty() => s.services.github_install_callback(&a, &q.state, &q.code, id).await,
        _ => Err(domain::Error::invalid("callback", "GitHub's answer names no installation, code or state")),
    };
    match result {
        Ok((team, _)) => see_other(&format!("/t/{team}/apps/new?github=connected")),
        Err(e) => {
            let msg = match e {
                domain::Error::Internal(detail) => {
                    tracing::error!(error = %detail, "connecting a GitHub installation failed");
                    "Rhone could not connect GitHub (see the server log)".to_string()
                }
                other => other.to_string(),
            };
            let q: String = url::form_urlencoded::byte_serialize(msg.as_bytes()).collect();
            see_other(&format!("/apps/new?github_error={q}"))
        }
    }
}
