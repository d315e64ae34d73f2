//! `/account`: the logged-in user's password (changing it logs out every other browser) and
//! two-factor sign-in.

use leptos::prelude::*;

use crate::api::session::ChangePassword;
use crate::components::{action_error, ErrorBox, BUTTON, CARD, INPUT, LABEL};

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let error = action_error(change);
    let done = move || matches!(change.value().get(), Some(Ok(())));
    let field_error = move |name: &'static str| {
        move || {
            error.get().and_then(|e| e.field_msg(name)).map(|m| {
                view! { <p class="text-xs font-medium text-red-700" data-testid=format!("field-error-{name}")>{m}</p> }
            })
        }
    };
    // field errors show under their input; anything else in the box above the form
    let general = Signal::derive(move || error.get().filter(|e| e.field_msg("current").is_none() && e.field_msg("new").is_none()));
    view! {
        <leptos_meta::Title text="Account · Rhone"/>
        <h1 class="mb-4 text-2xl font-semibold">"Account"</h1>
        <section class=format!("{CARD} max-w-md space-y-3")>
            <h2 class="font-semibold">"Change password"</h2>
            <p class="text-sm text-gray-600">"Every other browser logged in to your account is logged out. API tokens keep working."</p>
            <ErrorBox error=general/>
            <ActionForm action=change attr:class="space-y-3" attr:data-testid="password-form">
                <div class="space-y-1">
                    <label for="current" class=LABEL>"Current password"</label>
                    <input id="current" name="current" type="password" required autocomplete="current-password" class=INPUT data-testid="current-password"/>
                    {field_error("current")}
                </div>
                <div class="space-y-1">
                    <label for="new" class=LABEL>"New password"</label>
                    <input id="new" name="new" type="password" required minlength="8" autocomplete="new-password" class=INPUT data-testid="new-password"/>
                    <p class="text-xs text-gray-500">"At least 8 characters."</p>
                    {field_error("new")}
                </div>
                <div class="flex items-center gap-3">
                    <button type="submit" class=BUTTON data-testid="change-password" disabled=move || change.pending().get()>"Change password"</button>
                    {move || done().then(|| view! {
                        <span class="text-sm text-green-700" data-testid="password-changed">"Password changed. Other sessions were logged out."</span>
                    })}
                </div>
            </ActionForm>
        </section>
        <div class="mt-4">
            <super::two_factor::TwoFactorSection/>
        </div>
        <GitHubSection/>
        <OidcSection/>
    }
}

/// Single sign-on for this account: the provider account linked, or the link that links one.
#[component]
fn OidcSection() -> impl IntoView {
    let account = Resource::new(|| (), |_| crate::api::session::oidc_account());
    let query = leptos_router::hooks::use_query_map();
    let linked_now = move || query.read().get("oidc").is_some_and(|v| v == "linked");
    let refused = move || query.read().get("oidc_error");
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let a = account.await.ok()?;
                let name = a.name?;
                Some(view! {
                    <section class=format!("{CARD} mt-4 max-w-md space-y-2") data-testid="oidc-account">
                        <h2 class="font-semibold">{format!("Sign in with {name}")}</h2>
                        {move || linked_now().then(|| view! { <p class="text-sm text-green-700" role="status">"Your account is linked."</p> })}
                        {move || refused().map(|e| view! { <p class="text-sm text-red-700" role="alert" data-testid="oidc-error">{e}</p> })}
                        {match a.linked {
                            Some(login) => view! {
                                <p class="text-sm text-gray-700" data-testid="oidc-linked">{format!("Linked to the {name} account ")}<span class="font-mono">{login}</span>"."</p>
                            }.into_any(),
                            None => view! {
                                <p class="text-sm text-gray-600">{format!("Link your {name} account to sign in with it.")}</p>
                                <a href="/api/v1/account/oidc/link" rel="external" class=BUTTON data-testid="oidc-link">{format!("Link {name}")}</a>
                            }.into_any(),
                        }}
                    </section>
                })
            })}
        </Suspense>
    }
}

/// GitHub sign-in for this account: the linked GitHub account, or the link that links one.
#[component]
fn GitHubSection() -> impl IntoView {
    let account = Resource::new(|| (), |_| crate::api::github::github_account());
    let query = leptos_router::hooks::use_query_map();
    let linked_now = move || query.read().get("github").is_some_and(|v| v == "linked");
    let refused = move || query.read().get("github_error");
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let a = account.await.ok().filter(|a| a.enabled)?;
                Some(view! {
                    <section class=format!("{CARD} mt-4 max-w-md space-y-2") data-testid="github-account">
                        <h2 class="font-semibold">"Sign in with GitHub"</h2>
                        {move || linked_now().then(|| view! { <p class="text-sm text-green-700" role="status">"GitHub is linked."</p> })}
                        {move || refused().map(|e| view! { <p class="text-sm text-red-700" role="alert" data-testid="github-error">{e}</p> })}
                        {match a.linked {
                            Some(login) => view! {
                                <p class="text-sm text-gray-700" data-testid="github-linked">"Linked to the GitHub account "<span class="font-mono">{login}</span>"."</p>
                            }.into_any(),
                            None => view! {
                                <p class="text-sm text-gray-600">"Link your GitHub account to sign in with it."</p>
                                <a href="/api/v1/account/github/link" rel="external" class=BUTTON data-testid="github-link">"Link GitHub"</a>
                            }.into_any(),
                        }}
                    </section>
                })
            })}
        </Suspense>
    }
}
