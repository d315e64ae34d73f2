//! The app settings form and the delete button.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::apps::{DeleteApp, UpdateApp};
use crate::components::form::{unplaced, CheckField, Field};
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, CARD, INPUT};


/// The fields the settings form shows (their errors appear next to them).
const FIELDS: &[&str] = &[
    "name", "repo_url", "branch", "root_dir", "build_command", "start_command", "health_check_path", "runtime", "cpu_limit",
    "memory_limit_mb", "replicas", "drain_timeout_secs", "stop_timeout_secs", "dockerfile_path",
];

#[component]
pub fn Settings(info: RwSignal<wire::App>) -> impl IntoView {
    let update = ServerAction::<UpdateApp>::new();
    let error = action_error(update);
    Effect::new(move |_| {
        if let Some(Ok(a)) = update.value().get() {
            info.set(a);
        }
    });
    let saved = move || matches!(update.value().get(), Some(Ok(_)));
    let a = info.get_untracked();
    let run = a.clone();
    view! {
        <section class=CARD>
            <h2 class="mb-3 font-semibold">"Settings"</h2>
            <ActionForm action=update attr:class="space-y-4" attr:data-testid="settings-form">
                <input type="hidden" name="slug" value=a.slug.clone()/>
                <ErrorBox error=unplaced(error, FIELDS)/>
                <div class="grid gap-4 sm:grid-cols-2">
                    <Field name="name" label="Name" error value=a.name required=true/>
                    <Field name="repo_url" label="Repository URL" error value=a.repo_url required=true/>
                    <Field name="branch" label="Branch" error value=a.branch placeholder="default branch"/>
                    <Field name="root_dir" label="Root directory" error value=a.root_dir/>
                    <Field name="build_command" label="Build command" error value=a.build_command.unwrap_or_default() placeholder="detected"/>
                    <Field name="start_command" label="Start command" error value=a.start_command.unwrap_or_default() placeholder="detected"/>
                    <Field name="health_check_path" label="Health check path" error value=a.health_check_path/>
                </div>
                <h3 class="pt-2 text-sm font-semibold text-gray-800">"Deploys on push"</h3>
                <div class="grid gap-4 sm:grid-cols-2" data-testid="git-settings">
                    <CheckField name="auto_deploy" label="Deploy on push" checked=a.auto_deploy
                        help="A push to the branch deploys the pushed commit (repository webhook)."/>
                    <CheckField name="watch_root_dir" label="Only when the root directory changed" checked=a.watch_root_dir
                        help="Skip pushes that change no file under the root directory (monorepos)."/>
                    <CheckField name="previews" label="Preview deployments for pull requests" checked=a.previews
                        help="Each pull request into the branch runs at pr-<number>-<slug>; closing it removes the preview. Pull requests from forks get none of the variables."/>
                </div>
                <super::run_settings::RunFields a=run error/>
                <div class="flex items-center gap-3">
                    <button type="submit" class=BUTTON data-testid="save-settings" disabled=move || update.pending().get()>"Save settings"</button>
                    {move || saved().then(|| view! { <span class="text-sm text-green-700">"Saved. Restart or deploy to apply."</span> })}
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn DangerZone(slug: String) -> impl IntoView {
    let delete = ServerAction::<DeleteApp>::new();
    let error = action_error(delete);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/", Default::default());
        }
    });
    // deleting asks for the app's slug, typed
    let typed = RwSignal::new(String::new());
    let matches = {
        let slug = slug.clone();
        move || typed.get().trim() == slug
    };
    let matches_for_button = matches.clone();
    let on_delete = move |_| {
        if matches() {
            delete.dispatch(DeleteApp { slug: slug.clone() });
        }
    };
    view! {
        <section class=format!("{CARD} space-y-2 border-red-200")>
            <h2 class="font-semibold text-red-800">"Danger zone"</h2>
            <ErrorBox error/>
            <p class="text-sm text-gray-700">"Deleting the app stops it and removes its deployments, builds, logs and variables. It cannot be undone."</p>
            <label class="block text-sm">
                <span class="mb-1 block font-medium text-gray-700">"Type the app's slug to confirm"</span>
                <input class=INPUT autocomplete="off" data-testid="delete-confirm" prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))/>
            </label>
            <button class=BUTTON_DANGER data-testid="delete-app" on:click=on_delete
                disabled=move || delete.pending().get() || !matches_for_button()>"Delete app"</button>
        </section>
    }
}
