//! `/apps/new` and `/t/:team/apps/new`: create an app from a Git repository (in the team of the URL,
//! else your personal team); on success the server redirects to its page. The slug follows the name
//! (transliterated: `Ünïcödé Äpp` → `unicode-app`) until it is edited, with a preview of the app's
//! address; the repository and branch are asked first, unless "create anyway" is ticked.

use leptos::prelude::*;

use crate::api::apps::CreateApp;
use crate::api::session::get_site_info;
use crate::components::form::{unplaced, CheckField, Field, SelectField};
use crate::components::{action_error, ErrorBox, BUTTON, CARD};
use crate::error::AppError;

/// The runtime choices of a new app; limits, replicas and timeouts are on the app's settings.
const RUNTIME_CHOICES: [(&str, &str); 3] = [("auto", "Installation default (auto)"), ("process", "Process"), ("docker", "Docker")];

/// The fields this form shows (their errors appear next to them, not in the box above).
const FIELDS: &[&str] = &["name", "slug", "repo_url", "branch", "root_dir", "build_command", "start_command", "health_check_path", "runtime"];

#[component]
pub fn NewAppPage() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let error = action_error(create);
    let params = leptos_router::hooks::use_params_map();
    let team = move || params.read().get("team").unwrap_or_default();
    let site = Resource::new(|| (), |_| get_site_info());
    let (name, slug, slug_edited) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(false));
    let (repo_url, branch) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    // the slug follows the name until the user types one
    Effect::new(move |prev: Option<String>| {
        let n = name.get();
        if prev.is_some_and(|p| p != n) && !slug_edited.get_untracked() {
            slug.set(wire::slug::slug_from_name(&n));
        }
        n
    });
    Effect::new(move |prev: Option<String>| {
        let s = slug.get();
        if prev.is_some_and(|p| p != s) && s != wire::slug::slug_from_name(&name.get_untracked()) {
            slug_edited.set(true);
        }
        s
    });
    // set once the page is interactive (the slug follows the name from then on)
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    let repo_doubt = move || matches!(error.get(), Some(AppError::Invalid { field, .. }) if field == "repo_url" || field == "branch");
    view! {
        <leptos_meta::Title text="New app · Rhone"/>
        <h1 class="mb-4 text-2xl font-semibold">"New app"</h1>
        <ActionForm action=create attr:class=format!("{CARD} space-y-4 max-w-2xl") attr:data-testid="new-app-form"
            attr:data-interactive=move || interactive.get().to_string()>
            <input type="hidden" name="team" value=team/>
            <ErrorBox error=unplaced(error, FIELDS)/>
            <div class="grid gap-4 sm:grid-cols-2">
                <Field name="name" label="Name" error required=true placeholder="My app" bind=name/>
                <div class="space-y-1">
                    <Field name="slug" label="Slug" error placeholder="my-app" bind=slug
                        help="Lowercase letters, digits and '-'; it cannot change later."/>
                    <p class="text-xs text-gray-600" data-testid="slug-preview" aria-live="polite">
                        <Transition>
                            {move || Suspend::new(async move {
                                let base = site.await.map(|s| s.base_domain).unwrap_or_default();
                                view! { "Address: " <span class="font-mono">{move || format!("{}.{base}", slug.get())}</span> }
                            })}
                        </Transition>
                    </p>
                </div>
            </div>
            <super::new_app_github::GitHubPickerPanel team=Signal::derive(team) repo_url branch/>
            <Field name="repo_url" label="Repository URL" error required=true bind=repo_url
                placeholder="https://github.com/you/app.git" help="https://, ssh://, git@host:path or an absolute path on this server."/>
            {move || repo_doubt().then(|| view! {
                <CheckField name="anyway" label="Create anyway (the repository could not be checked; a private one needs its credential first)" checked=false/>
            })}
            <div class="grid gap-4 sm:grid-cols-2">
                <Field name="branch" label="Branch" error placeholder="default branch" bind=branch/>
                <Field name="root_dir" label="Root directory" error placeholder="." help="Where the app lives inside the repository."/>
                <Field name="build_command" label="Build command" error placeholder="detected"/>
                <Field name="start_command" label="Start command" error placeholder="detected"/>
                <Field name="health_check_path" label="Health check path" error placeholder="/"/>
                <SelectField name="runtime" label="Runtime" error value="auto" options=RUNTIME_CHOICES.to_vec()
                    help="Docker runs the app in a container; auto picks Docker when the server has an engine."/>
            </div>
            <button type="submit" class=BUTTON data-testid="create-app" disabled=move || create.pending().get()>
                {move || if create.pending().get() { "Checking the repository…" } else { "Create app" }}
            </button>
        </ActionForm>
    }
}
