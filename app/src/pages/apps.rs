//! `/`: the apps, each with the status of its newest deployment.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::apps::list_apps;
use crate::components::status::StatusBadge;
use crate::components::{ErrorBox, BUTTON};
use crate::types::AppSummary;

#[component]
pub fn AppsPage() -> impl IntoView {
    let apps = Resource::new(|| (), |_| list_apps());
    view! {
        <div class="mb-4 flex items-center justify-between gap-2">
            <h1 class="text-2xl font-semibold">"Apps"</h1>
            <A href="/apps/new" attr:class=BUTTON attr:data-testid="new-app">"New app"</A>
        </div>
        <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading apps…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Ok(list) if list.is_empty() => empty().into_any(),
                    Ok(list) => view! {
                        <ul class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="app-list">
                            {list.into_iter().map(row).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn row(s: AppSummary) -> impl IntoView {
    let href = format!("/apps/{}", s.app.slug);
    let testid = format!("app-row-{}", s.app.slug);
    // a live version that is not serving as it should is flagged next to the deployment status
    let runtime_testid = format!("app-runtime-{}", s.app.slug);
    let runtime = s.runtime.filter(|r| matches!(r.state.as_str(), "crashed" | "restarting" | "stopped"));
    view! {
        <li>
            <A href=href attr:class="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-3 hover:bg-gray-50"
                attr:data-testid=testid>
                <span class="font-medium">{s.app.name}</span>
                <span class="text-xs text-gray-500">{s.app.slug}</span>
                <span class="w-full truncate text-xs text-gray-500 sm:w-auto sm:flex-1">{s.app.repo_url}</span>
                <StatusBadge status=s.status/>
                {runtime.map(|r| view! { <StatusBadge status=Some(r.state) testid=runtime_testid/> })}
            </A>
        </li>
    }
}

fn empty() -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-gray-300 bg-white p-8 text-center" data-testid="no-apps">
            <p class="mb-3 text-gray-600">"No apps yet. Create one from a Git repository, then deploy it."</p>
            <A href="/apps/new" attr:class=BUTTON>"Create your first app"</A>
        </div>
    }
}
