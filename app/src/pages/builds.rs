//! `/builds`: the build queue — deployments in their build phase, then those waiting for a build
//! slot (or a deploy worker), in the order they will build. Refreshed every few seconds while it
//! is not empty.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::builds::list_builds;
use crate::components::fmt::datetime;
use crate::components::status::StatusBadge;
use wire::QueueState;
use crate::components::{ErrorBox, BUTTON_GHOST};
use crate::types::QueuedBuild;

const POLL_EVERY: Duration = Duration::from_secs(3);

#[component]
pub fn BuildsPage() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let builds = Resource::new(move || tick.get(), |_| list_builds());
    let scheduled = StoredValue::new(false);
    Effect::new(move |_| {
        let busy = builds.get().and_then(Result::ok).is_some_and(|l| !l.is_empty());
        if busy && !scheduled.get_value() {
            scheduled.set_value(true);
            set_timeout(
                move || {
                    scheduled.try_set_value(false);
                    tick.try_update(|t| *t = t.wrapping_add(1));
                },
                POLL_EVERY,
            );
        }
    });
    view! {
        <leptos_meta::Title text="Builds · Rhone"/>
        <div class="mb-4 flex items-center justify-between gap-2">
            <h1 class="text-2xl font-semibold">"Builds"</h1>
            <button type="button" class=BUTTON_GHOST on:click=move |_| tick.update(|t| *t = t.wrapping_add(1))>"Refresh"</button>
        </div>
        <p class="mb-3 text-sm text-gray-600">"Builds run a few at a time so serving apps keep their CPU; the others wait here in order."</p>
        <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading builds…"</p> }>
            {move || Suspend::new(async move {
                match builds.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="rounded-lg border border-dashed border-gray-300 bg-white p-6 text-center text-gray-600" data-testid="no-builds">
                            "Nothing is building or waiting."
                        </p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ol class="divide-y divide-gray-200 rounded-lg border border-gray-200 bg-white" data-testid="build-queue">
                            {list.into_iter().map(row).collect_view()}
                        </ol>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn row(b: QueuedBuild) -> impl IntoView {
    let d = b.deployment;
    let href = format!("/apps/{}", d.app_slug);
    let wait = match (b.state, b.ahead) {
        (QueueState::Building, _) => String::new(),
        (_, 0) => "next".to_string(),
        (_, n) => format!("{n} ahead"),
    };
    let state = b.state.as_str();
    view! {
        <li class="flex flex-wrap items-center gap-x-3 gap-y-1 px-4 py-3" data-testid=format!("build-{}", d.id) data-state=state>
            <span class="w-6 text-xs text-gray-500">{b.position + 1}</span>
            <A href=href attr:class="font-medium underline">{d.app_slug.clone()}</A>
            <span class="text-xs text-gray-500">{format!("#{} · {}", d.id, d.git_ref)}</span>
            <StatusBadge state=Some(b.state)/>
            <span class="text-xs text-gray-500">{wait}</span>
            <span class="ml-auto text-xs text-gray-500">{datetime(d.created_at)}</span>
        </li>
    }
}
