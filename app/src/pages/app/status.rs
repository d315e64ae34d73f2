//! The app page's status panel: the app's state (running, deploying, crashed with the restart count,
//! the reason and the app's last log lines, stopped), the release it runs and the disk its kept
//! builds use.

use leptos::prelude::*;

use crate::components::clock::Ago;
use crate::components::status::StatusBadge;
use crate::components::{ErrorBox, BUTTON_GHOST, CARD};
use crate::error::AppError;
use crate::components::fmt::bytes;
use crate::types::{AppOverview, RuntimeStatus};
use wire::AppState;

#[component]
pub fn StatusPanel(status: Resource<Result<AppOverview, AppError>>) -> impl IntoView {
    view! {
        <section class=CARD data-testid="app-status">
            <div class="mb-2 flex flex-wrap items-center justify-between gap-2">
                <h2 class="text-lg font-semibold">"Status"</h2>
                <button type="button" class=BUTTON_GHOST data-testid="refresh-status" on:click=move |_| status.refetch()>"Refresh"</button>
            </div>
            <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading status…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! { <Details status=s/> }.into_any(),
                        Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Details(status: AppOverview) -> impl IntoView {
    let disk = match status.disk_usage {
        Some(u) => format!("{} in {} kept build{}", bytes(u.bytes), u.builds, if u.builds == 1 { "" } else { "s" }),
        None => "unknown (the container engine does not answer)".to_string(),
    };
    let item = status.item;
    let release = item.live.map(|d| {
        let at = d.live_at.unwrap_or(d.created_at);
        let what = [d.short_sha(), d.commit_message.clone().unwrap_or_default(), d.commit_author.clone().map(|a| format!("by {a}")).unwrap_or_default()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        view! {
            <span data-testid="live-release"><span class="font-medium">{d.release()}</span>" "{what}" · live since "<Ago at/></span>
        }
    });
    view! {
        <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
            <dt class="text-gray-500">"State"</dt>
            <dd aria-live="polite">
                <span data-testid="status-state" data-state=item.state.as_str()><StatusBadge state=Some(item.state)/></span>
                {(item.state == AppState::Stopped).then(|| view! { <span class="ml-2 text-gray-600">"The proxy answers “stopped” until you start it."</span> })}
            </dd>
            <dt class="text-gray-500">"Release"</dt>
            <dd>{release.map_or_else(|| view! { <span class="text-gray-500">"none live"</span> }.into_any(), IntoAny::into_any)}</dd>
            <dt class="text-gray-500">"Runtime"</dt>
            <dd>{runtime(item.runtime_status)}</dd>
            <dt class="text-gray-500">"Disk"</dt>
            <dd data-testid="disk-usage">{disk}</dd>
        </dl>
    }
}

fn runtime(r: Option<RuntimeStatus>) -> AnyView {
    let Some(r) = r else {
        return view! { <span class="text-gray-500" data-testid="runtime-state" data-state="none">"no live version"</span> }.into_any();
    };
    let summary = r.summary();
    let lines = r.last_lines.join("\n");
    let has_lines = !r.last_lines.is_empty();
    view! {
        <div class="space-y-1">
            <span data-testid="runtime-state" data-state=r.state.as_str() class="inline-flex flex-wrap items-center gap-2">
                <StatusBadge state=Some(r.state)/>
                <span class="text-gray-600">{summary}</span>
                <span class="text-xs text-gray-500">{format!("deployment #{}", r.deployment_id)}</span>
            </span>
            {r.reason.map(|why| view! { <p class="text-red-800 break-words" data-testid="runtime-reason">{why}</p> })}
            {has_lines.then(|| view! {
                <div>
                    <p class="text-xs text-gray-500">"Last log lines"</p>
                    <pre class="max-h-64 overflow-auto rounded bg-gray-900 p-2 text-xs text-gray-100 whitespace-pre-wrap break-all"
                        data-testid="crash-lines">{lines}</pre>
                </div>
            })}
        </div>
    }
    .into_any()
}
