//! The two-factor section of `/account`: turn it on (scan the QR code, confirm a code, keep the
//! recovery codes shown once), get new recovery codes, or turn it off with the password.

use leptos::prelude::*;

use crate::api::two_factor::{two_factor_status, BeginTwoFactor, ConfirmTwoFactor, DisableTwoFactor, NewRecoveryCodes};
use crate::components::{action_error, ErrorBox, BUTTON, BUTTON_DANGER, CARD, INPUT};

#[component]
pub fn TwoFactorSection() -> impl IntoView {
    let begin = ServerAction::<BeginTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let regenerate = ServerAction::<NewRecoveryCodes>::new();
    let disable = ServerAction::<DisableTwoFactor>::new();
    let status = Resource::new(move || (confirm.version().get(), disable.version().get(), regenerate.version().get()), |_| two_factor_status());
    let errors = [action_error(begin), action_error(confirm), action_error(regenerate), action_error(disable)];
    let error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    let codes = move || confirm.value().get().and_then(Result::ok).or_else(|| regenerate.value().get().and_then(Result::ok));
    view! {
        <section class=format!("{CARD} max-w-md space-y-3") data-testid="two-factor">
            <h2 class="font-semibold">"Two-factor sign-in"</h2>
            <ErrorBox error/>
            {move || codes().map(|list| view! {
                <div class="rounded border border-green-300 bg-green-50 p-3 text-sm">
                    <p class="mb-1 font-medium text-green-900">"Keep these recovery codes somewhere safe: each signs you in once without your authenticator. They are not shown again."</p>
                    <ul class="grid grid-cols-2 gap-1 font-mono text-xs" data-testid="recovery-codes">
                        {list.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
                    </ul>
                </div>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) if s.enabled => view! {
                            <p class="text-sm text-gray-700" data-testid="two-factor-on">
                                "On. " {s.recovery_codes_left} " recovery codes left."
                            </p>
                            <ActionForm action=regenerate attr:class="flex flex-wrap items-end gap-2">
                                <input name="code" required placeholder="current code" aria-label="Current code" class=format!("{INPUT} flex-1") autocomplete="one-time-code"/>
                                <button type="submit" class=BUTTON>"New recovery codes"</button>
                            </ActionForm>
                            <ActionForm action=disable attr:class="flex flex-wrap items-end gap-2">
                                <input name="password" type="password" required placeholder="your password" aria-label="Your password" class=format!("{INPUT} flex-1") autocomplete="current-password" data-testid="two-factor-password"/>
                                <button type="submit" class=BUTTON_DANGER data-testid="two-factor-off">"Turn off"</button>
                            </ActionForm>
                        }.into_any(),
                        Ok(_) => view! { <Enrol begin confirm/> }.into_any(),
                        Err(e) => view! { <ErrorBox error=Signal::stored(Some(e))/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Enrol(begin: ServerAction<BeginTwoFactor>, confirm: ServerAction<ConfirmTwoFactor>) -> impl IntoView {
    let pending = move || begin.value().get().and_then(Result::ok);
    view! {
        <p class="text-sm text-gray-600">"Off. With it on, signing in also asks for a code from an authenticator app."</p>
        {move || match pending() {
            None => view! {
                <button class=BUTTON data-testid="two-factor-begin" on:click=move |_| { begin.dispatch(BeginTwoFactor {}); }>"Turn on"</button>
            }.into_any(),
            Some(e) => view! {
                <p class="text-sm">"Scan this with your authenticator app, then enter the code it shows."</p>
                <div class="w-52" inner_html=e.qr_svg data-testid="two-factor-qr"></div>
                <p class="text-xs text-gray-500">"Or enter this key: " <code class="break-all" data-testid="two-factor-secret">{e.secret}</code></p>
                <ActionForm action=confirm attr:class="flex flex-wrap items-end gap-2">
                    <input name="code" required placeholder="123456" class=format!("{INPUT} flex-1") autocomplete="one-time-code" data-testid="two-factor-code"/>
                    <button type="submit" class=BUTTON data-testid="two-factor-confirm">"Confirm"</button>
                </ActionForm>
            }.into_any(),
        }}
    }
}
