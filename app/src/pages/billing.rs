//! `/t/:team/billing`: the team's plan, its usage against the plan's limits (warned at 80 % and
//! 100 %), the charge projected for the period, what Rhone measured next to what it reported to
//! Stripe, the invoices, and the ways to pay: Upgrade (Stripe Checkout) and Manage billing (the
//! Billing Portal).

use leptos::prelude::*;
use wire::billing::{limit_label, Invoice, Limits, MeterUsage, PlanShown, Projection, TeamBilling, Threshold};

use crate::api::billing::{get_billing, list_invoices, BillingCheckout, BillingPortal, SetSpendCap};
use crate::components::fmt::{bytes, datetime};
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_GHOST, CARD, INPUT};

#[component]
pub fn BillingPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let team = Memo::new(move |_| params.read().get("team").unwrap_or_default());
    let cap = ServerAction::<SetSpendCap>::new();
    let billing = Resource::new(move || (team.get(), cap.version().get()), |(t, _)| get_billing(t));
    let checkout = ServerAction::<BillingCheckout>::new();
    let portal = ServerAction::<BillingPortal>::new();
    let checkout_error = action_error(checkout);
    let portal_error = action_error(portal);
    let back = move || match query.read().get("checkout").as_deref() {
        Some("done") => Some(("border-green-300 bg-green-50 text-green-900", "Payment received. The new plan applies as soon as Stripe confirms it (usually a few seconds): reload to see it.")),
        Some("canceled") => Some(("border-gray-300 bg-gray-50 text-gray-800", "Checkout canceled: nothing changed.")),
        _ => None,
    };
    view! {
        <leptos_meta::Title text="Billing · Rhone"/>
        <h1 class="mb-4 text-2xl font-semibold">"Billing"</h1>
        {move || back().map(|(class, text)| view! {
            <p class=format!("mb-3 rounded border px-3 py-2 text-sm {class}") role="status" data-testid="checkout-back">{text}</p>
        })}
        <ErrorBox error=checkout_error/>
        <ErrorBox error=portal_error/>
        <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading billing…"</p> }>
            {move || Suspend::new(async move {
                match billing.await {
                    Ok(b) if !b.enabled => off(b).into_any(),
                    Ok(b) => on(b, team.get_untracked(), Actions { checkout, portal, cap }).into_any(),
                    Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Billing is not configured: nothing is limited; what the team uses this month.
fn off(b: TeamBilling) -> impl IntoView {
    view! {
        <section class=format!("{CARD} space-y-3") data-testid="billing-off">
            <p class="text-sm text-gray-700">"Billing is off on this installation: every team is unlimited."</p>
            {usage_list(&b)}
        </section>
    }
}

/// What the page's buttons do.
#[derive(Clone, Copy)]
struct Actions {
    checkout: ServerAction<BillingCheckout>,
    portal: ServerAction<BillingPortal>,
    cap: ServerAction<SetSpendCap>,
}

fn on(b: TeamBilling, team: String, actions: Actions) -> impl IntoView {
    let Actions { checkout, portal, cap } = actions;
    let status = b.subscription_status.clone().unwrap_or_else(|| "no subscription".into());
    let period = format!("{} – {}", day(b.period_start), day(b.period_end));
    let current = b.plan.clone();
    let can_manage = b.can_manage;
    let invoices = can_manage.then(|| invoices(team.clone()));
    let portal_team = team.clone();
    view! {
        {b.warning.clone().map(|w| view! {
            <p class="mb-3 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800" role="alert" data-testid="billing-warning">{w}</p>
        })}
        {(!b.thresholds.is_empty()).then(|| thresholds(&b.thresholds))}
        <section class=format!("{CARD} mb-4 space-y-3") data-testid="billing-plan">
            <div class="flex flex-wrap items-baseline gap-x-3 gap-y-1">
                <h2 class="text-lg font-semibold">"Plan: " <span data-testid="plan-name">{b.plan.clone()}</span></h2>
                {b.restricted.then(|| view! { <span class="rounded bg-red-100 px-2 text-xs text-red-800" data-testid="plan-restricted">"held to the free plan's limits"</span> })}
                <span class="text-sm text-gray-600" data-testid="plan-status">{status}</span>
                <span class="text-sm text-gray-600">"Period " {period}</span>
                {can_manage.then(|| view! {
                    <ActionForm action=portal attr:class="ml-auto">
                        <input type="hidden" name="team" value=portal_team/>
                        <button type="submit" class=BUTTON_GHOST data-testid="manage-billing">"Manage billing"</button>
                    </ActionForm>
                })}
            </div>
            {usage_list(&b)}
        </section>
        {b.projected.clone().map(projection)}
        {spend_cap(&b, team.clone(), cap)}
        <section class="mb-4" data-testid="plans">
            <h2 class="mb-2 text-lg font-semibold">"Plans"</h2>
            <div class="grid gap-3 sm:grid-cols-3">
                {b.plans.clone().into_iter().map(|p| plan_card(p, &current, can_manage, team.clone(), checkout)).collect_view()}
            </div>
        </section>
        {meters(b.meters.clone())}
        {invoices}
    }
}

/// A bar per limit: what is used of it (unlimited ones show the number alone).
fn usage_list(b: &TeamBilling) -> impl IntoView {
    let u = &b.usage;
    let l = &b.limits;
    let hours = u.machine_seconds as f64 / 3600.0;
    let gb = u.bandwidth_bytes as f64 / 1e9;
    let rows = [
        ("apps", "Apps", u.apps.to_string(), u.apps as f64, l.apps),
        ("members", "Members", u.members.to_string(), u.members as f64, l.members),
        ("custom_domains", "Custom domains", u.custom_domains.to_string(), u.custom_domains as f64, l.custom_domains),
        ("builds", "Builds", format!("{} ({} of build time)", u.builds, minutes(u.build_seconds)), u.builds as f64, l.builds),
        ("machine_hours", "Machine-hours", format!("{hours:.1}"), hours, l.machine_hours),
        ("bandwidth_gb", "Bandwidth", bytes(u.bandwidth_bytes), gb, l.bandwidth_gb),
    ];
    let sizes = (!u.machine_by_size.is_empty()).then(|| {
        let parts: Vec<String> = u
            .machine_by_size
            .iter()
            .map(|s| format!("{}: {:.1} h", if s.size == "default" { "default size".to_string() } else { format!("{} MB", s.size) }, s.seconds as f64 / 3600.0))
            .collect();
        format!("Machine-hours by size: {}", parts.join(" · "))
    });
    view! {
        {sizes.map(|s| view! { <p class="text-xs text-gray-600" data-testid="machine-by-size">{s}</p> })}
        <ul class="space-y-2" data-testid="usage">
            {rows.into_iter().map(|(key, label, shown, used, max)| {
                let (limit_text, percent) = match max {
                    Some(m) if m > 0 => (format!("of {m}"), (used / m as f64 * 100.0).min(100.0)),
                    Some(_) => ("none included".to_string(), if used > 0.0 { 100.0 } else { 0.0 }),
                    None => ("unlimited".to_string(), 0.0),
                };
                view! {
                    <li class="text-sm" data-testid=format!("usage-{key}")>
                        <div class="flex justify-between gap-2">
                            <span class="font-medium">{label}</span>
                            <span class="text-gray-700"><span data-testid="used">{shown}</span>" "{limit_text.clone()}</span>
                        </div>
                        // a native meter: no inline style (the pages' CSP allows none), colours from low/high
                        {max.is_some().then(|| view! {
                            <meter class="mt-1 block h-2 w-full" min="0" max="100" low="80" high="99.9" optimum="0"
                                value=format!("{percent:.1}") aria-label=label></meter>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

fn thresholds(list: &[Threshold]) -> impl IntoView {
    view! {
        <div class="mb-3 space-y-1" data-testid="thresholds">
            {list.iter().map(|t| {
                let (class, words) = if t.percent >= 100 {
                    ("border-red-300 bg-red-50 text-red-800", "reached")
                } else {
                    ("border-amber-300 bg-amber-50 text-amber-900", "at 80 % of")
                };
                let text = format!("{}: {} {} the plan's {} ({} of {}).", limit_label(&t.limit), t.used, words, t.max, t.used, t.max);
                view! { <p class=format!("rounded border px-3 py-2 text-sm {class}") role="status" data-testid=format!("threshold-{}", t.limit) data-percent=t.percent.to_string()>{text}</p> }
            }).collect_view()}
        </div>
    }
}

fn projection(p: Projection) -> impl IntoView {
    view! {
        <section class=format!("{CARD} mb-4") data-testid="projected">
            <h2 class="mb-2 text-lg font-semibold">"Projected for this period"</h2>
            <table class="w-full text-sm">
                <tbody>
                    {p.lines.into_iter().map(|l| view! {
                        <tr data-testid="charge-line"><td class="py-1">{l.what}</td><td class="py-1 text-right text-gray-600">{format!("× {}", l.quantity)}</td><td class="py-1 text-right">{l.amount.shown()}</td></tr>
                    }).collect_view()}
                    <tr class="border-t border-gray-200 font-semibold"><td class="py-1">"Total so far"</td><td></td><td class="py-1 text-right" data-testid="projected-total">{p.total.shown()}</td></tr>
                </tbody>
            </table>
            {p.note.map(|n| view! { <p class="mt-2 text-xs text-gray-600">{n}</p> })}
            <p class="mt-2 text-xs text-gray-500">"The plan's price and usage past its limits so far; Stripe's invoice is the final word."</p>
        </section>
    }
}

/// The cap: what it is and does; owners change it here.
fn spend_cap(b: &TeamBilling, team: String, action: ServerAction<SetSpendCap>) -> impl IntoView {
    let error = action_error(action);
    let shown = match &b.spend_cap {
        Some(c) if b.stop_at_cap => format!("{}: once the projected charge reaches it, new deploys are refused and the running apps are stopped.", c.shown()),
        Some(c) => format!("{}: once the projected charge reaches it, new deploys are refused.", c.shown()),
        None => "No cap: usage past the plan's limits is billed at its overage rates.".to_string(),
    };
    let current = b.spend_cap.as_ref().map(|c| format!("{}.{:02}", c.cents / 100, c.cents % 100)).unwrap_or_default();
    let stop = b.stop_at_cap;
    view! {
        <section class=format!("{CARD} mb-4 space-y-2") data-testid="spend-cap">
            <h2 class="text-lg font-semibold">"Spend cap"</h2>
            <p class="text-sm text-gray-700" data-testid="spend-cap-shown">{shown}</p>
            {b.cap_reached.then(|| view! {
                <p class="rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800" role="alert" data-testid="cap-reached">
                    "The cap is reached: new deploys are refused until it is raised or removed, or the period ends."
                </p>
            })}
            {b.can_manage.then(|| view! {
                <ActionForm action=action attr:class="flex flex-wrap items-end gap-2">
                    <input type="hidden" name="team" value=team/>
                    <label class="text-sm">
                        <span class="mb-1 block font-medium text-gray-700">"Cap per period (empty: none)"</span>
                        <input name="cap" value=current inputmode="decimal" placeholder="50.00" class=INPUT data-testid="cap-input"/>
                    </label>
                    <label class="flex items-center gap-2 text-sm">
                        <input type="checkbox" name="stop_apps" value="on" checked=stop data-testid="cap-stop-apps"/>
                        "Also stop the running apps when it is reached"
                    </label>
                    <button type="submit" class=BUTTON data-testid="cap-save">"Save cap"</button>
                </ActionForm>
                <ErrorBox error=error/>
            })}
        </section>
    }
}

fn plan_card(p: PlanShown, current: &str, can_manage: bool, team: String, checkout: ServerAction<BillingCheckout>) -> impl IntoView {
    let is_current = p.name == current;
    let buy = can_manage && p.purchasable && !is_current;
    let name = p.name.clone();
    view! {
        <div class=format!("{CARD} space-y-2") data-testid=format!("plan-{}", p.name)>
            <h3 class="font-semibold capitalize">{p.name.clone()}</h3>
            {limits_list(&p.limits)}
            {is_current.then(|| view! { <p class="text-xs font-medium text-green-700">"Current plan"</p> })}
            {buy.then(|| view! {
                <ActionForm action=checkout>
                    <input type="hidden" name="team" value=team.clone()/>
                    <input type="hidden" name="plan" value=name.clone()/>
                    <button type="submit" class=BUTTON data-testid=format!("upgrade-{name}")>{format!("Choose {name}")}</button>
                </ActionForm>
            })}
        </div>
    }
}

fn limits_list(l: &Limits) -> impl IntoView {
    let n = |v: Option<u64>| v.map_or_else(|| "unlimited".to_string(), |v| v.to_string());
    view! {
        <ul class="text-xs text-gray-700">
            <li>{n(l.apps)}" apps"</li>
            <li>{n(l.members)}" members"</li>
            <li>{n(l.custom_domains)}" custom domains"</li>
            <li>{n(l.builds)}" builds"</li>
            <li>{n(l.machine_hours)}" machine-hours"</li>
            <li>{n(l.bandwidth_gb)}" GB bandwidth"</li>
            <li>{n(l.regions)}" regions"</li>
        </ul>
    }
}

/// Measured next to reported: what is not reported yet waits for its window to close.
fn meters(list: Vec<MeterUsage>) -> impl IntoView {
    (!list.is_empty()).then(|| {
        view! {
            <section class=format!("{CARD} mb-4 overflow-x-auto") data-testid="meters">
                <h2 class="mb-1 text-lg font-semibold">"Metered usage"</h2>
                <p class="mb-2 text-xs text-gray-600">"What Rhone measured this period next to what it reported to Stripe; the rest goes with the next report."</p>
                <table class="w-full text-sm">
                    <thead><tr class="text-left text-gray-600"><th class="py-1">"Meter"</th><th class="py-1 text-right">"Measured"</th><th class="py-1 text-right">"Reported"</th><th class="py-1 text-right">"Not yet reported"</th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|m| view! {
                            <tr data-testid=format!("meter-{}", m.meter)>
                                <td class="py-1"><code class="text-xs">{m.meter.clone()}</code></td>
                                <td class="py-1 text-right" data-testid="measured">{m.measured}</td>
                                <td class="py-1 text-right" data-testid="reported">{m.reported}</td>
                                <td class="py-1 text-right">{(m.measured - m.reported).max(0)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        }
    })
}

fn invoices(team: String) -> impl IntoView {
    let list = Resource::new(move || team.clone(), list_invoices);
    view! {
        <section class=format!("{CARD} mb-4 overflow-x-auto") data-testid="invoices">
            <h2 class="mb-2 text-lg font-semibold">"Invoices"</h2>
            <Suspense fallback=|| view! { <p class="text-sm text-gray-500">"Loading invoices from Stripe…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(l) if l.is_empty() => view! { <p class="text-sm text-gray-500" data-testid="no-invoices">"No invoices yet."</p> }.into_any(),
                        Ok(l) => view! {
                            <table class="w-full text-sm">
                                <thead><tr class="text-left text-gray-600"><th class="py-1">"Date"</th><th class="py-1">"Number"</th><th class="py-1">"Status"</th><th class="py-1 text-right">"Amount"</th><th></th></tr></thead>
                                <tbody>{l.into_iter().map(invoice_row).collect_view()}</tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn invoice_row(i: Invoice) -> impl IntoView {
    view! {
        <tr data-testid="invoice">
            <td class="py-1">{day(i.created)}</td>
            <td class="py-1">{i.number.unwrap_or_else(|| i.id.clone())}</td>
            <td class="py-1" data-testid="invoice-status">{i.status}</td>
            <td class="py-1 text-right">{i.amount_due.shown()}</td>
            <td class="py-1 text-right">{i.url.map(|u| view! { <a class="text-blue-700 underline" href=u rel="noopener noreferrer" target="_blank">"View"</a> })}</td>
        </tr>
    }
}

/// `2026-12-01` from unix seconds.
fn day(s: i64) -> String {
    datetime(s.saturating_mul(1000)).chars().take(10).collect()
}

fn minutes(s: u64) -> String {
    if s < 60 { format!("{s}s") } else { format!("{}m {:02}s", s / 60, s % 60) }
}
