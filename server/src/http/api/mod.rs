//! The REST API under `/api/v1` (JSON; errors are `{"error": "..."}`).

mod account;
mod apps;
mod builds;
mod credentials;
mod deployments;
mod env;
mod logs;
mod tokens;

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/token", post(tokens::create_with_password))
        .route("/account/password", post(account::change_password))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/apps", get(apps::list).post(apps::create))
        .route("/apps/{slug}", get(apps::show).patch(apps::update).delete(apps::delete))
        .route("/apps/{slug}/env", get(env::show).put(env::replace).patch(env::merge))
        .route("/apps/{slug}/credentials", get(credentials::show).delete(credentials::delete))
        .route("/apps/{slug}/credentials/token", axum::routing::put(credentials::set_token))
        .route("/apps/{slug}/credentials/deploy-key", post(credentials::deploy_key))
        .route("/apps/{slug}/deployments", get(deployments::list).post(deployments::create))
        .route("/apps/{slug}/logs", get(logs::runtime))
        .route("/builds", get(builds::queue))
        .route("/deployments/{id}", get(deployments::show))
        .route("/deployments/{id}/cancel", post(deployments::cancel))
        .route("/deployments/{id}/rollback", post(deployments::rollback))
        .route("/deployments/{id}/logs", get(logs::build))
        .fallback(|| async { super::error::ApiError(domain::Error::NotFound("endpoint")) })
}
