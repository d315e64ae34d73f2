//! The dashboard/API listener: Leptos pages and server functions, the REST API, session endpoints.

pub mod api;
pub mod auth;
pub mod error;
pub mod json;
pub mod path;
mod session;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef};
use axum::routing::{get, post};
use axum::Router;
use domain::Services;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub leptos: LeptosOptions,
    pub secure_cookies: bool,
    pub proxy_port: u16,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}

pub type ClientAddr = ConnectInfo<SocketAddr>;

pub fn client_ip(addr: &ClientAddr) -> String {
    addr.0.ip().to_string()
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let (services, secure, proxy_port) = (state.services.clone(), state.secure_cookies, state.proxy_port);
    let context = move || {
        provide_context(services.clone());
        provide_context(app::server::CookieSecurity(secure));
        provide_context(app::server::ProxyPort(proxy_port));
    };
    let shell_opts = state.leptos.clone();
    Router::new()
        .nest("/api/v1", api::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/auth/setup", post(session::setup))
        .leptos_routes_with_context(&state, routes, context.clone(), move || app::shell(shell_opts.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, app::shell))
        .with_state(state)
}
