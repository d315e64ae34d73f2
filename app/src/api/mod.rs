//! Server functions, one file per area. Bodies are thin: context → authorize → one domain call →
//! map the error.

pub mod admin;
pub mod apps;
pub mod billing;
pub mod builds;
pub mod credentials;
pub mod deployments;
pub mod domains;
pub mod env;
pub mod github;
pub mod session;
pub mod teams;
pub mod tokens;
pub mod two_factor;

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use domain::access::Actor;
    use domain::model::User;
    use domain::Services;
    use leptos::prelude::use_context;

    use crate::error::AppError;

    pub fn services() -> Result<Services, AppError> {
        use_context::<Services>().ok_or_else(|| {
            tracing::error!("domain::Services is missing from the Leptos context");
            AppError::Internal
        })
    }

    /// The session cookie (its name depends on whether cookies are `Secure`; see `rhone`'s config).
    pub fn session_cookie(headers: &http::HeaderMap) -> Option<String> {
        let secure = use_context::<crate::server::CookieSecurity>().is_some_and(|c| c.0);
        let values = headers.get_all(http::header::COOKIE).iter().filter_map(|v| v.to_str().ok());
        domain::auth::cookie_value(values, domain::auth::session_cookie_name(secure)).map(str::to_string)
    }

    /// The user behind the request's session cookie, if any.
    pub async fn user(services: &Services) -> Result<Option<User>, AppError> {
        let headers = leptos_axum::extract::<http::HeaderMap>().await.map_err(|e| {
            tracing::error!(error = %e, "could not read the request headers");
            AppError::Internal
        })?;
        match session_cookie(&headers) {
            Some(s) if !s.is_empty() => Ok(services.user_by_session(&s).await?),
            _ => Ok(None),
        }
    }

    /// The services and who is asking (the logged-in user and the client address); `Unauthorized`
    /// for anonymous requests. What the actor may do is decided by the domain method it is passed to.
    pub async fn authorize() -> Result<(Services, Actor), AppError> {
        let services = services()?;
        let ip = use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<domain::net::ClientIp>().map(|c| c.0));
        match user(&services).await? {
            Some(u) => Ok((services, Actor::session(u, ip))),
            None => Err(AppError::Unauthorized),
        }
    }

    /// An optional form text: blank means "not given".
    pub fn opt(s: String) -> Option<String> {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_string())
    }
}
