//! `/login`: a plain form posted to `/auth/login` (works without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use super::{AuthCard, Credentials, QueryError};
use crate::api::session::needs_setup;

#[component]
pub fn LoginPage() -> impl IntoView {
    let setup = Resource::new_blocking(|| (), |_| needs_setup());
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
        </AuthCard>
    }
}
