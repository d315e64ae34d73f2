//! `/` and `/t/:team`: a team's apps (`/`: your personal team's), each with its state, its URL and
//! the release it runs. The list refreshes by itself; it can be searched and sorted.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::apps::list_apps;
use crate::api::session::get_site_info;
use crate::components::browser::protocol;
use crate::components::clock::Ago;
use crate::components::status::StatusBadge;
use crate::components::{ErrorBox, BUTTON, INPUT, LABEL};
use crate::types::{AppListItem, SiteInfo, TeamApps};

/// How often the list refreshes itself.
const REFRESH_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Name,
    LastDeploy,
}

#[component]
pub fn AppsPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let team = Memo::new(move |_| params.read().get("team").unwrap_or_default());
    let tick = RwSignal::new(0u32);
    let apps = Resource::new(move || (team.get(), tick.get()), |(team, _)| list_apps(team));
    let site = Resource::new(|| (), |_| get_site_info());
    // the search and the order outlive each refresh of the list
    let (query, sort) = (RwSignal::new(String::new()), RwSignal::new(Sort::Name));
    // set once the page is interactive (the search and the sort work from then on)
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(move || tick.update(|t| *t = t.wrapping_add(1)), REFRESH_EVERY) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <div data-testid="apps-page" data-interactive=move || interactive.get().to_string()>
        <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading apps…"</p> }>
            {move || Suspend::new(async move {
                let site = site.await.ok();
                match apps.await {
                    Ok(t) => view! { <TeamAppList t site query sort/> }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Transition>
        </div>
    }
}

#[component]
fn TeamAppList(t: TeamApps, site: Option<SiteInfo>, query: RwSignal<String>, sort: RwSignal<Sort>) -> impl IntoView {
    let slug = t.team.team.slug.clone();
    let new_href = format!("/t/{slug}/apps/new");
    let can_create = t.team.role.can_manage();
    let title = if t.team.team.personal { "Apps".to_string() } else { format!("{} · Apps", t.team.team.name) };
    let all = StoredValue::new(t.apps);
    let shown = move || all.with_value(|apps| filtered(apps, &query.get(), sort.get()));
    let proto = RwSignal::new(String::from("http:"));
    Effect::new(move |_| proto.set(protocol()));
    let site = StoredValue::new(site);
    let empty_team = all.with_value(Vec::is_empty);
    view! {
        <div class="mb-4 flex flex-wrap items-center justify-between gap-2">
            <leptos_meta::Title text=format!("{title} · Rhone")/>
            <h1 class="text-2xl font-semibold" data-testid="apps-title">{title}</h1>
            {can_create.then(|| view! { <A href=new_href.clone() attr:class=BUTTON attr:data-testid="new-app">"New app"</A> })}
        </div>
        {if empty_team {
            empty(new_href, can_create).into_any()
        } else {
            view! {
                <div class="mb-3 flex flex-wrap items-end gap-3">
                    <div class="min-w-48 flex-1">
                        <label class=LABEL for="app-search">"Search"</label>
                        <input id="app-search" type="search" class=INPUT placeholder="name, slug or repository" data-testid="app-search"
                            prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
                    </div>
                    <div>
                        <label class=LABEL for="app-sort">"Sort by"</label>
                        <select id="app-sort" class=INPUT data-testid="app-sort"
                            on:change=move |ev| sort.set(if event_target_value(&ev) == "deploy" { Sort::LastDeploy } else { Sort::Name })>
                            <option value="name" selected=move || sort.get() == Sort::Name>"Name"</option>
                            <option value="deploy" selected=move || sort.get() == Sort::LastDeploy>"Last deploy"</option>
                        </select>
                    </div>
                </div>
                <ul class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="app-list" aria-live="polite">
                    {move || {
                        let list = shown();
                        if list.is_empty() {
                            view! { <li class="px-4 py-3 text-sm text-gray-500" data-testid="no-match">"No app matches your search."</li> }.into_any()
                        } else {
                            list.into_iter().map(|a| {
                                let url = site.with_value(|s| s.as_ref().map(|s| s.app_url(&proto.get(), &a.app.slug)));
                                row(&slug, a, url)
                            }).collect_view().into_any()
                        }
                    }}
                </ul>
            }.into_any()
        }}
    }
}

/// The apps whose name, slug or repository contains `query` (any case), sorted.
fn filtered(apps: &[AppListItem], query: &str, sort: Sort) -> Vec<AppListItem> {
    let q = query.trim().to_lowercase();
    let mut out: Vec<AppListItem> = apps
        .iter()
        .filter(|a| q.is_empty() || [&a.app.name, &a.app.slug, &a.app.repo_url].iter().any(|f| f.to_lowercase().contains(&q)))
        .cloned()
        .collect();
    match sort {
        Sort::Name => out.sort_by_key(|a| a.app.name.to_lowercase()),
        Sort::LastDeploy => out.sort_by_key(|a| std::cmp::Reverse(a.newest.as_ref().map_or(0, |d| d.created_at))),
    }
    out
}

fn row(team: &str, s: AppListItem, url: Option<String>) -> impl IntoView {
    let slug = s.app.slug.clone();
    let href = format!("/t/{team}/apps/{slug}");
    let release = s.live.map(|d| {
        let commit = [d.short_sha(), d.commit_message.clone().unwrap_or_default(), d.commit_author.clone().map(|a| format!("by {a}")).unwrap_or_default()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        let at = d.live_at.unwrap_or(d.created_at);
        view! {
            <span class="w-full truncate text-xs text-gray-600" data-testid=format!("app-release-{}", d.app_slug)>
                <span class="font-medium">{d.release()}</span> " " {commit} " · " <Ago at/>
            </span>
        }
    });
    let deploying = s.newest.filter(|d| d.status.in_progress()).map(|d| format!("deploying {}", d.release()));
    view! {
        <li class="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-3 hover:bg-gray-50" data-testid=format!("app-row-{slug}")>
            <A href=href attr:class="font-medium underline-offset-2 hover:underline" attr:data-testid=format!("app-link-{slug}")>{s.app.name}</A>
            <StatusBadge state=Some(s.state) testid=format!("app-state-{slug}")/>
            {deploying.filter(|_| s.state != wire::AppState::Deploying).map(|d| view! { <span class="text-xs text-amber-700">{d}</span> })}
            {url.map(|u| {
                let href = u.clone();
                view! {
                <a href=href target="_blank" rel="noopener" class="truncate text-xs text-blue-700 underline" data-testid=format!("app-url-{slug}")>{u}</a>
            }})}
            {release}
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
