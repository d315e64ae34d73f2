//! The "From GitHub" part of the new-app form: pick one of the team's repositories (filter by
//! name), then one of its branches; both fill the form's fields. Without a connected account it
//! links to GitHub's install page (team admins); after GitHub sent the browser back it says how
//! that went (`?github=connected`, `?github_error=…`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::github::{github_branches, github_picker, GitHubPicker};
use crate::components::{BUTTON_GHOST, INPUT};

/// Repositories listed at once (the filter narrows the rest).
const SHOWN: usize = 30;

#[component]
pub fn GitHubPickerPanel(#[prop(into)] team: Signal<String>, repo_url: RwSignal<String>, branch: RwSignal<String>) -> impl IntoView {
    let picker = Resource::new(move || team.get(), github_picker);
    let query = use_query_map();
    let connected = move || query.read().get("github").is_some_and(|v| v == "connected");
    let refused = move || query.read().get("github_error");
    let filter = RwSignal::new(String::new());
    let chosen = RwSignal::new(None::<String>);
    let branches = Resource::new(move || (team.get(), chosen.get()), |(team, repo)| async move {
        match repo {
            Some(repo) => github_branches(team, repo).await.map(Some),
            None => Ok(None),
        }
    });
    // the chosen repository's default branch (or its first) fills the branch field
    Effect::new(move |_| {
        if let Some(Ok(Some(list))) = branches.get() {
            let current = branch.get_untracked();
            if !list.contains(&current) {
                let pick = ["main", "master"].iter().find(|b| list.iter().any(|l| l == *b)).map(|b| b.to_string()).or_else(|| list.first().cloned());
                branch.set(pick.unwrap_or_default());
            }
        }
    });
    let list = move |p: GitHubPicker| {
        let needle = filter.get().to_lowercase();
        let matching: Vec<_> = p.repos.iter().filter(|r| r.full_name.to_lowercase().contains(&needle)).take(SHOWN).cloned().collect();
        let p2 = p.clone();
        view! {
            <ul class="max-h-56 divide-y overflow-auto rounded border" data-testid="github-repos">
                {matching.into_iter().map(|r| {
                    let url = p2.repo_url(&r.full_name);
                    let name = r.full_name.clone();
                    let is_chosen = {
                        let name = name.clone();
                        move || chosen.get().as_deref() == Some(name.as_str())
                    };
                    view! {
                        <li>
                            <button type="button" class="flex w-full items-center justify-between px-3 py-2 text-left text-sm hover:bg-gray-50"
                                class=("bg-blue-50", is_chosen) data-testid=format!("github-repo-{}", r.full_name)
                                on:click=move |_| { repo_url.set(url.clone()); chosen.set(Some(name.clone())); }>
                                <span class="font-mono">{r.full_name.clone()}</span>
                                {r.private.then(|| view! { <span class="text-xs text-gray-600">"private"</span> })}
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
    };
    view! {
        <Transition>
            {move || Suspend::new(async move {
                let p = match picker.await {
                    Ok(p) if p.enabled => p,
                    _ => return view! { <span></span> }.into_any(),
                };
                let has_repos = !p.repos.is_empty();
                let install = p.install_path();
                let shown = p.clone();
                view! {
                    <fieldset class="space-y-2 rounded border border-gray-200 p-3" data-testid="github-picker">
                        <legend class="px-1 text-sm font-medium text-gray-800">"From GitHub"</legend>
                        {move || connected().then(|| view! { <p class="text-sm text-green-700" role="status" data-testid="github-connected">"GitHub is connected: pick a repository."</p> })}
                        {move || refused().map(|e| view! { <p class="text-sm text-red-700" role="alert" data-testid="github-error">{e}</p> })}
                        {has_repos.then(|| view! {
                            <label class="block text-sm">
                                <span class="sr-only">"Filter repositories"</span>
                                <input class=INPUT type="search" placeholder="Filter repositories" data-testid="github-filter"
                                    prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
                            </label>
                        })}
                        {move || list(shown.clone())}
                        {move || branches.get().and_then(|b| b.ok()).flatten().map(|names| view! {
                            <label class="block text-sm">
                                <span class="mb-1 block font-medium text-gray-700">"Branch"</span>
                                <select class=INPUT data-testid="github-branch" on:change=move |ev| branch.set(event_target_value(&ev))>
                                    {names.into_iter().map(|n| {
                                        let selected = n == branch.get_untracked();
                                        view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        })}
                        <a href=install rel="external" class=BUTTON_GHOST data-testid="github-connect">
                            {if has_repos { "Connect another GitHub account" } else { "Connect a GitHub account" }}
                        </a>
                    </fieldset>
                }
                .into_any()
            })}
        </Transition>
    }
}
