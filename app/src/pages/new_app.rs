//! `/apps/new` and `/t/:team/apps/new`: create an app from a Git repository (in the team of the URL,
//! else your personal team); on success the server redirects to its page.

use leptos::prelude::*;

use crate::api::apps::CreateApp;
use crate::components::form::{Field, SelectField};
use crate::components::{action_error, ErrorBox, BUTTON, CARD};

/// The runtime choices of a new app; limits, replicas and timeouts are on the app's settings.
const RUNTIME_CHOICES: [(&str, &str); 3] = [("auto", "Installation default (auto)"), ("process", "Process"), ("docker", "Docker")];

#[component]
pub fn NewAppPage() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let error = action_error(create);
    let params = leptos_router::hooks::use_params_map();
    let team = move || params.read().get("team").unwrap_or_default();
    view! {
        <h1 class="mb-4 text-2xl font-semibold">"New app"</h1>
        <ActionForm action=create attr:class=format!("{CARD} space-y-4 max-w-2xl") attr:data-testid="new-app-form">
            <input type="hidden" name="team" value=team/>
            <ErrorBox error/>
            <Field name="name" label="Name" error required=true placeholder="My app"
                help="The app's address is derived from it: my-app.<your domain>."/>
            <Field name="repo_url" label="Repository URL" error required=true
                placeholder="https://github.com/you/app.git" help="https://, ssh://, git@host:path or an absolute path on this server."/>
            <div class="grid gap-4 sm:grid-cols-2">
                <Field name="branch" label="Branch" error placeholder="default branch"/>
                <Field name="root_dir" label="Root directory" error placeholder="." help="Where the app lives inside the repository."/>
                <Field name="build_command" label="Build command" error placeholder="detected"/>
                <Field name="start_command" label="Start command" error placeholder="detected"/>
                <Field name="health_check_path" label="Health check path" error placeholder="/"/>
                <SelectField name="runtime" label="Runtime" error value="auto" options=RUNTIME_CHOICES.to_vec()
                    help="Docker runs the app in a container; auto picks Docker when the server has an engine."/>
            </div>
            <button type="submit" class=BUTTON data-testid="create-app" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Creating…" } else { "Create app" }}
            </button>
        </ActionForm>
    }
}
