//! The app page's status panel: the live version's runtime state (running with its restarts,
//! restarting, crashed with the reason and the app's last log lines, stopped) and the disk its kept
//! builds use.

use leptos::prelude::*;

use crate::components::status::StatusBadge;
use crate::components::{ErrorBox, BUTTON_GHOST, CARD};
use crate::error::AppError;
use crate::types::{bytes, AppStatusInfo, RuntimeInfo};

#[component]
pub fn StatusPanel(status: Resource<Result<AppStatusInfo, AppError>>) -> impl IntoView {
    view! {
        <section class=CARD data-testid="app-status">
            <div class="mb-2 flex items-center justify-between gap-2">
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
fn Details(status: AppStatusInfo) -> impl IntoView {
    let disk = match status.disk_bytes {
        Some(b) => format!("{} in {} kept build{}", bytes(b), status.kept_builds, if status.kept_builds == 1 { "" } else { "s" }),
        None => "unknown (the container engine does not answer)".to_string(),
    };
    view! {
        <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
            <dt class="text-gray-500">"Runtime"</dt>
            <dd>{runtime(status.runtime)}</dd>
            <dt class="text-gray-500">"Disk"</dt>
            <dd data-testid="disk-usage">{disk}</dd>
        </dl>
    }
}

fn runtime(r: Option<RuntimeInfo>) -> AnyView {
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
                <span class="text-xs text-gray-400">{format!("deployment #{}", r.deployment_id)}</span>
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
