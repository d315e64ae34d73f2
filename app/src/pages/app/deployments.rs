//! The deploy form, the deployments table and the state they share with the build-log panel.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::apps::{RestartApp, StartApp, StopApp};
use crate::api::deployments::{list_deployments, CancelDeployment, Deploy, Rollback, PAGE_SIZE};
use crate::components::browser::confirm;
use crate::components::clock::Elapsed;
use crate::components::fmt::{datetime, duration};
use crate::components::status::StatusBadge;
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, BUTTON_GHOST, CARD, INPUT};
use crate::error::AppError;
use crate::types::Deployment;
use wire::{DeploymentKind, DeploymentStatus, Stage};

const POLL_EVERY: Duration = Duration::from_secs(2);

/// The deployments of one app: the shown page, the deployment whose build log is shown, and the
/// actions that change them. The list is refetched every [`POLL_EVERY`] while one is in progress.
#[derive(Clone, Copy)]
pub struct Deployments {
    before: RwSignal<Option<i64>>,
    tick: RwSignal<u32>,
    selected: RwSignal<Option<i64>>,
    /// Set by an effect (not derived from the resource) so that nothing outside the table's
    /// `Transition` reads the resource during hydration.
    newest: RwSignal<Option<i64>>,
    log_url: Memo<Option<String>>,
    list: Resource<Result<Vec<Deployment>, AppError>>,
    pub deploy: ServerAction<Deploy>,
    cancel: ServerAction<CancelDeployment>,
    rollback: ServerAction<Rollback>,
    pub restart: ServerAction<RestartApp>,
    pub stop: ServerAction<StopApp>,
    pub start: ServerAction<StartApp>,
}

impl Deployments {
    pub fn new(slug: Memo<String>) -> Deployments {
        let (deploy, cancel, rollback) = (ServerAction::new(), ServerAction::new(), ServerAction::new());
        let (restart, stop, start) = (ServerAction::new(), ServerAction::new(), ServerAction::new());
        // `?deployment=<id>` (the link in a GitHub commit status) opens that deployment's log
        let linked = leptos_router::hooks::use_query_map().get_untracked().get("deployment").and_then(|v| v.parse::<i64>().ok());
        let (before, tick, selected) = (RwSignal::new(None), RwSignal::new(0u32), RwSignal::new(linked));
        let list = Resource::new(
            move || {
                let actions = [deploy.version().get(), cancel.version().get(), rollback.version().get(), restart.version().get(), stop.version().get(), start.version().get()];
                (slug.get(), before.get(), tick.get(), actions)
            },
            |(slug, before, ..)| list_deployments(slug, before),
        );
        Effect::new(move |prev: Option<String>| {
            let s = slug.get();
            if prev.is_some_and(|p| p != s) {
                selected.set(None);
                before.set(None);
            }
            s
        });
        let newest = RwSignal::new(None);
        Effect::new(move |_| {
            if before.get().is_none() {
                if let Some(Ok(l)) = list.get() {
                    newest.set(l.first().map(|d| d.id));
                }
            }
        });
        let shown = move || selected.get().or(newest.get());
        let log_url = Memo::new(move |_| shown().map(|id| format!("/api/v1/deployments/{id}/logs")));
        let d = Deployments { before, tick, selected, newest, log_url, list, deploy, cancel, rollback, restart, stop, start };
        d.follow_new(move || deploy.value().get());
        d.follow_new(move || rollback.value().get());
        d.follow_new(move || restart.value().get());
        d.follow_new(move || start.value().get());
        d.poll_while_in_progress();
        d
    }

    /// After a deploy or rollback: show the first page and the new deployment's build log.
    fn follow_new(self, value: impl Fn() -> Option<Result<Deployment, AppError>> + 'static) {
        Effect::new(move |_| {
            if let Some(Ok(d)) = value() {
                self.selected.set(Some(d.id));
                self.before.set(None);
            }
        });
    }

    fn poll_while_in_progress(self) {
        let scheduled = StoredValue::new(false);
        Effect::new(move |_| {
            let busy = self.list.get().and_then(Result::ok).is_some_and(|l| l.iter().any(|d| d.status.in_progress()));
            if busy && !scheduled.get_value() {
                scheduled.set_value(true);
                set_timeout(
                    move || {
                        scheduled.try_set_value(false);
                        self.refresh();
                    },
                    POLL_EVERY,
                );
            }
        });
    }

    pub fn refresh(self) {
        self.tick.try_update(|t| *t = t.wrapping_add(1));
    }

    /// The deployment whose build log is shown: the selected one, else the newest. (A plain read, not
    /// a derived signal: rows are rebuilt on every refetch and must not own reactive values.)
    pub fn shown(self) -> Option<i64> {
        self.selected.get().or(self.newest.get())
    }

    pub fn build_log_url(self) -> Signal<Option<String>> {
        self.log_url.into()
    }

    fn error(self) -> Signal<Option<AppError>> {
        let (a, b, c) = (action_error(self.deploy), action_error(self.cancel), action_error(self.rollback));
        Signal::derive(move || a.get().or_else(|| b.get()).or_else(|| c.get()))
    }

    /// The error of the last restart, stop or start, if it failed.
    pub fn control_error(self) -> Signal<Option<AppError>> {
        let (a, b, c) = (action_error(self.restart), action_error(self.stop), action_error(self.start));
        Signal::derive(move || a.get().or_else(|| b.get()).or_else(|| c.get()))
    }
}

#[component]
pub fn DeployForm(slug: String, deps: Deployments) -> impl IntoView {
    let pending = deps.deploy.pending();
    view! {
        <ActionForm action=deps.deploy attr:class=format!("{CARD} flex flex-wrap items-center gap-2")>
            <input type="hidden" name="slug" value=slug/>
            <input name="git_ref" placeholder="branch, tag or commit (optional)" data-testid="deploy-ref"
                class=format!("{INPUT} flex-1 min-w-0 sm:max-w-xs")/>
            <button type="submit" class=BUTTON data-testid="deploy-button" disabled=move || pending.get()>
                {move || if pending.get() { "Queuing…" } else { "Deploy" }}
            </button>
        </ActionForm>
    }
}

/// `can_deploy`: offer cancel and rollback (members and up; the server decides again).
#[component]
pub fn DeploymentsTable(
    deps: Deployments,
    can_deploy: bool,
    /// Only the newest deployment, with this link to the rest (the overview).
    #[prop(optional, into)]
    all_href: Option<String>,
) -> impl IntoView {
    let latest_only = all_href.is_some();
    let all_href = StoredValue::new(all_href.unwrap_or_default());
    let th = "px-3 py-2 text-left text-xs font-medium uppercase tracking-wide text-gray-500";
    view! {
        <section class=format!("{CARD} space-y-2")>
            <h2 class="font-semibold">{if latest_only { "Latest deployment" } else { "Deployments" }}</h2>
            <ErrorBox error=deps.error()/>
            <Transition fallback=|| view! { <p class="text-sm text-gray-500">"Loading deployments…"</p> }>
                {move || Suspend::new(async move {
                    match deps.list.await {
                        Ok(list) if list.is_empty() && deps.before.get_untracked().is_none() => view! {
                            <p class="text-sm text-gray-500" data-testid="no-deployments">"Not deployed yet. Press Deploy to build and start it."</p>
                        }.into_any(),
                        Ok(mut list) => {
                            if latest_only {
                                list.truncate(1);
                            }
                            let more = !latest_only && list.len() as i64 >= PAGE_SIZE;
                            let oldest = list.last().map(|d| d.id);
                            view! {
                                <div class="-mx-4 overflow-x-auto sm:mx-0">
                                    <table class="min-w-full divide-y divide-gray-200 text-sm" data-testid="deployments">
                                        <thead><tr>
                                            <th class=th>"Status"</th><th class=th>"Commit"</th>
                                            <th class=format!("{th} hidden sm:table-cell")>"Duration"</th>
                                            <th class=format!("{th} hidden sm:table-cell")>"Created"</th><th class=th></th>
                                        </tr></thead>
                                        <tbody class="divide-y divide-gray-100">
                                            {list.into_iter().map(|d| row(d, deps, can_deploy)).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                {(!latest_only).then(|| view! { <Pager deps more oldest/> })}
                                {latest_only.then(|| view! { <A href=all_href.get_value() attr:class="text-sm text-blue-700 underline" attr:data-testid="all-deployments">"All deployments"</A> })}
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Pager(deps: Deployments, more: bool, oldest: Option<i64>) -> impl IntoView {
    let paged = deps.before.get_untracked().is_some();
    view! {
        <div class="flex gap-2">
            {paged.then(|| view! { <button class=BUTTON_GHOST on:click=move |_| deps.before.set(None)>"Newest"</button> })}
            {more.then(|| view! { <button class=BUTTON_GHOST on:click=move |_| deps.before.set(oldest)>"Older"</button> })}
        </div>
    }
}

/// The pipeline's stages with the current one marked, and a running timer.
fn progress(stage: Option<Stage>, created_at: i64) -> impl IntoView {
    let current = stage.unwrap_or(Stage::Queued);
    let steps = Stage::ALL.into_iter().filter(|s| *s != Stage::Queued || current == Stage::Queued).enumerate().map(|(i, s)| {
        let class = match s.cmp(&current) {
            std::cmp::Ordering::Less => "text-green-700",
            std::cmp::Ordering::Equal => "font-semibold text-amber-700",
            std::cmp::Ordering::Greater => "text-gray-500",
        };
        view! { <li class=class data-current=(s == current).to_string()>{(i > 0).then_some("→ ")}{s.label()}</li> }
    });
    view! {
        <div class="mt-1 flex flex-wrap items-center gap-x-2 text-xs" data-testid="deployment-progress" data-stage=current.as_str() aria-live="polite">
            <ol class="flex flex-wrap gap-x-1">{steps.collect_view()}</ol>
            <Elapsed since=created_at testid="deployment-timer"/>
        </div>
    }
}

/// What became of the deployment's commit status on GitHub (posting never holds a deploy back).
fn github_status(g: wire::GitHubStatus) -> impl IntoView {
    match g.error {
        Some(e) => view! {
            <div class="mt-1 text-xs text-amber-800" data-testid="github-status">
                "GitHub commit status not posted: "{e}{g.state.map(|s| format!(" (last posted: {s})"))}
            </div>
        }
        .into_any(),
        None => view! {
            <div class="text-xs text-gray-500" data-testid="github-status">"GitHub commit status: "{g.state.unwrap_or_default()}</div>
        }
        .into_any(),
    }
}

fn row(d: Deployment, deps: Deployments, can_deploy: bool) -> impl IntoView {
    let id = d.id;
    let release = d.release();
    let can_rollback = can_deploy && d.rollback_available && d.status != DeploymentStatus::Live;
    let can_cancel = can_deploy && d.status.in_progress();
    let on_rollback = move |_| {
        if confirm(&format!("Roll back to {release} (#{id})? Its build replaces the live version, with the current environment variables.")) {
            deps.rollback.dispatch(Rollback { id });
        }
    };
    let what = d.commit_message.clone().unwrap_or_else(|| format!("ref {}", d.git_ref));
    view! {
        <tr data-testid=format!("deployment-row-{id}") data-status=d.status.as_str()
            class=("bg-blue-50", move || deps.shown() == Some(id))>
            <td class="px-3 py-2 align-top whitespace-nowrap">
                <StatusBadge state=Some(d.status) testid=format!("deployment-status-{id}")/>
                <div class="text-xs text-gray-500"><span class="font-medium text-gray-700" data-testid="release">{d.release()}</span>" · #"{id}</div>
            </td>
            <td class="px-3 py-2 align-top">
                <code class="mr-1 text-xs text-gray-600">{d.short_sha()}</code>
                <span class="break-words">{what}</span>
                {match (d.kind, d.rollback_of) {
                    (DeploymentKind::Rollback, Some(r)) => Some(format!("rollback to the build of #{r}")),
                    (DeploymentKind::Restart, Some(r)) => Some(format!("restart of the build of #{r} (no rebuild)")),
                    _ => None,
                }.map(|what| view! { <div class="text-xs text-gray-500" data-testid="deployment-kind">{what}</div> })}
                {d.commit_author.clone().map(|a| view! { <div class="text-xs text-gray-500">"by "{a}</div> })}
                {d.status.in_progress().then(|| progress(d.stage, d.created_at))}
                {d.error.clone().filter(|_| d.status == DeploymentStatus::Failed).map(|e| {
                    let at = d.stage.filter(|s| *s != Stage::Queued).map(|s| format!("failed during {}: ", s.label())).unwrap_or_default();
                    view! {
                        <div class="mt-1 rounded border border-red-200 bg-red-50 px-2 py-1 text-xs text-red-800" data-testid="deployment-error">
                            {at}{e}
                            <span class="text-red-700">" — the build log below has the details."</span>
                        </div>
                    }
                })}
                {d.error.clone().filter(|_| d.status != DeploymentStatus::Failed).map(|e| view! { <div class="text-xs text-gray-500">{e}</div> })}
                {d.github_status.clone().map(github_status)}
            </td>
            <td class="hidden px-3 py-2 align-top whitespace-nowrap sm:table-cell">{d.duration_ms().map(duration)}</td>
            <td class="hidden px-3 py-2 align-top whitespace-nowrap text-gray-500 sm:table-cell">{datetime(d.created_at)}</td>
            <td class="px-3 py-2 align-top">
                <div class="flex flex-wrap justify-end gap-1">
                    <button class=BUTTON_GHOST on:click=move |_| deps.selected.set(Some(id)) data-testid="show-logs">"Logs"</button>
                    {can_cancel.then(|| view! {
                        <button class=BUTTON_DANGER data-testid="cancel-deployment"
                            on:click=move |_| { deps.cancel.dispatch(CancelDeployment { id }); }>"Cancel"</button>
                    })}
                    {can_rollback.then(|| view! {
                        <button class=BUTTON_GHOST on:click=on_rollback data-testid="rollback">"Rollback"</button>
                    })}
                </div>
            </td>
        </tr>
    }
}
