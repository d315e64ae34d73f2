//! `/setup`: the one-time page that creates the owner account; gone once a user exists.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::{AuthCard, Credentials, QueryError};
use crate::api::session::needs_setup;

#[component]
pub fn SetupPage() -> impl IntoView {
    let setup = Resource::new_blocking(|| (), |_| needs_setup());
    view! {
        <Suspense fallback=|| view! { <p class="p-4 text-sm text-gray-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match setup.await {
                    Ok(true) => view! {
                        <AuthCard title="Create the owner account">
                            <p class="mb-3 text-sm text-gray-600">
                                "No account exists yet. The account you create here owns this Rhone install."
                            </p>
                            <QueryError/>
                            <form method="post" action="/auth/setup" data-testid="setup-form">
                                <Credentials submit="Create account" new_password=true/>
                            </form>
                        </AuthCard>
                    }.into_any(),
                    _ => view! { <Redirect path="/login"/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
