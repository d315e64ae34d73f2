//! One page per file.

pub mod account;
pub mod admin;
pub mod app;
pub mod apps;
pub mod audit;
pub mod billing;
pub mod builds;
pub mod invite;
pub mod login;
pub mod login_code;
pub mod members;
pub mod new_app;
pub mod new_app_github;
pub mod setup;
pub mod teams;
pub mod tokens;
pub mod two_factor;

use leptos::prelude::*;

/// Any path the dashboard does not have: a 404 with the way back.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <leptos_meta::Title text="Not found · Rhone"/>
        <div class="flex min-h-screen items-start justify-center bg-gray-50 px-4 pt-16 sm:pt-24">
            <div class="w-full max-w-md rounded-lg border border-gray-200 bg-white p-6 text-center shadow-sm" data-testid="not-found">
                <p class="text-sm font-medium text-gray-500">"404"</p>
                <h1 class="mb-2 text-xl font-semibold">"This page does not exist"</h1>
                <p class="mb-4 text-sm text-gray-600">"The address may be mistyped, or what it pointed to was deleted."</p>
                <nav class="flex justify-center gap-4 text-sm">
                    <a class="text-blue-700 underline" href="/">"Your apps"</a>
                    <a class="text-blue-700 underline" href="/teams">"Teams"</a>
                    <a class="text-blue-700 underline" href="/builds">"Builds"</a>
                </nav>
            </div>
        </div>
    }
}

/// The centred card of the login and setup pages.
#[component]
pub fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="flex min-h-screen items-start justify-center bg-gray-50 px-4 pt-16 sm:pt-24">
            <div class="w-full max-w-sm rounded-lg border border-gray-200 bg-white p-6 shadow-sm">
                <h1 class="mb-1 text-xl font-semibold">"Rhone"</h1>
                <h2 class="mb-4 text-sm text-gray-600">{title}</h2>
                {children()}
            </div>
        </div>
    }
}

/// The `?error=` message a form endpoint sent the browser back with.
#[component]
pub fn QueryError() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    move || {
        query.read().get("error").filter(|e| !e.is_empty()).map(|e| {
            view! {
                <p data-testid="error" role="alert" class="mb-3 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">
                    {e}
                </p>
            }
        })
    }
}

/// Email and password inputs and a submit button.
#[component]
pub fn Credentials(submit: &'static str, new_password: bool) -> impl IntoView {
    use crate::components::{BUTTON, INPUT, LABEL};
    let autocomplete = if new_password { "new-password" } else { "current-password" };
    view! {
        <div class="space-y-3">
            <div class="space-y-1">
                <label for="email" class=LABEL>"Email"</label>
                <input id="email" name="email" type="email" required autocomplete="username" data-testid="email" class=INPUT/>
            </div>
            <div class="space-y-1">
                <label for="password" class=LABEL>"Password"</label>
                <input id="password" name="password" type="password" required minlength=if new_password { "8" } else { "1" }
                    autocomplete=autocomplete data-testid="password" class=INPUT/>
                {new_password.then(|| view! { <p class="text-xs text-gray-500">"At least 8 characters."</p> })}
            </div>
            <button type="submit" class=format!("{BUTTON} w-full") data-testid="submit">{submit}</button>
        </div>
    }
}
