//! The top navigation bar of the logged-in pages.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::types::UserInfo;

#[component]
pub fn Nav(user: UserInfo) -> impl IntoView {
    let link = "rounded px-2 py-1 text-sm text-gray-200 hover:bg-gray-700 hover:text-white aria-[current=page]:bg-gray-900";
    let warning = user.platform_warning.clone();
    view! {
        {warning.map(|w| view! {
            <div role="alert" class="bg-amber-100 px-4 py-2 text-sm text-amber-900" data-testid="platform-warning">{w}</div>
        })}
        <nav class="bg-gray-800">
            <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-2 px-4 py-2">
                <a href="/" class="mr-2 font-semibold text-white">"Rhone"</a>
                <A href="/" attr:class=link attr:data-testid="nav-apps" exact=true>"Apps"</A>
                <A href="/builds" attr:class=link attr:data-testid="nav-builds">"Builds"</A>
                <A href="/tokens" attr:class=link attr:data-testid="nav-tokens">"Tokens"</A>
                <A href="/account" attr:class=link attr:data-testid="nav-account">"Account"</A>
                <span class="ml-auto hidden truncate text-xs text-gray-400 sm:inline" data-testid="nav-user">
                    {user.email}
                </span>
                <form method="post" action="/auth/logout" class="ml-auto sm:ml-0">
                    <button type="submit" class="rounded px-2 py-1 text-sm text-gray-200 hover:bg-gray-700" data-testid="logout">
                        "Log out"
                    </button>
                </form>
            </div>
        </nav>
    }
}
