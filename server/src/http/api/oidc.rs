//! Sign in through the installation's OpenID Connect provider, and linking a provider account to
//! a signed-in one.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use domain::auth::oidc::OidcReturn;
use domain::net::ClientIp;
use serde::Deserialize;

use super::github::{encoded, see_other, Next};
use crate::http::auth::Caller;
use crate::http::AppState;

fn public(e: domain::Error) -> String {
    match e {
        domain::Error::Internal(detail) => {
            tracing::error!(error = %detail, "a single sign-on failed");
            "Rhone could not finish signing in with your identity provider (see the server log)".to_string()
        }
        other => other.to_string(),
    }
}

/// `GET /auth/oidc?next=`: to the provider's authorize page.
pub async fn sign_in(State(s): State<AppState>, Query(q): Query<Next>) -> Response {
    match s.services.oidc_authorize_url(None, &q.next).await {
        Ok(to) => see_other(&to),
        Err(e) => crate::http::session::login_error(&domain::Error::Forbidden(public(e))),
    }
}

/// `GET /account/oidc/link`: to the provider's authorize page, to link it to this account.
pub async fn link(State(s): State<AppState>, Caller(a): Caller) -> Response {
    match s.services.oidc_authorize_url(Some(&a), "/account").await {
        Ok(to) => see_other(&to),
        Err(e) => see_other(&format!("/account?oidc_error={}", encoded(&public(e)))),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    error: String,
}

/// `GET /oidc/callback`: the provider sends the browser back here (a session then the page asked
/// for, or the account page after linking); a refusal lands on the login or account page saying why.
pub async fn callback(State(s): State<AppState>, caller: Option<Caller>, Extension(client): Extension<ClientIp>, Query(q): Query<Callback>) -> Response {
    let actor = caller.map(|Caller(a)| a);
    match s.services.oidc_return(actor.as_ref(), &q.state, &q.code, &q.error, client.0).await {
        Ok(OidcReturn::SignedIn { step, next }) => crate::http::session::signed_in(&s, step, &next),
        Ok(OidcReturn::Linked { .. }) => see_other("/account?oidc=linked"),
        Err(e) => match actor {
            Some(_) => see_other(&format!("/account?oidc_error={}", encoded(&public(e)))),
            None => crate::http::session::login_error(&domain::Error::Forbidden(public(e))),
        },
    }
}
