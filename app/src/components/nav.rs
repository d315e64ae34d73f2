//! The top navigation bar of the logged-in pages: the current team (from the URL, `/t/{team}/…`;
//! elsewhere the personal team), a switcher to the others, and the pages of that team.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::api::teams::list_my_teams;
use crate::types::SignedIn;

/// The team slug of a `/t/{team}/…` path.
pub fn team_of_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/t/")?;
    let slug = rest.split('/').next()?;
    (!slug.is_empty()).then(|| slug.to_string())
}

#[component]
pub fn Nav(user: SignedIn) -> impl IntoView {
    let link = "rounded px-2 py-1 text-sm text-gray-200 hover:bg-gray-700 hover:text-white aria-[current=page]:bg-gray-900";
    let warning = user.platform_warning.clone();
    let location = use_location();
    let in_url = Memo::new(move |_| team_of_path(&location.pathname.get()));
    // read again when the URL names another team (one just created or joined is then listed)
    let teams = Resource::new(move || in_url.get(), |_| list_my_teams());
    view! {
        {warning.map(|w| view! {
            <div role="alert" class="bg-amber-100 px-4 py-2 text-sm text-amber-900" data-testid="platform-warning">{w}</div>
        })}
        <nav class="bg-gray-800">
            <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-2 px-4 py-2">
                <a href="/" class="mr-2 font-semibold text-white">"Rhone"</a>
                <Suspense>
                    {move || Suspend::new(async move {
                        let list = teams.await.unwrap_or_default();
                        let current = match in_url.get() {
                            Some(slug) => list.iter().find(|t| t.team.slug == slug).cloned(),
                            None => list.iter().find(|t| t.team.personal).cloned(),
                        };
                        current.map(|cur| {
                            let base = format!("/t/{}", cur.team.slug);
                            let label = if cur.team.personal { "Personal".to_string() } else { cur.team.name.clone() };
                            let others = list.into_iter().filter(|t| t.team.slug != cur.team.slug).collect::<Vec<_>>();
                            view! {
                                <details class="relative" data-testid="team-switcher">
                                    <summary class="cursor-pointer list-none rounded bg-gray-700 px-2 py-1 text-sm text-white" data-testid="current-team">
                                        {label} " ▾"
                                    </summary>
                                    <ul class="absolute z-10 mt-1 min-w-48 rounded border border-gray-200 bg-white py-1 text-sm shadow">
                                        {others.into_iter().map(|t| {
                                            let name = if t.team.personal { "Personal".to_string() } else { t.team.name.clone() };
                                            view! {
                                                <li><a class="block px-3 py-1 hover:bg-gray-100" href=format!("/t/{}", t.team.slug)
                                                    data-testid=format!("switch-team-{}", t.team.slug)>{name}" · "{t.role.as_str()}</a></li>
                                            }
                                        }).collect_view()}
                                        <li><a class="block px-3 py-1 text-blue-700 hover:bg-gray-100" href="/teams" data-testid="all-teams">"All teams / new team"</a></li>
                                    </ul>
                                </details>
                                <A href=base.clone() attr:class=link attr:data-testid="nav-apps" exact=true>"Apps"</A>
                                <A href=format!("{base}/members") attr:class=link attr:data-testid="nav-members">"Members"</A>
                                {cur.role.can_manage().then(|| view! {
                                    <A href=format!("{base}/audit") attr:class=link attr:data-testid="nav-audit">"Audit log"</A>
                                })}
                                <A href=format!("{base}/billing") attr:class=link attr:data-testid="nav-billing">"Billing"</A>
                            }
                        })
                    })}
                </Suspense>
                <A href="/builds" attr:class=link attr:data-testid="nav-builds">"Builds"</A>
                <A href="/tokens" attr:class=link attr:data-testid="nav-tokens">"Tokens"</A>
                <A href="/account" attr:class=link attr:data-testid="nav-account">"Account"</A>
                {(user.user.role == "owner").then(|| view! {
                    <A href="/admin/users" attr:class=link attr:data-testid="nav-admin">"Accounts"</A>
                })}
                <span class="ml-auto hidden truncate text-xs text-gray-400 sm:inline" data-testid="nav-user">
                    {user.user.email}
                </span>
                <form method="post" action="/auth/logout" class="ml-auto sm:ml-0">
                    <button type="submit" class="rounded px-2 py-1 text-sm text-gray-200 hover:bg-gray-700" data-testid="logout">
                        "Log out"
                    </button>
                </form>
            </div>
        </nav>
        // the current team's payment trouble, on every page of it
        <Suspense>
            {move || Suspend::new(async move {
                let list = teams.await.unwrap_or_default();
                let current = match in_url.get() {
                    Some(slug) => list.into_iter().find(|t| t.team.slug == slug),
                    None => list.into_iter().find(|t| t.team.personal),
                };
                current.and_then(|t| t.billing_warning.map(|w| view! {
                    <div role="alert" class="bg-red-100 px-4 py-2 text-sm text-red-900" data-testid="team-billing-warning">
                        {w}" "<a class="underline" href=format!("/t/{}/billing", t.team.slug)>"Billing"</a>
                    </div>
                }))
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::team_of_path;

    #[test]
    fn the_team_is_read_from_team_paths_only() {
        assert_eq!(team_of_path("/t/acme/apps/x").as_deref(), Some("acme"));
        assert_eq!(team_of_path("/t/acme").as_deref(), Some("acme"));
        assert_eq!(team_of_path("/t/").as_deref(), None);
        assert_eq!(team_of_path("/apps/x"), None);
        assert_eq!(team_of_path("/tokens"), None);
    }
}
