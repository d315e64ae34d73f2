//! `/setup`: the one-time page that creates the owner account; gone once a user exists. It asks for
//! the setup token `rhone serve` prints at start (its link fills it in from `?token=`).

use leptos::prelude::*;
use leptos_router::components::Redirect;

use super::{AuthCard, Credentials, QueryError};
use crate::api::session::needs_setup;
use crate::components::{INPUT, LABEL};

/// The setup token input, filled in from the page's `?token=`.
#[component]
fn TokenField() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let token = query.read_untracked().get("token").unwrap_or_default();
    view! {
        <div class="mb-3 space-y-1">
            <label for="token" class=LABEL>"Setup token"</label>
            <input id="token" name="token" type="text" required autocomplete="off" spellcheck="false" value=token
                data-testid="setup-token" class=format!("{INPUT} font-mono")/>
            <p class="text-xs text-gray-500">
                "Printed by " <code>"rhone serve"</code> " when it starts; " <code>"rhone admin setup-token"</code> " prints it again."
            </p>
        </div>
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let setup = Resource::new_blocking(|| (), |_| needs_setup());
    view! {
        <leptos_meta::Title text="Set up · Rhone"/>
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
                                <TokenField/>
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
