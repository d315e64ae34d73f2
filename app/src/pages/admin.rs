//! `/admin/users`: the installation's accounts, for its administrator: disable or enable one, end
//! its browser sessions.

use leptos::prelude::*;

use wire::UserSummary;

use crate::api::admin::{list_accounts, ResetAccountSessions, SetAccountDisabled};
use crate::components::browser::confirm;
use crate::components::fmt::datetime;
use crate::components::{action_error, ErrorBox, BUTTON_DANGER, BUTTON_GHOST};

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let disable = ServerAction::<SetAccountDisabled>::new();
    let reset = ServerAction::<ResetAccountSessions>::new();
    let accounts = Resource::new(move || (disable.version().get(), reset.version().get()), |_| list_accounts());
    let (e1, e2) = (action_error(disable), action_error(reset));
    let error = Signal::derive(move || e1.get().or_else(|| e2.get()));
    view! {
        <leptos_meta::Title text="Accounts · Rhone"/>
        <h1 class="mb-4 text-2xl font-semibold">"Accounts"</h1>
        <p class="mb-3 text-sm text-gray-600">"Everyone with an account on this Rhone. Their teams' apps are only visible to their members."</p>
        <ErrorBox error/>
        <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading accounts…"</p> }>
            {move || Suspend::new(async move {
                match accounts.await {
                    Ok(list) => view! {
                        <ul class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white text-sm" data-testid="account-list">
                            {list.into_iter().map(|a| row(a, disable, reset)).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn row(a: UserSummary, disable: ServerAction<SetAccountDisabled>, reset: ServerAction<ResetAccountSessions>) -> impl IntoView {
    let (id, email, disabled) = (a.id, a.email.clone(), a.disabled);
    let email_reset = email.clone();
    let on_toggle = move |_| {
        if disabled || confirm(&format!("Disable {email}? They are logged out everywhere and their API tokens stop working.")) {
            disable.dispatch(SetAccountDisabled { id, disabled: !disabled });
        }
    };
    let on_reset = move |_| {
        if confirm(&format!("Log {email_reset} out of every browser?")) {
            reset.dispatch(ResetAccountSessions { id });
        }
    };
    view! {
        <li class="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-3" data-testid=format!("account-{}", a.email)>
            <span class="font-medium">{a.email.clone()}</span>
            {a.instance_admin.then(|| view! { <span class="rounded bg-gray-100 px-2 py-0.5 text-xs">"administrator"</span> })}
            {a.disabled.then(|| view! { <span class="rounded bg-red-100 px-2 py-0.5 text-xs text-red-800" data-testid="account-disabled">"disabled"</span> })}
            <span class="text-xs text-gray-500">
                {a.teams} " teams · " {a.sessions} " sessions · 2FA " {if a.two_factor { "on" } else { "off" }} " · since " {datetime(a.created_at)}
            </span>
            <span class="ml-auto flex gap-1">
                <button class=BUTTON_GHOST on:click=on_reset data-testid="reset-sessions">"End sessions"</button>
                {(!a.instance_admin).then(|| view! {
                    <button class=BUTTON_DANGER on:click=on_toggle data-testid="toggle-account">{if disabled { "Enable" } else { "Disable" }}</button>
                })}
            </span>
        </li>
    }
}
