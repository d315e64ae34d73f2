//! `/login`: a plain form posted to `/auth/login` (works without JavaScript).

use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::{AuthCard, Credentials, QueryError};
use crate::api::session::needs_setup;

#[component]
pub fn LoginPage() -> impl IntoView {
    let setup = Resource::new_blocking(|| (), |_| needs_setup());
    let query = leptos_router::hooks::use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                matches!(setup.await, Ok(true)).then(|| view! { <Redirect path="/setup"/> })
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
