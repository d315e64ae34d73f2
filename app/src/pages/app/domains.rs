//! "Domains": the app's custom domains — add one (then the records to create), check it now (each
//! record that is missing or wrong, in words), remove it.

use leptos::prelude::*;

use crate::api::domains::{app_domains, app_host_certificate, app_https, AddDomain, CheckDomain, DomainView, RemoveDomain, SetAppHttps, SetDomainRedirect};
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, BUTTON_GHOST, CARD, INPUT};

#[component]
pub fn Domains(slug: String) -> impl IntoView {
    let add = ServerAction::<AddDomain>::new();
    let check = ServerAction::<CheckDomain>::new();
    let remove = ServerAction::<RemoveDomain>::new();
    let redirect = ServerAction::<SetDomainRedirect>::new();
    let list_slug = slug.clone();
    let list = Resource::new(
        move || (add.version().get(), check.version().get(), remove.version().get(), redirect.version().get()),
        move |_| app_domains(list_slug.clone()),
    );
    let add_error = action_error(add);
    let redirect_error = action_error(redirect);
    let check_error = action_error(check);
    let remove_error = action_error(remove);
    let row_slug = StoredValue::new(slug.clone());
    let set_https = ServerAction::<SetAppHttps>::new();
    let https_slug = slug.clone();
    let https = Resource::new(move || set_https.version().get(), move |_| app_https(https_slug.clone()));
    let https_error = action_error(set_https);
    let form_slug = StoredValue::new(slug.clone());
    let host_slug = slug.clone();
    let host = Resource::new(|| (), move |_| app_host_certificate(host_slug.clone()));
    view! {
        <section class=format!("{CARD} space-y-3") data-testid="domains">
            <h2 class="font-semibold">"Domains"</h2>
            <p class="text-sm text-gray-600">"Add a domain of yours, create the records shown at your DNS provider, then check it: it is routed to this app once verified."</p>
            <ErrorBox error=add_error/>
            <ErrorBox error=check_error/>
            <ErrorBox error=remove_error/>
            <ErrorBox error=https_error/>
            <ErrorBox error=redirect_error/>
            <Suspense>
                {move || Suspend::new(async move {
                    let h = host.await.ok().filter(|h| h.certificate != "none")?;
                    let line = host_certificate_line(&h);
                    Some(view! {
                        <p class="text-sm text-gray-600" data-testid="host-certificate">{line}</p>
                        {h.certificate_error.map(|e| view! { <p class="text-xs text-red-700" data-testid="host-certificate-error">{format!("Certificate: {e}")}</p> })}
                    })
                })}
            </Suspense>
            <Suspense>
                {move || Suspend::new(async move {
                    let h = https.await.ok()?;
                    let form_slug = form_slug.get_value();
                    Some(view! {
                        <ActionForm action=set_https attr:class="flex flex-wrap items-center gap-4 text-sm" attr:data-testid="https-settings">
                            <input type="hidden" name="slug" value=form_slug/>
                            <label class="flex items-center gap-1"><input type="checkbox" name="redirect" value="on" checked=h.redirect data-testid="https-redirect"/>"Redirect HTTP to HTTPS once a domain has a certificate"</label>
                            <label class="flex items-center gap-1"><input type="checkbox" name="hsts" value="on" checked=h.hsts data-testid="https-hsts"/>"Send HSTS"</label>
                            <button type="submit" class=BUTTON_GHOST data-testid="save-https" disabled=move || set_https.pending().get()>"Save"</button>
                        </ActionForm>
                    })
                })}
            </Suspense>
            <ActionForm action=add attr:class="flex gap-2">
                <input type="hidden" name="slug" value=slug/>
                <input name="domain" class=INPUT placeholder="shop.example.com" required data-testid="domain-input" aria-label="Domain"/>
                <button type="submit" class=BUTTON data-testid="add-domain" disabled=move || add.pending().get()>"Add"</button>
            </ActionForm>
            {move || check.value().get().and_then(Result::ok).map(|c| {
                if c.verified {
                    view! { <p class="text-sm text-green-700" role="status" data-testid="domain-check">{format!("{} is verified: it is routed to this app.", c.domain)}</p> }.into_any()
                } else {
                    view! {
                        <div class="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900" role="status" data-testid="domain-check">
                            <p class="font-medium">{format!("{} is not verified yet:", c.domain)}</p>
                            <ul class="list-disc pl-5">{c.problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                        </div>
                    }.into_any()
                }
            })}
            <Suspense>
                {move || Suspend::new(async move {
                    let domains = list.await.unwrap_or_default();
                    if domains.is_empty() {
                        return view! { <p class="text-sm text-gray-500" data-testid="no-domains">"No domains yet."</p> }.into_any();
                    }
                    view! {
                        <ul class="space-y-3">
                            {domains.iter().map(|d| {
                                let others: Vec<String> = domains.iter().filter(|o| o.domain != d.domain).map(|o| o.domain.clone()).collect();
                                view! { <DomainRow d=d.clone() others slug=row_slug.get_value() check remove redirect/> }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn DomainRow(
    d: DomainView,
    /// The app's other domains (what this one may redirect to).
    others: Vec<String>,
    slug: String,
    check: ServerAction<CheckDomain>,
    remove: ServerAction<RemoveDomain>,
    redirect: ServerAction<SetDomainRedirect>,
) -> impl IntoView {
    let (badge, badge_class) = if d.verified { ("verified", "bg-green-100 text-green-800") } else { ("not verified", "bg-amber-100 text-amber-800") };
    let testid = format!("domain-{}", d.domain);
    let (check_slug, check_domain) = (slug.clone(), d.domain.clone());
    let (remove_slug, remove_domain) = (slug.clone(), d.domain.clone());
    let (redirect_slug, redirect_domain) = (slug, d.domain.clone());
    let current = d.redirect_to.clone();
    let redirect_form = (!others.is_empty() || current.is_some()).then(|| view! {
        <ActionForm action=redirect attr:class="mt-2 flex flex-wrap items-center gap-2 text-xs" attr:data-testid="domain-redirect-form">
            <input type="hidden" name="slug" value=redirect_slug/>
            <input type="hidden" name="domain" value=redirect_domain/>
            <label class="flex items-center gap-1">"Visitors here:"
                <select name="redirect_to" class="rounded border border-gray-300 px-1 py-0.5" data-testid="domain-redirect">
                    <option value="" selected=current.is_none()>"see the app"</option>
                    {others.into_iter().map(|o| {
                        let selected = current.as_deref() == Some(o.as_str());
                        view! { <option value=o.clone() selected=selected>{format!("are redirected to {o}")}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class=BUTTON_GHOST data-testid="save-domain-redirect" disabled=move || redirect.pending().get()>"Save"</button>
        </ActionForm>
    });
    let name = d.domain.clone();
    view! {
        <li class="rounded border border-gray-200 p-3 text-sm" data-testid=testid>
            <div class="flex flex-wrap items-center gap-2">
                <span class="font-mono font-medium">{name}</span>
                <span class=format!("rounded px-2 py-0.5 text-xs {badge_class}") data-testid="domain-status">{badge}</span>
                <span class="text-xs text-gray-500" data-testid="domain-certificate">{certificate_line(&d)}</span>
                <span class="ml-auto flex gap-2">
                    <ActionForm action=check>
                        <input type="hidden" name="slug" value=check_slug/>
                        <input type="hidden" name="domain" value=check_domain/>
                        <button type="submit" class=BUTTON_GHOST data-testid="check-domain" disabled=move || check.pending().get()>"Check now"</button>
                    </ActionForm>
                    <ActionForm action=remove>
                        <input type="hidden" name="slug" value=remove_slug/>
                        <input type="hidden" name="domain" value=remove_domain/>
                        <button type="submit" class=BUTTON_DANGER data-testid="remove-domain" disabled=move || remove.pending().get()>"Remove"</button>
                    </ActionForm>
                </span>
            </div>
            {d.last_error.map(|e| view! { <p class="mt-1 text-xs text-amber-800" data-testid="domain-error">{e}</p> })}
            {d.certificate_warning.clone().map(|w| view! { <p class="mt-1 rounded bg-red-50 px-2 py-1 text-xs font-medium text-red-800" role="alert" data-testid="certificate-warning">{w}</p> })}
            {d.certificate_error.filter(|_| d.certificate_warning.is_none()).map(|e| view! { <p class="mt-1 text-xs text-red-700" data-testid="certificate-error">{format!("Certificate: {e}")}</p> })}
            {d.redirect_to.clone().map(|t| view! { <p class="mt-1 text-xs text-gray-600" data-testid="domain-redirects">{format!("Redirects to {t} (308, path and query kept)")}</p> })}
            {redirect_form}
            {(!d.verified).then(|| view! {
                <table class="mt-2 w-full text-left text-xs">
                    <thead><tr class="text-gray-500"><th>"Type"</th><th>"Name"</th><th>"Value"</th><th>"For"</th></tr></thead>
                    <tbody>
                        {d.records.into_iter().map(|r| {
                            let testid = format!("record-{}", r.kind);
                            let why = if r.purpose == "verify" { "proves the domain is yours" } else { "sends visitors here" };
                            view! {
                            <tr data-testid=testid>
                                <td class="pr-2 font-mono">{r.kind}</td>
                                <td class="pr-2 font-mono break-all">{r.name}</td>
                                <td class="pr-2 font-mono break-all">{r.value}</td>
                                <td>{why}</td>
                            </tr>
                        }}).collect_view()}
                    </tbody>
                </table>
            })}
        </li>
    }
}

/// "shop.apps.example.com: HTTPS by the wildcard certificate *.apps.example.com, expires 2027-03-01".
fn host_certificate_line(h: &crate::api::domains::HostCertificateView) -> String {
    let by = match h.covered_by.as_deref() {
        Some(w) if w.starts_with("*.") => format!(" by the wildcard certificate {w}"),
        _ => String::new(),
    };
    match (h.certificate.as_str(), h.expires_at) {
        ("issued", Some(ms)) => {
            let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
            format!("{}: HTTPS{by}, expires {y:04}-{m:02}-{d:02}", h.host)
        }
        ("pending", _) => format!("{}: its certificate is being obtained{by}", h.host),
        (state, _) => format!("{}: certificate {state}{by}", h.host),
    }
}

/// "certificate: issued, expires 2027-03-01" (UTC date), or its state.
fn certificate_line(d: &DomainView) -> String {
    match d.expires_at {
        Some(ms) if d.certificate == "issued" => {
            let days = ms.div_euclid(86_400_000);
            let (y, m, day) = civil_from_days(days);
            format!("certificate: issued, expires {y:04}-{m:02}-{day:02}")
        }
        _ => format!("certificate: {}", d.certificate),
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_513), (2026, 3, 1));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}
