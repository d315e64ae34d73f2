//! `/login/code`: the second step of signing in to an account with two-factor sign-in — a code from
//! the authenticator, or a recovery code. A plain form posted to `/auth/login/code`.

use leptos::prelude::*;

use super::{AuthCard, QueryError};
use crate::components::{BUTTON, INPUT, LABEL};

#[component]
pub fn LoginCodePage() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    view! {
        <leptos_meta::Title text="Sign-in code · Rhone"/>
        <AuthCard title="Two-factor sign-in">
            <QueryError/>
            <form method="post" action="/auth/login/code" class="space-y-3" data-testid="code-form">
                <input type="hidden" name="next" value=next/>
                <div class="space-y-1">
                    <label for="code" class=LABEL>"Code"</label>
                    <input id="code" name="code" required autocomplete="one-time-code" inputmode="text" autofocus
                        class=INPUT data-testid="code" placeholder="123456"/>
                    <p class="text-xs text-gray-500">"The 6 digits your authenticator app shows, or one of your recovery codes."</p>
                </div>
                <button type="submit" class=format!("{BUTTON} w-full") data-testid="submit-code">"Sign in"</button>
            </form>
            <p class="mt-3 text-xs text-gray-500"><a class="underline" href="/login">"Start again"</a></p>
        </AuthCard>
    }
}
