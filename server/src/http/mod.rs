//! The dashboard/API listener: Leptos pages and server functions, the REST API, session endpoints.

mod assets;
pub mod api;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod guard;
pub mod headers;
pub mod json;
pub mod path;
mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderValue;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use domain::net::TrustedProxies;
use domain::Services;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::config::Config;
use dashboard::Dashboard;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub leptos: LeptosOptions,
    /// Session cookies are `Secure` and `__Host-` prefixed (`public_url` is https, or `secure_cookies`).
    pub secure_cookies: bool,
    pub proxy_port: u16,
    pub dashboard: Arc<Dashboard>,
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl AppState {
    /// The listener's state for `config`, once the dashboard is bound to `addr`.
    pub fn new(services: Services, leptos: LeptosOptions, config: &Config, addr: SocketAddr, proxy_port: u16) -> AppState {
        let dashboard = Dashboard::new(config.public_url.clone(), addr);
        AppState {
            services,
            leptos,
            secure_cookies: config.secure_cookies || dashboard.https(),
            proxy_port,
            dashboard: Arc::new(dashboard),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            body_limit: headers::DEFAULT_BODY_LIMIT,
        }
    }

    pub fn session_cookie_name(&self) -> &'static str {
        domain::auth::session_cookie_name(self.secure_cookies)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}

/// The client address of a request (decided by [`guard::client_address`]).
pub type Client = axum::Extension<domain::net::ClientIp>;

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let (services, secure, proxy_port) = (state.services.clone(), state.secure_cookies, state.proxy_port);
    let dashboard_url = state.dashboard.url();
    let live_reload = std::env::var_os("LEPTOS_WATCH").is_some();
    let context = move || {
        provide_context(services.clone());
        provide_context(app::server::CookieSecurity(secure));
        provide_context(app::server::ProxyPort(proxy_port));
        provide_context(app::server::DashboardUrl(dashboard_url.clone()));
        // a rendered page: its CSP names the nonce Leptos put on its inline scripts
        if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
            if let Ok(v) = HeaderValue::from_str(&headers::page_csp(&nonce, live_reload)) {
                res.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
            }
        }
    };
    let shell_opts = state.leptos.clone();
    Router::new()
        .nest("/api/v1", api::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/auth/login", post(session::login))
        .route("/auth/login/code", post(session::login_code))
        .route("/auth/accept", post(session::accept))
        .route("/auth/logout", post(session::logout))
        .route("/auth/setup", post(session::setup))
        .merge(assets::router(&state.leptos.site_root, &state.leptos.site_pkg_dir))
        .leptos_routes_with_context(&state, routes, context.clone(), move || app::shell(shell_opts.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, app::shell))
        // outermost last: headers on every answer, then Host, client address, origin, body size
        .layer(from_fn(headers::server_fn_status))
        .layer(from_fn_with_state(state.clone(), headers::limit_body))
        .layer(from_fn_with_state(state.clone(), guard::check_origin))
        .layer(from_fn_with_state(state.clone(), guard::client_address))
        .layer(from_fn_with_state(state.clone(), guard::check_host))
        .layer(from_fn(headers::security_headers))
        .with_state(state)
}
