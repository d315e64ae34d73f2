//! `/t/:team/apps/:slug` (and `/apps/:slug`): one app — its live URL, deploys, deployments, build and
//! runtime logs, environment variables and settings, each offered only to the roles that may use it.

mod credentials;
mod deployments;
mod dotenv;
mod env_editor;
mod run_settings;
mod settings;
mod status;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::apps::{get_app, get_app_status};
use crate::api::session::get_site_info;
use crate::components::browser::protocol;
use crate::components::log_panel::LogPanel;
use crate::components::ErrorBox;
use crate::error::AppError;
use crate::types::{AppAccess, AppOverview, SiteInfo};
use deployments::{DeployForm, Deployments, DeploymentsTable};

#[component]
pub fn AppPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    // Every resource is created here, outside the async blocks below, so that the server and the
    // browser create them in the same order (hydration matches them by order).
    let app = Resource::new(move || slug.get(), get_app);
    let site = Resource::new(|| (), |_| get_site_info());
    let deps = Deployments::new(slug);
    let status = Resource::new(move || slug.get(), get_app_status);
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading app…"</p> }>
            {move || Suspend::new(async move {
                match app.await {
                    Ok(a) => view! { <AppView access=a deps site status/> }.into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AppView(access: AppAccess, deps: Deployments, site: Resource<Result<SiteInfo, AppError>>, status: Resource<Result<AppOverview, AppError>>) -> impl IntoView {
    let AppAccess { app, team, team_name, role } = access;
    let slug = app.slug.clone();
    let info = RwSignal::new(app);
    let (can_deploy, can_manage) = (role.can_deploy(), role.can_manage());
    let runtime_url = Signal::stored(Some(format!("/api/v1/apps/{slug}/logs")));
    let build_subtitle = Signal::derive(move || deps.shown().map(|id| format!("deployment #{id}")).unwrap_or_default());
    let on_end = Callback::new(move |_status: String| {
        deps.refresh();
        status.refetch();
    });
    view! {
        <div class="space-y-4">
            <nav class="text-sm text-gray-500" data-testid="app-team">
                <a class="underline" href=format!("/t/{team}")>{team_name}</a>
                " · your role: " <span data-testid="app-role">{role.as_str()}</span>
            </nav>
            <Header info site/>
            <status::StatusPanel status deps can_operate=can_deploy/>
            {can_deploy.then(|| view! { <DeployForm slug=slug.clone() deps/> })}
            <DeploymentsTable deps can_deploy/>
            <div class="grid gap-4 lg:grid-cols-2">
                <LogPanel title="Build log" testid="build-log" url=deps.build_log_url() on_end subtitle=build_subtitle/>
                <LogPanel title="Runtime log" testid="runtime-log" url=runtime_url subtitle="the live version"/>
            </div>
            {can_deploy.then(|| view! { <env_editor::EnvEditor slug=slug.clone() editable=can_manage restart=deps.restart/> })}
            {can_manage.then(|| view! {
                <settings::Settings info/>
                <credentials::RepoAccess slug=slug.clone()/>
                <settings::DangerZone slug=slug.clone()/>
            })}
        </div>
    }
}

#[component]
fn Header(info: RwSignal<wire::App>, site: Resource<Result<SiteInfo, AppError>>) -> impl IntoView {
    let proto = RwSignal::new(String::from("http:"));
    Effect::new(move |_| proto.set(protocol()));
    let slug = info.with_untracked(|a| a.slug.clone());
    view! {
        <header class="space-y-1">
            <h1 class="text-2xl font-semibold break-words" data-testid="app-name">{move || info.with(|a| a.name.clone())}</h1>
            <p class="text-sm text-gray-500 break-all">{move || info.with(|a| a.repo_url.clone())}</p>
            <p class="text-sm text-gray-500" data-testid="app-runtime">{move || info.with(wire::App::runtime_summary)}</p>
            <Suspense>
                {move || {
                    let slug = slug.clone();
                    Suspend::new(async move {
                        site.await.ok().map(|s| {
                            let url = Signal::derive(move || s.app_url(&proto.get(), &slug));
                            view! {
                                <a href=url target="_blank" rel="noopener" data-testid="live-url"
                                    class="text-sm font-medium text-blue-700 underline break-all">{url}</a>
                            }
                        })
                    })
                }}
            </Suspense>
        </header>
    }
}
