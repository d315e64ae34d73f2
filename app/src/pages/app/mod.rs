//! `/t/:team/apps/:slug` (and `/apps/:slug`): one app. A header with its state, URL (open and copy),
//! running release, runtime and stack, and Deploy, Restart, Stop/Start; then tabs with their own URLs:
//! Overview (status, deploy, the latest deployment and its build log), Deployments, Logs (runtime),
//! Environment and Settings, each offered only to the roles that may use it (the server decides
//! every action again).

mod credentials;
mod deployments;
mod domains;
mod dotenv;
mod forge_hook;
mod env_editor;
mod run_settings;
mod settings;
mod status;

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::apps::{get_app, get_app_status, RestartApp, StartApp, StopApp};
use crate::api::deployments::Deploy;
use crate::api::session::get_site_info;
use crate::components::browser::{confirm, copy_text, protocol};
use crate::components::log_panel::LogPanel;
use crate::components::status::StatusBadge;
use crate::components::{ErrorBox, BUTTON, BUTTON_DANGER, BUTTON_GHOST, CARD};
use crate::error::AppError;
use crate::types::{AppAccess, AppOverview, SiteInfo};
use deployments::{DeployForm, Deployments, DeploymentsTable};
use wire::{AppState, Role};

/// What every tab of the app page shares.
#[derive(Clone)]
struct AppCtx {
    slug: String,
    /// `/t/{team}/apps/{slug}`: the overview; the other tabs are below it.
    base: String,
    role: Role,
    info: RwSignal<wire::App>,
    deps: Deployments,
    status: Resource<Result<AppOverview, AppError>>,
}

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
                    Err(e) => view! { <NotFound error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// An app that cannot be shown: the reason, and the way back.
#[component]
fn NotFound(error: AppError) -> impl IntoView {
    view! {
        <div class="space-y-3" data-testid="app-missing">
            <ErrorBox error=Signal::stored(Some(error))/>
            <A href="/" attr:class="text-sm text-blue-700 underline">"Back to your apps"</A>
        </div>
    }
}

#[component]
fn AppView(access: AppAccess, deps: Deployments, site: Resource<Result<SiteInfo, AppError>>, status: Resource<Result<AppOverview, AppError>>) -> impl IntoView {
    let AppAccess { app, team, team_name, role } = access;
    let slug = app.slug.clone();
    let info = RwSignal::new(app);
    let base = format!("/t/{team}/apps/{slug}");
    provide_context(AppCtx { slug: slug.clone(), base: base.clone(), role, info, deps, status });
    // the status follows each control, and each deployment's end
    Effect::new(move |_| {
        let versions = (deps.restart.version().get(), deps.stop.version().get(), deps.start.version().get(), deps.deploy.version().get());
        if versions != (0, 0, 0, 0) {
            status.refetch();
        }
    });
    let interactive = RwSignal::new(false);
    Effect::new(move |_| interactive.set(true));
    view! {
        <div class="space-y-4" data-testid="app-page" data-interactive=move || interactive.get().to_string()>
            <leptos_meta::Title text=move || format!("{} · Rhone", info.with(|a| a.name.clone()))/>
            <nav class="text-sm text-gray-500" data-testid="app-team">
                <a class="underline" href=format!("/t/{team}")>{team_name}</a>
                " · your role: " <span data-testid="app-role">{role.as_str()}</span>
            </nav>
            <Header info site status deps can_operate=role.can_deploy()/>
            <CertificateWarnings slug=slug.clone()/>
            <Tabs base role/>
            <Outlet/>
        </div>
    }
}

/// A banner for each custom domain whose certificate has expired or could not be renewed: a
/// site about to break for its visitors is said on every page of the app, not only in settings.
#[component]
fn CertificateWarnings(slug: String) -> impl IntoView {
    let domains = Resource::new(move || slug.clone(), crate::api::domains::app_domains);
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let warnings: Vec<String> = domains.await.unwrap_or_default().into_iter().filter_map(|d| d.certificate_warning).collect();
                (!warnings.is_empty()).then(|| view! {
                    <div class="rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900" role="alert" data-testid="certificate-warnings">
                        {warnings.into_iter().map(|w| view! { <p>{w}</p> }).collect_view()}
                    </div>
                })
            })}
        </Suspense>
    }
}

#[component]
fn Tabs(base: String, role: Role) -> impl IntoView {
    let location = use_location();
    let tabs: Vec<(&str, &str, &str, bool)> = vec![
        ("", "Overview", "tab-overview", true),
        ("/deployments", "Deployments", "tab-deployments", true),
        ("/logs", "Logs", "tab-logs", true),
        ("/env", "Environment", "tab-env", role.can_deploy()),
        ("/settings", "Settings", "tab-settings", role.can_manage()),
    ];
    let links = tabs.into_iter().filter(|t| t.3).map(|(suffix, label, testid, _)| {
        let href = format!("{base}{suffix}");
        let target = href.clone();
        let current = Memo::new(move |_| location.pathname.get().trim_end_matches('/') == target);
        view! {
            <li>
                <A href=href attr:data-testid=testid
                    attr:aria-current=move || current.get().then_some("page")
                    attr:class=move || if current.get() {
                        "block border-b-2 border-blue-600 px-3 py-2 text-sm font-medium text-blue-700"
                    } else {
                        "block border-b-2 border-transparent px-3 py-2 text-sm text-gray-600 hover:text-gray-900"
                    }>
                    {label}
                </A>
            </li>
        }
    });
    view! {
        <nav aria-label="App sections" class="-mx-4 overflow-x-auto border-b border-gray-200 px-4 sm:mx-0 sm:px-0">
            <ul class="flex gap-1 whitespace-nowrap">{links.collect_view()}</ul>
        </nav>
    }
}

#[component]
fn Header(
    info: RwSignal<wire::App>,
    site: Resource<Result<SiteInfo, AppError>>,
    status: Resource<Result<AppOverview, AppError>>,
    deps: Deployments,
    can_operate: bool,
) -> impl IntoView {
    let proto = RwSignal::new(String::from("http:"));
    Effect::new(move |_| proto.set(protocol()));
    let slug = info.with_untracked(|a| a.slug.clone());
    let copied = RwSignal::new(false);
    view! {
        <header class="space-y-2">
            <div class="flex flex-wrap items-center gap-2">
                <h1 class="text-2xl font-semibold break-words" data-testid="app-name">{move || info.with(|a| a.name.clone())}</h1>
                {move || info.with(|a| a.pr_number).map(|n| view! {
                    <p class="text-xs text-gray-600" data-testid="preview-of">{format!("Preview of pull request #{n}: removed when the pull request closes")}</p>
                })}
                <Transition>
                    {move || Suspend::new(async move {
                        status.await.ok().map(|s| view! {
                            <span data-testid="app-state" data-state=s.item.state.as_str() aria-live="polite">
                                <StatusBadge state=Some(s.item.state)/>
                            </span>
                        })
                    })}
                </Transition>
                {can_operate.then(|| view! {
                    <div class="ml-auto flex flex-wrap gap-1">
                        <Transition>
                            {move || Suspend::new(async move { status.await.ok().map(|s| view! { <Controls status=s deps/> }) })}
                        </Transition>
                    </div>
                })}
            </div>
            <ErrorBox error=deps.control_error()/>
            <Suspense>
                {move || {
                    let slug = slug.clone();
                    Suspend::new(async move {
                        site.await.ok().map(|s| {
                            let url = Signal::derive(move || s.app_url(&proto.get(), &slug));
                            view! {
                                <p class="flex flex-wrap items-center gap-2">
                                    <a href=url target="_blank" rel="noopener" data-testid="live-url"
                                        class="text-sm font-medium text-blue-700 underline break-all">{url}</a>
                                    <button type="button" class=BUTTON_GHOST data-testid="copy-url"
                                        on:click=move |_| { copy_text(&url.get_untracked()); copied.set(true); }>
                                        {move || if copied.get() { "Copied" } else { "Copy URL" }}
                                    </button>
                                </p>
                            }
                        })
                    })
                }}
            </Suspense>
            <p class="text-sm text-gray-500 break-all">{move || info.with(|a| a.repo_url.clone())}</p>
            <p class="text-sm text-gray-500">
                <span data-testid="app-runtime">{move || info.with(wire::App::runtime_summary)}</span>
                <Transition>
                    {move || Suspend::new(async move {
                        status.await.ok().and_then(|s| s.item.live).map(|d| {
                            let what = [Some(d.release()), Some(d.short_sha()).filter(|s| !s.is_empty()), d.stack.clone()]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" · ");
                            view! { " · running " <span data-testid="header-release">{what}</span> }
                        })
                    })}
                </Transition>
            </p>
        </header>
    }
}

/// Deploy (the app's branch), Restart (running or crashed apps), Stop (apps in service), Start (stopped apps).
#[component]
fn Controls(status: AppOverview, deps: Deployments) -> impl IntoView {
    let (st, slug, has_live) = (status.item.state, status.item.app.slug, status.item.live.is_some());
    let busy = Signal::derive(move || {
        deps.restart.pending().get() || deps.stop.pending().get() || deps.start.pending().get() || deps.deploy.pending().get()
    });
    let (slug_deploy, slug_restart, slug_stop, slug_start) = (slug.clone(), slug.clone(), slug.clone(), slug);
    let deploy = (st != AppState::Stopped).then(|| view! {
        <button type="button" class=BUTTON data-testid="deploy-now" disabled=busy
            on:click=move |_| { deps.deploy.dispatch(Deploy { slug: slug_deploy.clone(), git_ref: String::new() }); }>
            "Deploy"
        </button>
    });
    let restart = (has_live && matches!(st, AppState::Running | AppState::Crashed)).then(|| view! {
        <button type="button" class=BUTTON_GHOST data-testid="restart-app" disabled=busy
            on:click=move |_| { deps.restart.dispatch(RestartApp { slug: slug_restart.clone() }); }>
            "Restart"
        </button>
    });
    let stop = (st != AppState::Stopped && st != AppState::NotDeployed).then(|| view! {
        <button type="button" class=BUTTON_DANGER data-testid="stop-app" disabled=busy
            on:click=move |_| {
                if confirm(&format!("Stop {slug_stop}? It stops serving until you start it again.")) {
                    deps.stop.dispatch(StopApp { slug: slug_stop.clone() });
                }
            }>
            "Stop"
        </button>
    });
    let start = (st == AppState::Stopped).then(|| view! {
        <button type="button" class=BUTTON_GHOST data-testid="start-app" disabled=busy
            on:click=move |_| { deps.start.dispatch(StartApp { slug: slug_start.clone() }); }>
            "Start"
        </button>
    });
    view! { {deploy} {restart} {stop} {start} }
}

fn ctx() -> AppCtx {
    expect_context::<AppCtx>()
}

/// The build log of the deployment the table shows (the selected one, else the newest).
#[component]
fn BuildLog() -> impl IntoView {
    let AppCtx { deps, status, .. } = ctx();
    let subtitle = Signal::derive(move || deps.shown().map(|id| format!("deployment #{id}")).unwrap_or_default());
    let on_end = Callback::new(move |_status: String| {
        deps.refresh();
        status.refetch();
    });
    view! { <LogPanel title="Build log" testid="build-log" url=deps.build_log_url() on_end subtitle/> }
}

/// `…/apps/:slug`: the status, a deploy, the latest deployment and its build log.
#[component]
pub fn OverviewTab() -> impl IntoView {
    let AppCtx { slug, base, role, deps, status, .. } = ctx();
    view! {
        <div class="space-y-4">
            <status::StatusPanel status/>
            {role.can_deploy().then(|| view! { <DeployForm slug=slug.clone() deps/> })}
            <DeploymentsTable deps can_deploy=role.can_deploy() all_href=format!("{base}/deployments")/>
            <BuildLog/>
        </div>
    }
}

/// `…/deployments`: every deployment (paged), cancel and rollback, and the build log of the one shown.
#[component]
pub fn DeploymentsTab() -> impl IntoView {
    let AppCtx { slug, role, deps, .. } = ctx();
    view! {
        <div class="space-y-4">
            {role.can_deploy().then(|| view! { <DeployForm slug=slug.clone() deps/> })}
            <DeploymentsTable deps can_deploy=role.can_deploy()/>
            <BuildLog/>
        </div>
    }
}

/// `…/logs`: the live version's runtime log.
#[component]
pub fn LogsTab() -> impl IntoView {
    let AppCtx { slug, .. } = ctx();
    let url = Signal::stored(Some(format!("/api/v1/apps/{slug}/logs")));
    view! { <LogPanel title="Runtime log" testid="runtime-log" url subtitle="the live version"/> }
}

/// `…/env`: the environment variables (members see the names; admins change the values).
#[component]
pub fn EnvTab() -> impl IntoView {
    let AppCtx { slug, role, deps, .. } = ctx();
    if !role.can_deploy() {
        return view! { <p class=CARD>"Your role cannot see this app's environment variables."</p> }.into_any();
    }
    view! { <env_editor::EnvEditor slug editable=role.can_manage() restart=deps.restart/> }.into_any()
}

/// `…/settings`: the app's settings, its repository access and its deletion (admins).
#[component]
pub fn SettingsTab() -> impl IntoView {
    let AppCtx { slug, role, info, .. } = ctx();
    if !role.can_manage() {
        return view! { <p class=CARD>"Only the team's admins and owners change an app's settings."</p> }.into_any();
    }
    view! {
        <div class="space-y-4">
            <settings::Settings info/>
            <credentials::RepoAccess slug=slug.clone()/>
            <domains::Domains slug=slug.clone()/>
            <forge_hook::ForgeHook slug=slug.clone()/>
            <settings::DangerZone slug/>
        </div>
    }
    .into_any()
}
