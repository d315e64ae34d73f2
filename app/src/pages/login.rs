//! `/login`: a plain form posted to `/auth/login` (works without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::{AuthCard, Credentials, QueryError};
use crate::api::session::needs_setup;

#[component]
pub fn LoginPage() -> impl IntoView {
    let setup = Resource::new_blocking(|| (), |_| needs_setup());
    let github = Resource::new(|| (), |_| crate::api::github::github_sign_in_enabled());
    let oidc = Resource::new(|| (), |_| crate::api::session::oidc_sign_in());
    let query = leptos_router::hooks::use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    // signed in already: on to the page asked for (a local path only), else the dashboard
    let user = expect_context::<crate::components::auth::UserResource>();
    let signed_in_to = move || {
        let n = next();
        let local = n.starts_with('/') && !n.starts_with("//") && !n.contains('\\');
        if local { n } else { "/".to_string() }
    };
    view! {
        <Title text="Log in · Rhone"/>
        <Suspense>
            {move || Suspend::new(async move {
                matches!(setup.await, Ok(true)).then(|| view! { <Redirect path="/setup"/> })
            })}
            {move || Suspend::new(async move {
                matches!(user.0.await, Ok(Some(_))).then(|| view! { <Redirect path=signed_in_to()/> })
            })}
        </Suspense>
        <AuthCard title="Log in">
            <QueryError/>
            <form method="post" action="/auth/login" data-testid="login-form">
                <input type="hidden" name="next" value=next/>
                <Credentials submit="Log in" new_password=false/>
            </form>
            <Suspense>
                {move || Suspend::new(async move {
                    matches!(github.await, Ok(true)).then(|| {
                        let n = next();
                        let href = if n.is_empty() { "/api/v1/auth/github".to_string() } else {
                            format!("/api/v1/auth/github?next={}", url_escape(&n))
                        };
                        view! {
                            <a href=href rel="external" data-testid="github-sign-in"
                                class="mt-3 block rounded border border-gray-300 px-3 py-2 text-center text-sm font-medium text-gray-800 hover:bg-gray-50">
                                "Sign in with GitHub"
                            </a>
                        }
                    })
                })}
            </Suspense>
            <Suspense>
                {move || Suspend::new(async move {
                    oidc.await.ok().flatten().map(|name| {
                        let n = next();
                        let href = if n.is_empty() { "/api/v1/auth/oidc".to_string() } else {
                            format!("/api/v1/auth/oidc?next={}", url_escape(&n))
                        };
                        view! {
                            <a href=href rel="external" data-testid="oidc-sign-in"
                                class="mt-3 block rounded border border-gray-300 px-3 py-2 text-center text-sm font-medium text-gray-800 hover:bg-gray-50">
                                {format!("Sign in with {name}")}
                            </a>
                        }
                    })
                })}
            </Suspense>
        </AuthCard>
    }
}

/// A query value, percent-encoded.
fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
