//! `/teams`: the teams you belong to, with your role, and a form to create one.

use leptos::prelude::*;

use crate::api::teams::{list_my_teams, CreateTeam};
use crate::components::{action_error, ErrorBox, BUTTON, CARD, INPUT};

#[component]
pub fn TeamsPage() -> impl IntoView {
    let create = ServerAction::<CreateTeam>::new();
    let error = action_error(create);
    let teams = Resource::new(move || create.version().get(), |_| list_my_teams());
    view! {
        <leptos_meta::Title text="Teams · Rhone"/>
        <h1 class="mb-4 text-2xl font-semibold">"Teams"</h1>
        <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading teams…"</p> }>
            {move || Suspend::new(async move {
                match teams.await {
                    Ok(list) => view! {
                        <ul class="mb-4 divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="team-list">
                            {list.into_iter().map(|t| view! {
                                <li class="flex items-center gap-3 px-4 py-3">
                                    <a class="font-medium underline" href=format!("/t/{}", t.team.slug) data-testid=format!("team-{}", t.team.slug)>
                                        {if t.team.personal { "Personal".to_string() } else { t.team.name.clone() }}
                                    </a>
                                    <span class="text-xs text-gray-500">{t.team.slug}</span>
                                    <span class="ml-auto rounded bg-gray-100 px-2 py-0.5 text-xs">{t.role.as_str()}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Suspense>
        <section class=format!("{CARD} max-w-md space-y-3")>
            <h2 class="font-semibold">"New team"</h2>
            <ErrorBox error/>
            <ActionForm action=create attr:class="flex flex-wrap items-end gap-2">
                <input name="name" required placeholder="Acme" class=format!("{INPUT} flex-1") data-testid="team-name"/>
                <button type="submit" class=BUTTON data-testid="create-team">"Create team"</button>
            </ActionForm>
        </section>
    }
}
