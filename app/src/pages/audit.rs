//! `/t/:team/audit`: the team's audit log (owners and admins), newest first, filtered by member and
//! action, a page at a time.

use leptos::prelude::*;
use wire::AuditEntry;

use crate::api::teams::{audit_log, list_members, AUDIT_PAGE};
use crate::components::fmt::datetime;
use crate::components::{ErrorBox, BUTTON_GHOST, CARD};

const ACTIONS: [&str; 19] = [
    "login", "app.create", "app.update", "app.delete", "env.write", "env.reveal", "credential.change", "deploy", "deployment.cancel",
    "rollback", "invite", "invitation.revoke", "join", "member.role", "member.remove", "token.create", "token.revoke", "team.create",
    "team.update",
];

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let team = Memo::new(move |_| params.read().get("team").unwrap_or_default());
    let user = RwSignal::new(None::<i64>);
    let action = RwSignal::new(String::new());
    let before = RwSignal::new(None::<i64>);
    let members = Resource::new(move || team.get(), list_members);
    let entries = Resource::new(move || (team.get(), user.get(), action.get(), before.get()), |(t, u, a, b)| audit_log(t, u, a, b));
    let select = "rounded border border-gray-300 px-2 py-1 text-sm";
    view! {
        <leptos_meta::Title text="Audit log · Rhone"/>
        <h1 class="mb-4 text-2xl font-semibold">"Audit log"</h1>
        <div class=format!("{CARD} mb-3 flex flex-wrap items-center gap-2")>
            <Suspense>
                {move || Suspend::new(async move {
                    let list = members.await.unwrap_or_default();
                    view! {
                        <select class=select aria-label="Member" data-testid="audit-user" on:change=move |ev| {
                            user.set(event_target_value(&ev).parse().ok());
                            before.set(None);
                        }>
                            <option value="">"Everyone"</option>
                            {list.into_iter().map(|m| view! { <option value=m.user_id.to_string()>{m.email}</option> }).collect_view()}
                        </select>
                    }
                })}
            </Suspense>
            <select class=select aria-label="Action" data-testid="audit-action" on:change=move |ev| {
                action.set(event_target_value(&ev));
                before.set(None);
            }>
                <option value="">"Every action"</option>
                {ACTIONS.into_iter().map(|a| view! { <option value=a>{a}</option> }).collect_view()}
            </select>
        </div>
        <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading the audit log…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) if list.is_empty() => view! { <p class="text-sm text-gray-500" data-testid="audit-empty">"Nothing recorded."</p> }.into_any(),
                    Ok(list) => {
                        let more = list.len() as i64 >= AUDIT_PAGE;
                        let oldest = list.last().map(|e| e.id);
                        view! {
                            <ul class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white text-sm" data-testid="audit-list">
                                {list.into_iter().map(row).collect_view()}
                            </ul>
                            <div class="mt-2 flex gap-2">
                                {before.get_untracked().is_some().then(|| view! { <button class=BUTTON_GHOST on:click=move |_| before.set(None)>"Newest"</button> })}
                                {more.then(|| view! { <button class=BUTTON_GHOST on:click=move |_| before.set(oldest) data-testid="audit-older">"Older"</button> })}
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn row(e: AuditEntry) -> impl IntoView {
    let action = e.action.clone();
    view! {
        <li class="flex flex-wrap items-baseline gap-x-3 gap-y-1 px-4 py-2" data-testid="audit-entry" data-action=action>
            <span class="whitespace-nowrap text-xs text-gray-500">{datetime(e.at)}</span>
            <span class="font-medium">{e.actor}</span>
            <code class="rounded bg-gray-100 px-1 text-xs">{e.action}</code>
            <span class="break-all">{e.target}</span>
            <span class="break-all text-gray-600">{e.detail}</span>
            <span class="ml-auto text-xs text-gray-500">{e.ip}</span>
        </li>
    }
}
