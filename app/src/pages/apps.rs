//! `/` and `/t/:team`: a team's apps (`/`: your personal team's), each with the status of its newest
//! deployment.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::apps::list_apps;
use crate::components::status::StatusBadge;
use crate::components::{ErrorBox, BUTTON};
use crate::types::{AppSummary, TeamApps};

#[component]
pub fn AppsPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let team = Memo::new(move |_| params.read().get("team").unwrap_or_default());
    let apps = Resource::new(move || team.get(), list_apps);
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading apps…"</p> }>
            {move || Suspend::new(async move {
                match apps.await {
                    Ok(t) => view! { <TeamAppList t/> }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TeamAppList(t: TeamApps) -> impl IntoView {
    let slug = t.team.team.slug.clone();
    let new_href = format!("/t/{slug}/apps/new");
    let can_create = t.team.role.can_manage();
    let title = if t.team.team.personal { "Apps".to_string() } else { format!("{} · Apps", t.team.team.name) };
    let list = t.apps;
    view! {
        <div class="mb-4 flex items-center justify-between gap-2">
            <h1 class="text-2xl font-semibold" data-testid="apps-title">{title}</h1>
            {can_create.then(|| view! { <A href=new_href.clone() attr:class=BUTTON attr:data-testid="new-app">"New app"</A> })}
        </div>
        {if list.is_empty() {
            empty(new_href, can_create).into_any()
        } else {
            view! {
                <ul class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="app-list">
                    {list.into_iter().map(|a| row(&slug, a)).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

fn row(team: &str, s: AppSummary) -> impl IntoView {
    let href = format!("/t/{team}/apps/{}", s.app.slug);
    let testid = format!("app-row-{}", s.app.slug);
    // a live version that is not serving as it should is flagged next to the deployment status
    let runtime_testid = format!("app-runtime-{}", s.app.slug);
    let runtime = s.runtime.filter(|r| r.state.is_trouble());
    view! {
        <li>
            <A href=href attr:class="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-3 hover:bg-gray-50"
                attr:data-testid=testid>
                <span class="font-medium">{s.app.name}</span>
                <span class="text-xs text-gray-500">{s.app.slug}</span>
                <span class="w-full truncate text-xs text-gray-500 sm:w-auto sm:flex-1">{s.app.repo_url}</span>
                <StatusBadge state=s.status/>
                {runtime.map(|r| view! { <StatusBadge state=Some(r.state) testid=runtime_testid/> })}
            </A>
        </li>
    }
}

fn empty(new_href: String, can_create: bool) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-dashed border-gray-300 bg-white p-8 text-center" data-testid="no-apps">
            {if can_create {
                view! {
                    <p class="mb-3 text-gray-600">"No apps yet. Create one from a Git repository, then deploy it."</p>
                    <A href=new_href attr:class=BUTTON>"Create your first app"</A>
                }.into_any()
            } else {
                view! { <p class="text-gray-600">"This team has no apps yet. Its admins can create them."</p> }.into_any()
            }}
        </div>
    }
}
