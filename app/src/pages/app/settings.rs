//! The app settings form and the delete button.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::apps::{DeleteApp, UpdateApp};
use crate::components::browser::confirm;
use crate::components::form::Field;
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, CARD};


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
                <ErrorBox error/>
                <div class="grid gap-4 sm:grid-cols-2">
                    <Field name="name" label="Name" error value=a.name required=true/>
                    <Field name="repo_url" label="Repository URL" error value=a.repo_url required=true/>
                    <Field name="branch" label="Branch" error value=a.branch placeholder="default branch"/>
                    <Field name="root_dir" label="Root directory" error value=a.root_dir/>
                    <Field name="build_command" label="Build command" error value=a.build_command.unwrap_or_default() placeholder="detected"/>
                    <Field name="start_command" label="Start command" error value=a.start_command.unwrap_or_default() placeholder="detected"/>
                    <Field name="health_check_path" label="Health check path" error value=a.health_check_path/>
                </div>
                <super::run_settings::RunFields a=run error/>
                <div class="flex items-center gap-3">
                    <button type="submit" class=BUTTON data-testid="save-settings" disabled=move || update.pending().get()>"Save settings"</button>
                    {move || saved().then(|| view! { <span class="text-sm text-green-700">"Saved. Deploy to apply."</span> })}
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
    let on_delete = move |_| {
        if confirm(&format!("Delete the app \"{slug}\"? It is stopped and its deployments, logs and variables are removed.")) {
            delete.dispatch(DeleteApp { slug: slug.clone() });
        }
    };
    view! {
        <section class=format!("{CARD} space-y-2 border-red-200")>
            <h2 class="font-semibold text-red-800">"Danger zone"</h2>
            <ErrorBox error/>
            <button class=BUTTON_DANGER data-testid="delete-app" on:click=on_delete disabled=move || delete.pending().get()>"Delete app"</button>
        </section>
    }
}
