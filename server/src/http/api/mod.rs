//! The REST API under `/api/v1` (JSON; errors are `{"error": "..."}`).
//!
//! The routes are declared once, in [`routes!`] below, which builds both the router and [`ROUTES`]:
//! the authorization matrix test (`server/tests/api/authz.rs`) walks `ROUTES` and fails for a route
//! it has no expectation for, so a new endpoint cannot skip the matrix.

mod account;
mod admin;
mod apps;
mod billing;
mod builds;
mod credentials;
mod deployments;
mod domains;
mod env;
mod github;
mod invitations;
mod logs;
mod oidc;
mod teams;
mod tokens;
mod webhooks;

use axum::routing::MethodRouter;
use axum::Router;

use super::AppState;

macro_rules! routes {
    ($($path:literal => $($method:ident $handler:path),+ ;)*) => {
        /// Every `(method, path)` the router answers, as declared.
        pub const ROUTES: &[(&str, &str)] = &[$($((stringify!($method), $path)),+),*];

        pub fn router() -> Router<AppState> {
            Router::new()
                $(.route($path, MethodRouter::new()$(.$method($handler))+))*
                .fallback(|| async { super::error::ApiError(domain::Error::NotFound("endpoint")) })
        }
    };
}

routes! {
    "/auth/token" => post tokens::create_with_password;
    "/account/password" => post account::change_password;
    "/admin/users" => get admin::users;
    "/admin/users/{id}/disable" => post admin::disable;
    "/admin/users/{id}/enable" => post admin::enable;
    "/admin/users/{id}/sessions" => delete admin::reset_sessions;
    "/tokens" => get tokens::list, post tokens::create;
    "/tokens/{id}" => delete tokens::revoke;
    "/teams" => get teams::list, post teams::create;
    "/teams/{team}" => get teams::show, patch teams::update, delete teams::delete;
    "/teams/{team}/members" => get teams::members;
    "/teams/{team}/billing" => get billing::show;
    "/teams/{team}/billing/checkout" => post billing::checkout;
    "/teams/{team}/billing/portal" => post billing::portal;
    "/teams/{team}/billing/usage" => get billing::usage;
    "/teams/{team}/billing/invoices" => get billing::invoices;
    "/teams/{team}/billing/cap" => put billing::cap;
    "/teams/{team}/members/{user}" => patch teams::change_role, delete teams::remove_member;
    "/teams/{team}/invitations" => get invitations::list, post invitations::create;
    "/teams/{team}/invitations/{id}" => get invitations::show, delete invitations::revoke;
    "/teams/{team}/audit" => get teams::audit;
    "/teams/{team}/github/install" => get github::install;
    "/teams/{team}/github/repositories" => get github::repositories;
    "/teams/{team}/github/branches" => get github::branches;
    "/github/callback" => get github::callback;
    "/auth/github" => get github::sign_in;
    "/account/github/link" => get github::link;
    "/oidc/callback" => get oidc::callback;
    "/auth/oidc" => get oidc::sign_in;
    "/account/oidc/link" => get oidc::link;
    "/invitations/{token}/accept" => post invitations::accept;
    "/apps" => get apps::list, post apps::create;
    "/apps/{slug}" => get apps::show, patch apps::update, delete apps::delete;
    "/apps/{slug}/restart" => post apps::restart;
    "/apps/{slug}/stop" => post apps::stop;
    "/apps/{slug}/start" => post apps::start;
    "/apps/{slug}/env" => get env::show, put env::replace, patch env::merge;
    "/apps/{slug}/credentials" => get credentials::show, delete credentials::delete;
    "/apps/{slug}/credentials/token" => put credentials::set_token;
    "/apps/{slug}/credentials/deploy-key" => post credentials::deploy_key;
    "/apps/{slug}/deployments" => get deployments::list, post deployments::create;
    "/apps/{slug}/logs" => get logs::runtime;
    "/builds" => get builds::queue;
    "/deployments/{id}" => get deployments::show;
    "/deployments/{id}/cancel" => post deployments::cancel;
    "/deployments/{id}/rollback" => post deployments::rollback;
    "/deployments/{id}/logs" => get logs::build;
    "/webhooks/github" => post webhooks::github;
    "/webhooks/stripe" => post billing::stripe;
    "/webhooks/gitlab/{slug}" => post webhooks::gitlab;
    "/webhooks/gitea/{slug}" => post webhooks::gitea;
    "/apps/{slug}/domains" => get domains::list, post domains::add;
    "/apps/{slug}/https" => get domains::https, patch domains::set_https;
    "/apps/{slug}/domains/{domain}" => get domains::show, patch domains::update, delete domains::remove;
    "/apps/{slug}/domains/{domain}/verify" => post domains::verify;
    "/apps/{slug}/webhook-secret" => get webhooks::show_secret, post webhooks::make_secret;
}
